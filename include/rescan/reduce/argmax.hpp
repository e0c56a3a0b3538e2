// Index of the largest element of each row (numpy's argmax: the first one on ties, and a NaN
// counts as larger than any number).
#pragma once

#include "rescan/core/checks.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan {

// in: (rows, L) with L >= 1 when rows >= 1, out: (rows) indices in [0, L).
template <class Backend, class In>
void argmax(const Backend& backend, const strided_view<In, 2>& in, const strided_view<index_t, 1>& out) {
  detail::check_extents("argmax", "in", in);
  detail::check_same_extent("argmax", "out", out, 0, "in", in, 0);
  if (out.empty()) return;
  if (in.extent(1) == 0) detail::raise<value_error>("argmax: in.extent(1) = 0 but a row needs at least one element");
  using T = std::remove_const_t<In>;
  detail::reduce_kernels<Backend>::argmax(backend, strided_view<const T, 2>(in), out);
}

}  // namespace rescan
