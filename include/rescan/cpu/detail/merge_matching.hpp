// CPU pieces of bipartite soft matching and of the plans built from it, one batch item at a time,
// on per-thread scratch sized before the batch loop (nothing is allocated per batch item):
//   normalize_participants   metric rows of set A and set B -> contiguous L2-normalized rows
//   best_destinations        node_max / best B per A token: cosine and negative L2 from Eigen GEMMs
//                            over blocks of 32 A rows, negative L1 by direct loops
//   write_plan_row           sources -> destination, survivors, class_out, then build_members
//   build_members            destination -> offsets and members (a counting sort, stable in t)
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "rescan/core/view.hpp"
#include "rescan/cpu/top_k.hpp"  // select_first
#include "rescan/merge/matching_layout.hpp"
#include "rescan/merge/merge_plan.hpp"

namespace rescan::detail {

// Scores come in tiles of (32 A rows, 64 B rows), each the sum of GEMMs over 256 channels at a
// time. A destination with at most 32 rows at compile time keeps Eigen from splitting the product
// over OpenMP threads of its own (rescan parallelizes over the batch), and the small operands keep
// Eigen's packed copies on the stack (larger ones are heap-allocated on every product).
inline constexpr index_t matching_block_rows = 32;
inline constexpr index_t matching_block_cols = 64;
inline constexpr index_t matching_block_depth = 256;

template <class S>
struct matching_scratch {
  using row_matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using block_matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor, matching_block_rows,
                                     matching_block_cols>;

  row_matrix a_rows, b_rows;   // (count_a, C), (count_b, C), normalized
  std::vector<S> a_norms, b_norms;  // squared norms after normalization (1, or 0 for a zero row)
  block_matrix scores;         // (<= 32, <= 64), fixed capacity
  std::vector<S> node_max;
  std::vector<index_t> best_b, order, slot, cursor;
  std::vector<char> is_source, is_protected;

  matching_scratch(const matching_layout& layout, index_t channels)
      : a_rows(layout.count_a(), channels),
        b_rows(layout.count_b(), channels),
        a_norms(static_cast<std::size_t>(layout.count_a())),
        b_norms(static_cast<std::size_t>(layout.count_b())),
        scores(matching_block_rows, matching_block_cols),
        node_max(static_cast<std::size_t>(layout.count_a())),
        best_b(static_cast<std::size_t>(layout.count_a())),
        order(static_cast<std::size_t>(layout.count_a())),
        slot(static_cast<std::size_t>(layout.participants())),
        cursor(static_cast<std::size_t>(layout.tokens_out()) + 1),
        is_source(static_cast<std::size_t>(layout.count_a())),
        is_protected(static_cast<std::size_t>(layout.count_a())) {}
};

// Copies metric(t, :) into `row` and scales it to unit length (a zero row stays zero); returns
// the squared norm of the result (1 up to rounding, 0 for a zero row, NaN for a row with NaN or inf).
template <class S, class M>
S normalized_row(const strided_view<const M, 2>& metric, index_t t, S* row) {
  const index_t channels = metric.extent(1);
  const M* source = &metric(t, 0);
  const index_t stride = metric.stride(1);
  Eigen::Map<Eigen::Array<S, 1, Eigen::Dynamic>> copy(row, channels);
  if (stride == 1) {
    copy = Eigen::Map<const Eigen::Array<M, 1, Eigen::Dynamic>>(source, channels).template cast<S>();
  } else {
    for (index_t c = 0; c < channels; ++c) row[c] = static_cast<S>(source[c * stride]);
  }
  S squares = copy.square().sum();  // Eigen's vectorized reduction
  if (!(squares > 0)) return squares;  // zero row: 0 (it stays zero); NaN row: NaN (it never wins)
  if (squares == std::numeric_limits<S>::infinity()) {  // overflowed: the norm in long double
    long double wide = 0;
    for (index_t c = 0; c < channels; ++c) wide += static_cast<long double>(row[c]) * row[c];
    squares = static_cast<S>(wide);  // may stay inf; then the scale below is finite only via wide
    const S scale = static_cast<S>(1.0L / std::sqrt(wide));
    copy *= scale;
    return copy.square().sum();
  }
  const S scale = S(1) / std::sqrt(squares);
  copy *= scale;
  return squares * scale * scale;
}

template <class S, class M>
void normalize_participants(const strided_view<const M, 2>& metric, const matching_layout& layout,
                            matching_scratch<S>& scratch) {
  for (index_t a = 0; a < layout.count_a(); ++a) {
    scratch.a_norms[a] = normalized_row(metric, layout.position_of_a(a), scratch.a_rows.row(a).data());
  }
  for (index_t b = 0; b < layout.count_b(); ++b) {
    scratch.b_norms[b] = normalized_row(metric, layout.position_of_b(b), scratch.b_rows.row(b).data());
  }
}

// Folds the scores of row a against B tokens [first, first + count) (score(b)) into the row's best
// destination: the largest score, the lowest b on ties, never a protected destination; a NaN score
// never wins (the first allowed destination is kept when no score beats it). Chunks must come in
// increasing b; best_b[a] = -1 before the first.
template <class S, class Score>
void fold_best(const matching_layout& layout, index_t a, index_t first, index_t count, const Score& score,
               matching_scratch<S>& scratch) {
  S best = scratch.node_max[a];
  index_t best_b = scratch.best_b[a];
  for (index_t b = first; b < first + count; ++b) {
    if (layout.destination_protected(b)) continue;
    const S value = score(b);
    if (best_b < 0) {
      best_b = b;
      best = value == value ? value : -std::numeric_limits<S>::infinity();
    } else if (value > best) {
      best = value;
      best_b = b;
    }
  }
  scratch.node_max[a] = best;
  scratch.best_b[a] = best_b;
}

template <class S>
void best_destinations(const matching_layout& layout, similarity kind, matching_scratch<S>& scratch) {
  const index_t count_a = layout.count_a(), count_b = layout.count_b(), channels = scratch.a_rows.cols();
  for (index_t a = 0; a < count_a; ++a) {
    scratch.is_protected[a] = layout.source_protected(a) ? 1 : 0;
    scratch.node_max[a] = -std::numeric_limits<S>::infinity();
    scratch.best_b[a] = -1;
  }
  if (count_b == 0) return;
  if (kind == similarity::negative_l1) {
    for (index_t a = 0; a < count_a; ++a) {
      const S* x = scratch.a_rows.row(a).data();
      fold_best(layout, a, 0, count_b, [&](index_t b) {
        const S* y = scratch.b_rows.row(b).data();
        S distance = 0;
        for (index_t c = 0; c < channels; ++c) distance += std::abs(x[c] - y[c]);
        return -distance;
      }, scratch);
    }
    return;
  }
  for (index_t first_a = 0; first_a < count_a; first_a += matching_block_rows) {
    const index_t rows = std::min(matching_block_rows, count_a - first_a);
    for (index_t first_b = 0; first_b < count_b; first_b += matching_block_cols) {
      const index_t cols = std::min(matching_block_cols, count_b - first_b);
      auto tile = scratch.scores.topLeftCorner(rows, cols);
      for (index_t depth = 0; depth < channels; depth += matching_block_depth) {
        const index_t width = std::min(matching_block_depth, channels - depth);
        const auto a_part = scratch.a_rows.block(first_a, depth, rows, width);
        const auto b_part = scratch.b_rows.block(first_b, depth, cols, width);
        if (depth == 0) {
          tile.noalias() = a_part * b_part.transpose();
        } else {
          tile.noalias() += a_part * b_part.transpose();
        }
      }
      for (index_t i = 0; i < rows; ++i) {
        const index_t a = first_a + i;
        const S* dots = scratch.scores.row(i).data();  // dots[b - first_b]
        if (kind == similarity::cosine) {
          fold_best(layout, a, first_b, cols, [&](index_t b) { return dots[b - first_b]; }, scratch);
        } else {
          const S a_norm = scratch.a_norms[a];
          fold_best(layout, a, first_b, cols, [&](index_t b) {
            return -std::sqrt(std::max(S(0), a_norm + scratch.b_norms[b] - S(2) * dots[b - first_b]));
          }, scratch);
        }
      }
    }
  }
}

// Does A token i come before A token j? Unprotected first, then larger node_max, then lower index.
template <class S>
struct source_order {
  const S* node_max;
  const char* is_protected;
  bool operator()(index_t i, index_t j) const {
    if (is_protected[i] != is_protected[j]) return is_protected[j] != 0;
    return node_max[i] > node_max[j] || (node_max[i] == node_max[j] && i < j);
  }
};

template <class S>
void choose_sources(const matching_layout& layout, matching_scratch<S>& scratch) {
  std::fill(scratch.is_source.begin(), scratch.is_source.end(), char(0));
  if (layout.r == 0) return;
  select_first(scratch.order.data(), layout.count_a(), layout.r,
               source_order<S>{scratch.node_max.data(), scratch.is_protected.data()});
  for (index_t k = 0; k < layout.r; ++k) scratch.is_source[scratch.order[k]] = 1;
}

// destination (T) -> offsets (T_out + 1) and members (T): members of each output token in
// ascending original index, pruned tokens (destination -1) after all of them. cursor: T_out + 1.
inline void build_members(const strided_view<const index_t, 1>& destination, const strided_view<index_t, 1>& offsets,
                          const strided_view<index_t, 1>& members, index_t* cursor) {
  const index_t tokens = destination.extent(0), tokens_out = offsets.extent(0) - 1;
  std::fill(cursor, cursor + tokens_out + 1, index_t(0));
  for (index_t t = 0; t < tokens; ++t) {
    const index_t j = destination(t);
    ++cursor[j < 0 ? tokens_out : j];
  }
  index_t running = 0;
  for (index_t j = 0; j <= tokens_out; ++j) {
    const index_t count = cursor[j];
    cursor[j] = running;
    if (j < tokens_out) offsets(j) = running;
    running += count;
  }
  offsets(tokens_out) = cursor[tokens_out];
  for (index_t t = 0; t < tokens; ++t) {
    const index_t j = destination(t);
    members(cursor[j < 0 ? tokens_out : j]++) = t;
  }
}

// Writes batch item b of the plan from the chosen sources.
template <class S>
void write_plan_row(const matching_layout& layout, matching_scratch<S>& scratch, const merge_plan_arrays<index_t>& plan,
                    index_t b) {
  const auto destination = plan.destination[b];
  const auto survivors = plan.survivors[b];
  const index_t participants = layout.participants();
  index_t survivor = 0;
  for (index_t q = 0; q < participants; ++q) {
    const index_t i = layout.participant_at(q);
    if (i % 2 == 0 && scratch.is_source[i / 2]) {
      scratch.slot[i] = -1;
      continue;
    }
    const index_t j = layout.slot_of_survivor(survivor++);
    scratch.slot[i] = j;
    survivors(j) = layout.position(i);
  }
  for (index_t i = 0; i < participants; ++i) {
    index_t j = scratch.slot[i];
    if (j < 0) j = layout.mode == merge_mode::merge ? scratch.slot[2 * scratch.best_b[i / 2] + 1] : -1;
    destination(layout.position(i)) = j;
  }
  if (layout.class_taken_out) {
    const index_t j = layout.class_slot();
    survivors(j) = layout.class_position;
    destination(layout.class_position) = j;
  }
  plan.class_out(b) = layout.class_position >= 0 ? destination(layout.class_position) : -1;
  build_members(destination, plan.offsets[b], plan.members[b], scratch.cursor.data());
}

}  // namespace rescan::detail
