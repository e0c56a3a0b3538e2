// log Σ_t exp(x_t) per row, computed as m + log Σ exp(x_t - m) with m the row maximum, so it never
// overflows. A row of length 0 gives -inf; +inf anywhere gives +inf; NaN propagates.
#pragma once

#include "rescan/core/checks.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan {

// in: (rows, L), out: (rows).
template <class Backend, class In, class T>
void logsumexp(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 1>& out) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::logsumexp: in and out element types differ");
  static_assert(std::is_floating_point_v<T>, "rescan::logsumexp: needs float or double");
  detail::check_extents("logsumexp", "in", in);
  detail::check_same_extent("logsumexp", "out", out, 0, "in", in, 0);
  if (out.empty()) return;
  detail::reduce_kernels<Backend>::logsumexp(backend, strided_view<const T, 2>(in), out);
}

}  // namespace rescan
