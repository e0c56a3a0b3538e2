// Folds along the last axis: out[row] = in(row, 0) ∘ in(row, 1) ∘ ... ∘ in(row, L-1), for any
// associative operator (commutative or not), plus the named sum / min / max.
#pragma once

#include "rescan/core/checks.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan {

// in: (rows, L), out: (rows). A row of length 0 gives op's identity.
template <class Backend, class In, class T, class Op>
void reduce(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 1>& out, Op op) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::reduce: in and out element types differ");
  detail::check_extents("reduce", "in", in);
  detail::check_same_extent("reduce", "out", out, 0, "in", in, 0);
  if (out.empty()) return;
  detail::reduce_kernels<Backend>::reduce(backend, strided_view<const T, 2>(in), out, op);
}

// in: (rows, L), out: (rows). Sum of each row (0 for L = 0).
template <class Backend, class In, class T>
void reduce_sum(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 1>& out) {
  reduce(backend, in, out, plus{});
}

// in: (rows, L), out: (rows). Minimum of each row (+inf for L = 0); NaN propagates.
template <class Backend, class In, class T>
void reduce_min(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 1>& out) {
  reduce(backend, in, out, minimum{});
}

// in: (rows, L), out: (rows). Maximum of each row (-inf for L = 0); NaN propagates.
template <class Backend, class In, class T>
void reduce_max(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 1>& out) {
  reduce(backend, in, out, maximum{});
}

}  // namespace rescan
