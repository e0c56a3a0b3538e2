// Argument checks of the token-merging front doors: a plan that can be used with this backend,
// and tensors whose batch and token axes fit the plan. Messages name the function, the argument,
// the axis and both values ("merge: x.extent(1) = 7 but plan.tokens_in() = 8").
#pragma once

#include "rescan/core/checks.hpp"
#include "rescan/merge/dispatch.hpp"
#include "rescan/merge/merge_plan.hpp"

namespace rescan::detail {

inline const char* name_of(plan_memory memory) {
  switch (memory) {
    case plan_memory::host: return "host memory (made by rescan::cpu)";
    case plan_memory::cuda_device: return "CUDA device memory (made by rescan::cuda)";
    default: return "no memory";
  }
}

template <class Backend>
void check_plan(const char* function, const char* name, const merge_plan& plan) {
  if (plan.empty()) {
    raise<value_error>(function, ": ", name, " is empty (default-constructed); make one with bipartite_soft_matching");
  }
  constexpr plan_memory expected = merge_kernels<Backend>::memory;
  if (plan.memory() != expected) {
    raise<value_error>(function, ": ", name, " holds its arrays in ", name_of(plan.memory()), " but this backend needs ",
                       name_of(expected));
  }
}

// "fn: x.extent(1) = 7 but plan.tokens_in() = 8"
template <class A>
void check_plan_extent(const char* function, const char* name, const A& a, int axis, index_t expected,
                       const char* what) {
  check_extent_not_negative(function, name, a, axis);
  if (a.extent(axis) != expected) {
    raise<shape_error>(function, ": ", name, ".extent(", axis, ") = ", a.extent(axis), " but ", what, " = ", expected);
  }
}

// A (batch, tokens, ...) tensor of a plan: batch = plan.batch(), tokens = plan.tokens_in() when
// `original`, else plan.tokens_out().
template <class A>
void check_plan_tokens(const char* function, const char* name, const A& a, const merge_plan& plan, bool original) {
  check_extents(function, name, a);
  check_plan_extent(function, name, a, 0, plan.batch(), "plan.batch()");
  if (original) {
    check_plan_extent(function, name, a, 1, plan.tokens_in(), "plan.tokens_in()");
  } else {
    check_plan_extent(function, name, a, 1, plan.tokens_out(), "plan.tokens_out()");
  }
}

}  // namespace rescan::detail
