// Bipartite soft matching (ToMe, Bolya et al.), with R-MeeTo's order-preserving variant.
//
// Per batch item, with T tokens of metric rows m_t:
//  1. The participants (all T tokens, or all but the class token when it is taken out) split into
//     set A (even participant positions) and set B (odd ones), in original order.
//  2. Every row is L2-normalized (a zero row stays zero); score(a, b) = the chosen similarity.
//     A protected source (class token under ToMe handling, distill token) never merges; the distill
//     token is never a destination.
//  3. Each A token's best destination: the B token of largest score, the lowest B index on ties
//     (a NaN score never wins). Its node_max is that score.
//  4. The A tokens are ordered as a stable sort by node_max, descending (equal node_max: lower
//     original position first); protected tokens last. The first r are the sources.
//  5. merge: each source joins its best destination; prune: each source is dropped.
//  6. The survivors are written in merge_order (preserve: original order; tome: unmerged A, then B),
//     and a taken-out class token is put back at floor(p * (T - r) / T).
// r is clamped to (T - protected) / 2 (never more than the A tokens that may be sources, and 0
// when no B token may be a destination); the plan reports the r it used (plan.r()).
//
// Floating-point scores are computed in float (double for a double metric); backends may round
// differently, so tokens whose node_max agree to the last bits may be ordered differently by
// rescan::cpu and rescan::cuda. Each backend is deterministic run to run.
#pragma once

#include <algorithm>
#include <type_traits>

#include "rescan/core/checks.hpp"
#include "rescan/merge/dispatch.hpp"
#include "rescan/merge/matching_layout.hpp"
#include "rescan/merge/merge_options.hpp"
#include "rescan/merge/merge_plan.hpp"

namespace rescan {

namespace detail {

// The layout a matching of T tokens with these options and this requested r uses (r clamped).
inline matching_layout make_matching_layout(index_t tokens, index_t r, const matching_options& options) {
  matching_layout layout;
  layout.tokens = tokens;
  layout.class_position = options.class_token;
  layout.class_taken_out = options.class_token >= 0 && options.class_handling == class_token_handling::take_out;
  layout.distill_position = options.distill_token;
  layout.order = options.order;
  layout.mode = options.mode;
  layout.r = std::min(r, matching_r_limit(layout));
  return layout;
}

inline void check_matching_options(const char* function, index_t tokens, const matching_options& options) {
  check_range(function, "options.class_token", options.class_token, -1, tokens - 1, "metric.extent(1) - 1");
  check_range(function, "options.distill_token", options.distill_token, -1, tokens - 1, "metric.extent(1) - 1");
  if (options.distill_token >= 0 && options.distill_token == options.class_token) {
    raise<value_error>(function, ": options.distill_token = ", options.distill_token,
                       " but that is options.class_token; they must be different tokens");
  }
}

}  // namespace detail

// The r a matching of `tokens` tokens with these options would use for a requested r (>= 0).
inline index_t clamped_r(index_t tokens, index_t r, const matching_options& options = {}) {
  if (tokens <= 0 || r <= 0) return 0;
  return detail::make_matching_layout(tokens, r, options).r;
}

// metric: (batch, T, C) with T >= 1, C >= 1, any floating-point type; r >= 0.
// Returns a plan from T tokens to T - r' (r' = the clamped r), in the backend's memory.
template <class Backend, class M>
merge_plan bipartite_soft_matching(const Backend& backend, const strided_view<M, 3>& metric, index_t r,
                                   const matching_options& options = {}) {
  static_assert(std::is_floating_point_v<std::remove_const_t<M>>,
                "rescan::bipartite_soft_matching: the metric must hold float or double");
  constexpr const char* function = "bipartite_soft_matching";
  detail::check_extents(function, "metric", metric);
  if (r < 0) detail::raise<value_error>(function, ": r = ", r, " but must be >= 0");
  const index_t batch = metric.extent(0), tokens = metric.extent(1);
  if (tokens == 0) {
    detail::raise<value_error>(function, ": metric.extent(1) = 0 (no tokens) but matching needs at least one token");
  }
  if (metric.extent(2) == 0) {
    detail::raise<value_error>(function,
                               ": metric.extent(2) = 0 (no channels) but a similarity needs at least one channel");
  }
  detail::check_matching_options(function, tokens, options);
  const detail::matching_layout layout = detail::make_matching_layout(tokens, r, options);
  using kernels = detail::merge_kernels<Backend>;
  const index_t tokens_out = layout.tokens_out();
  const index_t shared_class_out = layout.class_taken_out ? layout.class_slot() : options.class_token == 0 ? 0 : -1;
  merge_plan plan = merge_plan::over(kernels::allocate(backend, merge_plan::storage_size(batch, tokens, tokens_out)),
                                     kernels::memory, batch, tokens, tokens_out, r, options.class_token, options,
                                     shared_class_out);
  if (batch == 0) return plan;
  using T = std::remove_const_t<M>;
  kernels::match(backend, strided_view<const T, 3>(metric), layout, options.metric, plan.writable_arrays());
  return plan;
}

}  // namespace rescan
