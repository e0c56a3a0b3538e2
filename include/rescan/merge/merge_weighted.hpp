// merge_weighted: ToMe's size-weighted average. For output token j with members M_j,
//   out(j) = sum_{t in M_j} x(t) size(t) / sum_{t in M_j} size(t),   size_out(j) = sum_{t in M_j} size(t),
// summed in ascending original index. Sizes start at 1 (the number of original patches a token
// holds); merging the hidden states, the residual stream and the sizes of a model with one plan
// keeps them consistent. A group whose sizes sum to 0 gives 0/0 = NaN, as the formula does.
#pragma once

#include <type_traits>

#include "rescan/merge/merge_checks.hpp"

namespace rescan {

// x: (batch, tokens_in, C); size: (batch, tokens_in); out: (batch, tokens_out, C);
// size_out: (batch, tokens_out), or an empty view to skip it (merging a second tensor with the same
// sizes). Sizes may have another floating-point type than x. Outputs must not overlap inputs.
template <class Backend, class In, class T, class SizeIn, class Size>
void merge_weighted(const Backend& backend, const merge_plan& plan, const strided_view<In, 3>& x,
                    const strided_view<SizeIn, 2>& size, const strided_view<T, 3>& out,
                    const strided_view<Size, 2>& size_out) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::merge_weighted: x and out element types differ");
  static_assert(std::is_same_v<std::remove_const_t<SizeIn>, Size>,
                "rescan::merge_weighted: size and size_out element types differ");
  constexpr const char* function = "merge_weighted";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_plan_tokens(function, "x", x, plan, true);
  detail::check_plan_tokens(function, "size", size, plan, true);
  detail::check_plan_tokens(function, "out", out, plan, false);
  detail::check_same_extent(function, "out", out, 2, "x", x, 2);
  const bool with_size_out = size_out.data() != nullptr || size_out.size() != 0;
  if (with_size_out) detail::check_plan_tokens(function, "size_out", size_out, plan, false);
  if (plan.batch() == 0 || plan.tokens_out() == 0) return;
  detail::merge_kernels<Backend>::merge_weighted(backend, plan.arrays(), strided_view<const T, 3>(x),
                                                 strided_view<const Size, 2>(size), out,
                                                 with_size_out ? size_out : strided_view<Size, 2>());
}

// The same without size_out.
template <class Backend, class In, class T, class SizeIn>
void merge_weighted(const Backend& backend, const merge_plan& plan, const strided_view<In, 3>& x,
                    const strided_view<SizeIn, 2>& size, const strided_view<T, 3>& out) {
  merge_weighted(backend, plan, x, size, out, strided_view<std::remove_const_t<SizeIn>, 2>());
}

}  // namespace rescan
