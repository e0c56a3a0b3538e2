// Spearman's rho: the Pearson correlation of the average ranks (ties share their mean rank), as
// scipy.stats.spearmanr's statistic. NaN when a group has n < 2, a constant x or y, or a NaN
// (nan_policy 'propagate').
#pragma once

#include <type_traits>

#include "rescan/core/checks.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan {

// x, y: (groups, n); rho: (groups) float or double. One long pair: as_row(x), as_row(y) and a
// (1) rho. (The CUDA backend ranks by pair comparisons, O(n^2) per group: meant for groups up to a
// few thousand elements.)
template <class Backend, class X, class Y, class R>
void spearman_rho(const Backend& backend, const strided_view<X, 2>& x, const strided_view<Y, 2>& y,
                  const strided_view<R, 1>& rho) {
  constexpr const char* function = "spearman_rho";
  static_assert(detail::arithmetic_pair_v<X, Y>, "rescan::spearman_rho: x and y need arithmetic element types");
  static_assert(std::is_floating_point_v<R>, "rescan::spearman_rho: rho needs a floating-point element type");
  detail::check_group_pairs(function, x, y, "rho", rho);
  if (rho.empty()) return;
  detail::rank_kernels<Backend>::spearman_rho(backend, strided_view<const std::remove_const_t<X>, 2>(x),
                                              strided_view<const std::remove_const_t<Y>, 2>(y), rho);
}

}  // namespace rescan
