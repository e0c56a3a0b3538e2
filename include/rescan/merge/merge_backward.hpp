// The backward passes (exact adjoints, the plan and the sizes held constant):
//   merge_backward           of merge, every reduce mode:
//                              sum:  grad_x(t) = grad_out(j)            (j = destination of t)
//                              mean: grad_x(t) = grad_out(j) / |M_j|
//                              amax / amin: per channel, grad_out(j) goes to the member holding
//                                the maximum / minimum of x; on ties to the first of them (lowest
//                                original index, the one a stable sort would put first); the
//                                other members get 0. This is the subgradient PyTorch's
//                                scatter_reduce does not fix: rescan's choice is deterministic.
//   merge_weighted_backward  of merge_weighted with respect to x:
//                              grad_x(t) = grad_out(j) * size(t) / sum_{u in M_j} size(u)
//   unmerge_backward         of unmerge: grad_merged(j) = sum_{t in M_j} grad_out(t)
// Pruned tokens get gradient 0. Outputs are overwritten (not accumulated into).
#pragma once

#include <type_traits>

#include "rescan/merge/merge_checks.hpp"

namespace rescan {

// grad_out: (batch, tokens_out, C); grad_x: (batch, tokens_in, C); x: (batch, tokens_in, C), the
// merge's input, needed by amax and amin only (pass an empty view for sum and mean).
template <class Backend, class G, class T, class X>
void merge_backward(const Backend& backend, const merge_plan& plan, const strided_view<G, 3>& grad_out,
                    const strided_view<T, 3>& grad_x, merge_reduce reduce, const strided_view<X, 3>& x) {
  static_assert(std::is_same_v<std::remove_const_t<G>, T> && std::is_same_v<std::remove_const_t<X>, T>,
                "rescan::merge_backward: grad_out, grad_x and x element types differ");
  constexpr const char* function = "merge_backward";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_plan_tokens(function, "grad_out", grad_out, plan, false);
  detail::check_plan_tokens(function, "grad_x", grad_x, plan, true);
  detail::check_same_extent(function, "grad_x", grad_x, 2, "grad_out", grad_out, 2);
  const bool extremum = reduce == merge_reduce::amax || reduce == merge_reduce::amin;
  if (extremum && !grad_x.empty()) {
    if (x.data() == nullptr && x.size() == 0) {
      detail::raise<value_error>(function, ": reduce = ", name_of(reduce),
                                 " needs x (the merge's input) to find which token held the extremum");
    }
    detail::check_same_shape(function, "x", x, "grad_x", grad_x);
  }
  if (grad_x.empty()) return;
  const detail::spread_weight weight = reduce == merge_reduce::sum    ? detail::spread_weight::one
                                       : reduce == merge_reduce::mean ? detail::spread_weight::mean
                                       : reduce == merge_reduce::amax ? detail::spread_weight::amax
                                                                      : detail::spread_weight::amin;
  detail::merge_kernels<Backend>::spread(backend, plan.arrays(), strided_view<const T, 3>(grad_out), grad_x, weight,
                                         strided_view<const T, 3>(x), strided_view<const T, 2>());
}

// The same for sum and mean, which need no x.
template <class Backend, class G, class T>
void merge_backward(const Backend& backend, const merge_plan& plan, const strided_view<G, 3>& grad_out,
                    const strided_view<T, 3>& grad_x, merge_reduce reduce = merge_reduce::sum) {
  merge_backward(backend, plan, grad_out, grad_x, reduce, strided_view<const T, 3>());
}

// size: (batch, tokens_in), the sizes merge_weighted was given; grad_out: (batch, tokens_out, C);
// grad_x: (batch, tokens_in, C). The size type is the element type (convert sizes once if they differ).
template <class Backend, class S, class G, class T>
void merge_weighted_backward(const Backend& backend, const merge_plan& plan, const strided_view<S, 2>& size,
                             const strided_view<G, 3>& grad_out, const strided_view<T, 3>& grad_x) {
  static_assert(std::is_same_v<std::remove_const_t<G>, T> && std::is_same_v<std::remove_const_t<S>, T>,
                "rescan::merge_weighted_backward: size, grad_out and grad_x element types differ");
  constexpr const char* function = "merge_weighted_backward";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_plan_tokens(function, "size", size, plan, true);
  detail::check_plan_tokens(function, "grad_out", grad_out, plan, false);
  detail::check_plan_tokens(function, "grad_x", grad_x, plan, true);
  detail::check_same_extent(function, "grad_x", grad_x, 2, "grad_out", grad_out, 2);
  if (grad_x.empty()) return;
  detail::merge_kernels<Backend>::spread(backend, plan.arrays(), strided_view<const T, 3>(grad_out), grad_x,
                                         detail::spread_weight::weighted, strided_view<const T, 3>(),
                                         strided_view<const T, 2>(size));
}

// grad_out: (batch, tokens_in, C); grad_merged: (batch, tokens_out, C).
template <class Backend, class G, class T>
void unmerge_backward(const Backend& backend, const merge_plan& plan, const strided_view<G, 3>& grad_out,
                      const strided_view<T, 3>& grad_merged) {
  static_assert(std::is_same_v<std::remove_const_t<G>, T>,
                "rescan::unmerge_backward: grad_out and grad_merged element types differ");
  constexpr const char* function = "unmerge_backward";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_plan_tokens(function, "grad_out", grad_out, plan, true);
  detail::check_plan_tokens(function, "grad_merged", grad_merged, plan, false);
  detail::check_same_extent(function, "grad_merged", grad_merged, 2, "grad_out", grad_out, 2);
  if (grad_merged.empty()) return;
  detail::merge_kernels<Backend>::merge(backend, plan.arrays(), strided_view<const T, 3>(grad_out), grad_merged,
                                        merge_reduce::sum);
}

}  // namespace rescan
