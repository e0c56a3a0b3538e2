// Ranks of the elements of each row, scipy.stats.rankdata's five tie methods (rank_options.hpp).
// NaN policy (scipy's nan_policy='propagate'): a row holding a NaN gets NaN for every rank.
#pragma once

#include <type_traits>

#include "rescan/core/checks.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan {

// x: (groups, n) of any arithmetic type; out: (groups, n) float or double, ranks from 1 to n.
// Rank-1 views: pass as_row(x), as_row(out).
template <class Backend, class X, class R>
void rankdata(const Backend& backend, const strided_view<X, 2>& x, const strided_view<R, 2>& out,
              rank_method method = rank_method::average) {
  static_assert(std::is_arithmetic_v<std::remove_const_t<X>>, "rescan::rankdata: x needs an arithmetic element type");
  static_assert(std::is_floating_point_v<R>, "rescan::rankdata: out needs a floating-point element type (ranks may be "
                                             "halves, and NaN rows are NaN)");
  detail::check_extents("rankdata", "x", x);
  detail::check_same_shape("rankdata", "out", out, "x", x);
  if (out.empty()) return;
  using T = std::remove_const_t<X>;
  detail::rank_kernels<Backend>::rankdata(backend, strided_view<const T, 2>(x), out, method);
}

}  // namespace rescan
