// Plans across layers.
//   compose(backend, first, second): the plan of applying `first` (T0 -> T1 tokens), then `second`
//     (T1 -> T2), in one step T0 -> T2. Its destination maps each original token straight to its
//     final token, its members list, per final token, every original token it holds (ascending),
//     so a composed plan is also the compact source map (batch, T_now) -> original tokens: the
//     members of final token j are members[offsets[j], offsets[j+1]). merge_weighted with the
//     composed plan and unit sizes equals merge_weighted applied layer by layer with tracked sizes;
//     a sum merge composes exactly; mean / amax / amin compose as the same reduction over the
//     original members (a mean of means does not, weight by sizes for that).
//   source_matrix(backend, plan, out): the dense form, out(b, j, t) = 1 when original token t is
//     in output token j, else 0 (ToMe's `source`); pruned tokens are in no row.
//   plan_to_host(backend, plan): a copy of the plan's arrays in host memory (for inspection,
//     visualization, tests); a host plan is returned as it is.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

#include "rescan/merge/merge_checks.hpp"

namespace rescan {

template <class Backend>
merge_plan compose(const Backend& backend, const merge_plan& first, const merge_plan& second) {
  constexpr const char* function = "compose";
  detail::check_plan<Backend>(function, "first", first);
  detail::check_plan<Backend>(function, "second", second);
  if (second.batch() != first.batch()) {
    detail::raise<shape_error>(function, ": second.batch() = ", second.batch(), " but first.batch() = ", first.batch());
  }
  if (second.tokens_in() != first.tokens_out()) {
    detail::raise<shape_error>(function, ": second.tokens_in() = ", second.tokens_in(),
                               " but first.tokens_out() = ", first.tokens_out());
  }
  using kernels = detail::merge_kernels<Backend>;
  const index_t batch = first.batch(), tokens_in = first.tokens_in(), tokens_out = second.tokens_out();
  merge_plan plan = merge_plan::over(kernels::allocate(backend, merge_plan::storage_size(batch, tokens_in, tokens_out)),
                                     kernels::memory, batch, tokens_in, tokens_out,
                                     first.r_requested() + second.r_requested(), first.class_token_in(),
                                     second.options(),
                                     first.shared_class_token_out() >= 0 ? second.shared_class_token_out() : -1);
  if (batch > 0) kernels::compose(backend, first.arrays(), second.arrays(), plan.writable_arrays());
  return plan;
}

// out: (batch, tokens_out, tokens_in), any arithmetic type.
template <class Backend, class T>
void source_matrix(const Backend& backend, const merge_plan& plan, const strided_view<T, 3>& out) {
  static_assert(std::is_arithmetic_v<T>, "rescan::source_matrix: out must hold an arithmetic type");
  constexpr const char* function = "source_matrix";
  detail::check_plan<Backend>(function, "plan", plan);
  detail::check_extents(function, "out", out);
  detail::check_plan_extent(function, "out", out, 0, plan.batch(), "plan.batch()");
  detail::check_plan_extent(function, "out", out, 1, plan.tokens_out(), "plan.tokens_out()");
  detail::check_plan_extent(function, "out", out, 2, plan.tokens_in(), "plan.tokens_in()");
  if (out.empty()) return;
  detail::merge_kernels<Backend>::source_matrix(backend, plan.arrays(), out);
}

template <class Backend>
merge_plan plan_to_host(const Backend& backend, const merge_plan& plan) {
  detail::check_plan<Backend>("plan_to_host", "plan", plan);
  if (plan.memory() == plan_memory::host) return plan;
  const index_t count = merge_plan::storage_size(plan.batch(), plan.tokens_in(), plan.tokens_out());
  std::shared_ptr<index_t> host(new index_t[static_cast<std::size_t>(count > 0 ? count : 1)],
                                std::default_delete<index_t[]>());
  merge_plan copy = merge_plan::over(host, plan_memory::host, plan.batch(), plan.tokens_in(), plan.tokens_out(),
                                     plan.r_requested(), plan.class_token_in(), plan.options(),
                                     plan.shared_class_token_out());
  if (count > 0) {
    detail::merge_kernels<Backend>::copy_to_host(backend, plan.arrays().destination.data(), count, host.get());
  }
  return copy;
}

}  // namespace rescan
