// Kendall's tau (variants a, b, c; rank_options.hpp), as scipy.stats.kendalltau: ties handled
// exactly, O(n log n) for long vectors, every pair count in 64 bits.
//
// Edge cases, as scipy: n < 2, or every pair tied in x or in y (all values equal) -> tau NaN
// (tau-a too). NaN policy (scipy's nan_policy='propagate'): a NaN anywhere in a pair of vectors
// (in a group, for the batched forms) makes that tau and p-value NaN; other groups are unaffected.
// -0.0 and +0.0 are the same value (a tie).
#pragma once

#include <cstdint>
#include <type_traits>

#include "rescan/core/checks.hpp"
#include "rescan/rank/detail/group_offsets.hpp"
#include "rescan/rank/detail/kendall_statistics.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan {

// x, y: (n) with 0 <= n < 2^31. Returns tau (options.variant), its p-value (options.alternative,
// options.method) and the pair counts. Synchronous on every backend (the result is a host value).
// Throws value_error for options.method = exact on data with ties.
template <class Backend, class X, class Y>
kendall_tau_result kendall_tau(const Backend& backend, const strided_view<X, 1>& x, const strided_view<Y, 1>& y,
                               const kendall_tau_options& options = {}) {
  constexpr const char* function = "kendall_tau";
  static_assert(detail::arithmetic_pair_v<X, Y>, "rescan::kendall_tau: x and y need arithmetic element types");
  detail::check_same_extent(function, "y", y, 0, "x", x, 0);
  detail::check_range(function, "x.extent(0)", x.extent(0), 0, index_t(INT32_MAX), "2^31 - 1");
  kendall_counts counts;
  if (x.extent(0) > 0) {
    counts = detail::rank_kernels<Backend>::kendall_counts(backend, strided_view<const std::remove_const_t<X>, 1>(x),
                                                           strided_view<const std::remove_const_t<Y>, 1>(y));
  }
  return detail::kendall_result_of(function, counts, options);
}

// x, y: (groups, n); tau: (groups) float or double. One tau per group (row), e.g. the rankings of
// N = 4..64 responses per prompt under two reward models (CREAM, DESIGN.md §5). Asynchronous on
// the CUDA backend. p-values: kendall_tau on a single group.
template <class Backend, class X, class Y, class R>
void kendall_tau_batched(const Backend& backend, const strided_view<X, 2>& x, const strided_view<Y, 2>& y,
                         const strided_view<R, 1>& tau, kendall_variant variant = kendall_variant::b) {
  constexpr const char* function = "kendall_tau_batched";
  static_assert(detail::arithmetic_pair_v<X, Y>, "rescan::kendall_tau_batched: x and y need arithmetic element types");
  static_assert(std::is_floating_point_v<R>, "rescan::kendall_tau_batched: tau needs a floating-point element type");
  detail::check_group_pairs(function, x, y, "tau", tau);
  detail::check_range(function, "x.extent(1)", x.extent(1), 0, index_t(INT32_MAX), "2^31 - 1");
  if (tau.empty()) return;
  detail::rank_kernels<Backend>::kendall_tau_batched(backend, strided_view<const std::remove_const_t<X>, 2>(x),
                                                     strided_view<const std::remove_const_t<Y>, 2>(y), tau, variant);
}

// Groups of different sizes packed one after the other: x, y: (total); offsets: (groups + 1),
// sorted, each in [0, total] (group j is [offsets[j], offsets[j + 1]), like cu_seqlens); tau: (groups).
// offsets live in the backend's memory (device memory for CUDA, checked there on the host).
template <class Backend, class X, class Y, class R>
void kendall_tau_batched(const Backend& backend, const strided_view<X, 1>& x, const strided_view<Y, 1>& y,
                         const strided_view<const index_t, 1>& offsets, const strided_view<R, 1>& tau,
                         kendall_variant variant = kendall_variant::b) {
  constexpr const char* function = "kendall_tau_batched";
  static_assert(detail::arithmetic_pair_v<X, Y>, "rescan::kendall_tau_batched: x and y need arithmetic element types");
  static_assert(std::is_floating_point_v<R>, "rescan::kendall_tau_batched: tau needs a floating-point element type");
  detail::check_same_extent(function, "y", y, 0, "x", x, 0);
  detail::check_extent_not_negative(function, "offsets", offsets, 0);
  detail::check_extent_not_negative(function, "tau", tau, 0);
  if (offsets.extent(0) != tau.extent(0) + 1) {
    detail::raise<shape_error>(function, ": offsets.extent(0) = ", offsets.extent(0), " but tau.extent(0) + 1 = ",
                               tau.extent(0) + 1, " (one offset more than groups)");
  }
  if (tau.empty()) return;
  detail::rank_kernels<Backend>::kendall_tau_grouped(backend, strided_view<const std::remove_const_t<X>, 1>(x),
                                                     strided_view<const std::remove_const_t<Y>, 1>(y), offsets, tau,
                                                     variant);
}

}  // namespace rescan
