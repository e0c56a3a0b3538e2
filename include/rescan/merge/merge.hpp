// merge: applies a plan to a tensor. Output token j is the reduction of x over the original tokens
// that ended up in it (plan.members(), ascending original index), channel by channel:
//   sum, mean (sum / number of members), amax, amin.
// Pruned tokens (merge_mode::prune) contribute nothing.
#pragma once

#include <type_traits>

#include "rescan/merge/merge_checks.hpp"

namespace rescan {

// x: (batch, tokens_in, C), out: (batch, tokens_out, C), any C >= 0; out must not overlap x.
template <class Backend, class In, class T>
void merge(const Backend& backend, const merge_plan& plan, const strided_view<In, 3>& x, const strided_view<T, 3>& out,
           merge_reduce reduce = merge_reduce::sum) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::merge: x and out element types differ");
  constexpr const char* function = "merge";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_plan_tokens(function, "x", x, plan, true);
  detail::check_plan_tokens(function, "out", out, plan, false);
  detail::check_same_extent(function, "out", out, 2, "x", x, 2);
  if (out.empty()) return;
  detail::merge_kernels<Backend>::merge(backend, plan.arrays(), strided_view<const T, 3>(x), out, reduce);
}

}  // namespace rescan
