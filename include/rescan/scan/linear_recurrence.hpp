// The first-order linear recurrence h_t = a_t h_{t-1} + b_t along the last axis: the affine-pair
// scan (affine_compose) with a and b kept in separate arrays, under the name users search for.
#pragma once

#include <type_traits>

#include "rescan/scan/dispatch.hpp"

namespace rescan {

// a, b, h: (rows, L). Forward: h_t = a_t h_{t-1} + b_t with h_{-1} = options.initial[row]; without
// an initial state the first step is h_0 = b_0 (what h_{-1} = 0 gives for any finite a_0). Reverse:
// h_t = a_t h_{t+1} + b_t from h_L = options.initial[row]. A segment start restarts the same way
// (h = b at its first position). h may alias b (in place).
template <class Backend, class TA, class TB, class T>
void linear_recurrence(const Backend& backend, const strided_view<TA, 2>& a, const strided_view<TB, 2>& b,
                       const strided_view<T, 2>& h, const scan_options<T>& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<TA>, T> && std::is_same_v<std::remove_const_t<TB>, T>,
                "rescan::linear_recurrence: a, b and h must share one element type");
  const strided_view<const T, 2> coefficient = a, offset = b;
  detail::check_same_shape("linear_recurrence", "b", offset, "a", coefficient);
  detail::check_scan_arguments("linear_recurrence", coefficient, h, options);
  if (h.empty()) return;
  detail::scan_kernels<Backend>::linear_recurrence(backend, coefficient, offset, h, options);
}

// a, b, h: (L). One long sequence.
template <class Backend, class TA, class TB, class T>
void linear_recurrence(const Backend& backend, const strided_view<TA, 1>& a, const strided_view<TB, 1>& b,
                       const strided_view<T, 1>& h, const scan_options<T>& options = {}) {
  linear_recurrence(backend, as_row(a), as_row(b), as_row(h), options);
}

}  // namespace rescan
