// Prefix scans along the last axis of a (rows, L) view, for any associative operator, commutative
// or not: out_t = x_0 ∘ x_1 ∘ ... ∘ x_t (inclusive) or x_0 ∘ ... ∘ x_{t-1} (exclusive), each row
// independent. Options: reverse direction, a carry entering each row, segments that restart the
// scan (scan_options.hpp). `out` may be `in` itself (in place); any other overlap is undefined.
//
// Parallel backends combine partial results in a tree, so floating-point results are the loop's up
// to rounding. Inf and NaN propagate as in the loop, with one exception that no reassociation can
// avoid: a partial product of finite factors that underflows to 0 (affine maps: a_i * ... * a_j over
// a long stretch of |a| < 1) meets an inf from before it and gives NaN where the loop, which
// multiplies the inf first, keeps inf.
#pragma once

#include <type_traits>

#include "rescan/core/operators.hpp"
#include "rescan/scan/dispatch.hpp"

namespace rescan {

// in, out: (rows, L). out_t = in_0 ∘ ... ∘ in_t within each row (and segment).
template <class Backend, class In, class T, class Op = plus>
void inclusive_scan(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 2>& out,
                    Op op = {}, const scan_options<T>& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::inclusive_scan: in and out element types differ");
  const strided_view<const T, 2> input = in;
  detail::check_scan_arguments("inclusive_scan", input, out, options);
  if (out.empty()) return;
  detail::scan_kernels<Backend>::inclusive(backend, input, out, op, options);
}

// in, out: (L). One long row.
template <class Backend, class In, class T, class Op = plus>
void inclusive_scan(const Backend& backend, const strided_view<In, 1>& in, const strided_view<T, 1>& out,
                    Op op = {}, const scan_options<T>& options = {}) {
  inclusive_scan(backend, as_row(in), as_row(out), op, options);
}

// in, out: (rows, L). out_t = init ∘ in_0 ∘ ... ∘ in_{t-1}; out at a segment start is init (or the
// row's options.initial for the first segment when given).
template <class Backend, class In, class T, class Op = plus>
void exclusive_scan(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 2>& out,
                    const T& init, Op op = {}, const scan_options<T>& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::exclusive_scan: in and out element types differ");
  const strided_view<const T, 2> input = in;
  detail::check_scan_arguments("exclusive_scan", input, out, options);
  if (out.empty()) return;
  detail::scan_kernels<Backend>::exclusive(backend, input, out, init, op, options);
}

// in, out: (L). One long row.
template <class Backend, class In, class T, class Op = plus>
void exclusive_scan(const Backend& backend, const strided_view<In, 1>& in, const strided_view<T, 1>& out,
                    const T& init, Op op = {}, const scan_options<T>& options = {}) {
  exclusive_scan(backend, as_row(in), as_row(out), init, op, options);
}

}  // namespace rescan
