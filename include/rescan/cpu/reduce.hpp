// CPU backend of the row reductions: rows in parallel, each row folded in order; a few long rows
// are each split across the threads (in order: the operator need not commute).
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "rescan/core/error.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/cpu/detail/simd_scan.hpp"
#include "rescan/cpu/parallel.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan::detail {

template <class Op, class T, class = void>
struct has_identity : std::false_type {};
template <class Op, class T>
struct has_identity<Op, T, std::void_t<decltype(Op::template identity<T>())>> : std::true_type {};

// Fold of a row in order: row(0) ∘ row(1) ∘ ... (the row is not empty).
template <class T, class Op>
T fold_row(const strided_view<const T, 1>& row, const Op& op) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
  if constexpr (simd_scan_kind<T, Op>::sum) {
    if (row.stride(0) == 1) return simd_sum(row.data(), 0, row.extent(0));
  }
#endif
  T value = row(0);
  for (index_t t = 1; t < row.extent(0); ++t) value = op(value, row(t));
  return value;
}

// The row maximum under rescan::maximum (NaN propagates).
template <class T>
T row_maximum(const strided_view<const T, 1>& row) {
  return fold_row(row, maximum{});
}

template <>
struct reduce_kernels<cpu_t> {
  template <class T, class Op>
  static void reduce(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 1>& out,
                     const Op& op) {
    if (in.extent(1) == 0) {
      if constexpr (has_identity<Op, T>::value) {
        for (index_t row = 0; row < out.extent(0); ++row) out(row) = Op::template identity<T>();
        return;
      } else {
        raise<value_error>("reduce: in.extent(1) = 0 but the operator has no identity() to return for an empty row");
      }
    }
    const cpu_team team = team_of(backend);
    const index_t rows = in.extent(0), length = in.extent(1);
    if (rows >= team.threads || length < split_row_length) {
      parallel_for(team, rows, [&](index_t row) { out(row) = fold_row(in[row], op); });
      return;
    }
    // Few long rows: each row folded in one contiguous part per thread, the parts combined in order.
    std::vector<T> parts(static_cast<std::size_t>(team.threads));
    for (index_t row = 0; row < rows; ++row) {
      const auto x = in[row];
      parallel_for(team, team.threads, [&](index_t part) {
        const index_t begin = length * part / team.threads, end = length * (part + 1) / team.threads;
        parts[static_cast<std::size_t>(part)] = fold_row(x.slice(0, begin, end - begin), op);
      });
      T value = parts[0];
      for (int part = 1; part < team.threads; ++part) value = op(value, parts[static_cast<std::size_t>(part)]);
      out(row) = value;
    }
  }

  // Rows at least this long are split across the threads when there are fewer rows than threads.
  static constexpr index_t split_row_length = index_t(1) << 16;

  template <class T>
  static void argmax(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<index_t, 1>& out) {
    parallel_for(team_of(backend), in.extent(0), [&](index_t row) {
      const auto x = in[row];
      index_t best = 0;
      for (index_t t = 0; t < x.extent(0); ++t) {
        if (x(t) != x(t)) {  // the first NaN is the answer
          best = t;
          break;
        }
        if (x(t) > x(best)) best = t;
      }
      out(row) = best;
    });
  }

  template <class T>
  static void logsumexp(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 1>& out) {
    parallel_for(team_of(backend), in.extent(0), [&](index_t row) {
      const auto x = in[row];
      if (x.extent(0) == 0) {
        out(row) = -std::numeric_limits<T>::infinity();
        return;
      }
      const T m = row_maximum(x);
      if (!std::isfinite(m)) {  // NaN, +inf and an all -inf row are their own answer
        out(row) = m;
        return;
      }
      T sum = 0;
      for (index_t t = 0; t < x.extent(0); ++t) sum += std::exp(x(t) - m);
      out(row) = m + std::log(sum);
    });
  }

  template <class T>
  static void softmax(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& out) {
    parallel_for(team_of(backend), in.extent(0), [&](index_t row) {
      const auto x = in[row];
      const auto y = out[row];
      const T m = row_maximum(x);
      T sum = 0;
      for (index_t t = 0; t < x.extent(0); ++t) {
        y(t) = std::exp(x(t) - m);
        sum += y(t);
      }
      const T scale = T(1) / sum;
      for (index_t t = 0; t < x.extent(0); ++t) y(t) *= scale;
    });
  }
};

}  // namespace rescan::detail
