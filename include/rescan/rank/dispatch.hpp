// What every ranking front door shares: the backend hook.
#pragma once

#include <type_traits>

#include "rescan/core/backend.hpp"
#include "rescan/core/checks.hpp"
#include "rescan/rank/rank_options.hpp"

namespace rescan::detail {

// Each backend specializes this with static members taking checked views (n >= 0, groups >= 1
// unless noted; out views of a floating-point type R):
//   rankdata(backend, x (groups, n), out (groups, n), method)
//   kendall_counts(backend, x (n), y (n)) -> kendall_counts                    one long pair
//   kendall_tau_batched(backend, x (groups, n), y (groups, n), tau (groups), variant)
//   kendall_tau_grouped(backend, x (total), y (total), offsets (groups + 1), tau (groups), variant)
//                                                       offsets already validated (sorted, in [0, total])
//   spearman_rho(backend, x (groups, n), y (groups, n), rho (groups))
//   top_order_agreement(backend, x (groups, n), y (groups, n), best (groups), worst (groups))
//   consistency_rate(backend, tau (groups), per_group (groups) or empty) -> consistency_summary
template <class Backend>
struct rank_kernels : missing_backend<Backend> {};

// The shapes every per-group metric takes: x (groups, n), y the same, out (groups).
template <class X, class Y, class Out>
void check_group_pairs(const char* function, const X& x, const Y& y, const char* out_name, const Out& out) {
  check_extents(function, "x", x);
  check_same_shape(function, "y", y, "x", x);
  check_same_extent(function, out_name, out, 0, "x", x, 0);
}

// The element types of x and y are arithmetic (what every ranking front door asserts).
template <class X, class Y>
inline constexpr bool arithmetic_pair_v =
    std::is_arithmetic_v<std::remove_const_t<X>> && std::is_arithmetic_v<std::remove_const_t<Y>>;

}  // namespace rescan::detail
