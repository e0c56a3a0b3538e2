// Argument checks shared by every front door. Each throws a rescan::error subclass whose message
// names the function, the argument, the axis and both values.
#pragma once

#include <cmath>

#include "rescan/core/error.hpp"
#include "rescan/core/view.hpp"

namespace rescan::detail {

// "fn: in.extent(1) = -1 but extents must be >= 0"
template <class A>
void check_extent_not_negative(const char* function, const char* name, const A& a, int axis) {
  if (a.extent(axis) < 0) {
    raise<shape_error>(function, ": ", name, ".extent(", axis, ") = ", a.extent(axis), " but extents must be >= 0");
  }
}

// No axis of a has a negative extent.
template <class A>
void check_extents(const char* function, const char* name, const A& a) {
  for (int axis = 0; axis < A::rank; ++axis) check_extent_not_negative(function, name, a, axis);
}

// "fn: a.extent(i) = x but b.extent(j) = y" (and neither may be negative)
template <class A, class B>
void check_same_extent(const char* function, const char* name_a, const A& a, int axis_a, const char* name_b,
                       const B& b, int axis_b) {
  check_extent_not_negative(function, name_b, b, axis_b);
  check_extent_not_negative(function, name_a, a, axis_a);
  if (a.extent(axis_a) != b.extent(axis_b)) {
    raise<shape_error>(function, ": ", name_a, ".extent(", axis_a, ") = ", a.extent(axis_a), " but ", name_b,
                       ".extent(", axis_b, ") = ", b.extent(axis_b));
  }
}

// Every axis of a equals the same axis of b.
template <class A, class B>
void check_same_shape(const char* function, const char* name_a, const A& a, const char* name_b, const B& b) {
  static_assert(A::rank == B::rank, "rescan: views of different rank");
  for (int axis = 0; axis < A::rank; ++axis) check_same_extent(function, name_a, a, axis, name_b, b, axis);
}

// "fn: k = 9 but must be in [0, 8] (in.extent(1))"
inline void check_range(const char* function, const char* name, index_t value, index_t low, index_t high,
                        const char* what_high) {
  if (value < low || value > high) {
    raise<value_error>(function, ": ", name, " = ", value, " but must be in [", low, ", ", high, "] (", what_high,
                       ")");
  }
}

// A view given for an optional argument (data present) must have the expected extent on an axis.
template <class A, class B>
void check_optional_extent(const char* function, const char* name_a, const A& a, int axis_a, const char* name_b,
                           const B& b, int axis_b) {
  if (a.data() != nullptr || a.size() != 0) check_same_extent(function, name_a, a, axis_a, name_b, b, axis_b);
}

}  // namespace rescan::detail
