// Softmax along the last axis, numerically stable: out_t = exp(x_t - m) / Σ exp(x_s - m), m the row
// maximum. A row whose maximum is not finite (all -inf, any +inf, any NaN) gives NaN throughout,
// as the formula does in IEEE arithmetic.
#pragma once

#include "rescan/core/checks.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan {

// in, out: (rows, L). out may be in (in place).
template <class Backend, class In, class T>
void softmax(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 2>& out) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::softmax: in and out element types differ");
  static_assert(std::is_floating_point_v<T>, "rescan::softmax: needs float or double");
  detail::check_same_shape("softmax", "out", out, "in", in);
  if (out.empty()) return;
  detail::reduce_kernels<Backend>::softmax(backend, strided_view<const T, 2>(in), out);
}

}  // namespace rescan
