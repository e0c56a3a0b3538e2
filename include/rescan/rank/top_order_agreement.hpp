// Do two rankings of the same items agree on the best item, and on the worst? Per group: best = 1
// when argmax(x) == argmax(y), else 0; worst = 1 when argmin(x) == argmin(y). Items are compared by
// identity (their index), not by position in a sorted order; ties pick the first index, as numpy's
// argmax/argmin. NaN (nan_policy 'propagate') for groups with a NaN or no items.
#pragma once

#include <type_traits>

#include "rescan/core/checks.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan {

// x, y: (groups, n); best, worst: (groups) float or double (1, 0 or NaN; their mean is an agreement rate).
template <class Backend, class X, class Y, class R>
void top_order_agreement(const Backend& backend, const strided_view<X, 2>& x, const strided_view<Y, 2>& y,
                         const strided_view<R, 1>& best, const strided_view<R, 1>& worst) {
  constexpr const char* function = "top_order_agreement";
  static_assert(detail::arithmetic_pair_v<X, Y>, "rescan::top_order_agreement: x and y need arithmetic element types");
  static_assert(std::is_floating_point_v<R>, "rescan::top_order_agreement: best and worst need a floating-point type");
  detail::check_group_pairs(function, x, y, "best", best);
  detail::check_same_extent(function, "worst", worst, 0, "x", x, 0);
  if (best.empty()) return;
  detail::rank_kernels<Backend>::top_order_agreement(backend, strided_view<const std::remove_const_t<X>, 2>(x),
                                                     strided_view<const std::remove_const_t<Y>, 2>(y), best, worst);
}

}  // namespace rescan
