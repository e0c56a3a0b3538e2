// unmerge: each original token receives the value of the output token it ended up in
// (plan.destination()); a pruned token receives 0. unmerge(merge(x)) == x at every token that
// was not merged with another (and, for sum/mean/amax/amin of a group of equal rows, everywhere).
#pragma once

#include <type_traits>

#include "rescan/merge/merge_checks.hpp"

namespace rescan {

// merged: (batch, tokens_out, C), out: (batch, tokens_in, C); out must not overlap merged.
template <class Backend, class In, class T>
void unmerge(const Backend& backend, const merge_plan& plan, const strided_view<In, 3>& merged,
             const strided_view<T, 3>& out) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::unmerge: merged and out element types differ");
  constexpr const char* function = "unmerge";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_plan_tokens(function, "merged", merged, plan, false);
  detail::check_plan_tokens(function, "out", out, plan, true);
  detail::check_same_extent(function, "out", out, 2, "merged", merged, 2);
  if (out.empty()) return;
  detail::merge_kernels<Backend>::spread(backend, plan.arrays(), strided_view<const T, 3>(merged), out,
                                         detail::spread_weight::one, strided_view<const T, 3>(),
                                         strided_view<const T, 2>());
}

}  // namespace rescan
