// Kernels of token merging (cuda/merge.cuh):
//   merge_inverse_norms_kernel  one warp per token: 1 / ||metric row|| (0 for a zero row)
//   merge_scores_kernel         a block of 64 threads per (32 A tokens, 32 B tokens, batch item): a
//                               similarity tile over all channels in shared memory, 4 x 4 scores a
//                               thread, the best B of the tile per A token (lowest index on ties)
//   merge_plan_kernel           a block per batch item, its size chosen by T: the best B per A token
//                               over the B tiles, then sources, survivors, destinations, members
//   merge_compose_kernel        a block per batch item: two plans -> one
//   merge_gather_kernel, merge_weighted_kernel   a block per output token, threads along C
//   merge_spread_kernel         a block per original token, threads along C (unmerge, backward)
//   merge_source_matrix_kernel  element-wise
#pragma once

#include <climits>
#include <cuda/std/limits>

#include "rescan/core/config.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/block/block_merge_plan.cuh"
#include "rescan/cuda/detail/merge_tuning.cuh"
#include "rescan/merge/dispatch.hpp"
#include "rescan/merge/matching_layout.hpp"
#include "rescan/merge/merge_options.hpp"
#include "rescan/merge/merge_plan.hpp"

namespace rescan::cuda_detail {

template <class S>
__device__ inline S square_root(S x) {
  return sqrt(x);
}

// inverse_norms: (batch * T).
template <class M, class S>
__global__ void merge_inverse_norms_kernel(strided_view<const M, 3> metric, S* inverse_norms) {
  const index_t tokens = metric.extent(1), channels = metric.extent(2);
  const index_t rows = metric.extent(0) * tokens;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const index_t warps = index_t(gridDim.x) * (blockDim.x / 32);
  for (index_t row = (index_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32; row < rows; row += warps) {
    const index_t b = row / tokens, t = row % tokens;
    S squares = 0;
    // Unrolled, so that a row of 384 channels is one round of loads in flight; the sum is still
    // one walk in channel order.
#pragma unroll 12
    for (index_t c = lane; c < channels; c += 32) {
      const S value = static_cast<S>(metric(b, t, c));
      squares += value * value;
    }
    for (int offset = 16; offset > 0; offset /= 2) squares += __shfl_xor_sync(0xffffffffu, squares, offset);
    if (lane == 0) inverse_norms[row] = squares > S(0) ? S(1) / square_root(squares) : S(squares == squares ? 0 : squares);
  }
}

// The better of two candidates: larger score, lower index on ties.
template <class S>
__device__ inline void keep_better(S& best, int& at, S other, int other_at) {
  if (other > best || (other == best && other_at < at)) {
    best = other;
    at = other_at;
  }
}

// Score tiles covering set A (tile_rows A tokens each) and set B (tile_cols B tokens each).
RESCAN_HOST_DEVICE inline index_t score_tiles_of_a(const detail::matching_layout& layout) {
  return (layout.count_a() + merge_tuning::tile_rows - 1) / merge_tuning::tile_rows;
}
RESCAN_HOST_DEVICE inline index_t score_tiles_of_b(const detail::matching_layout& layout) {
  return (layout.count_b() + merge_tuning::tile_cols - 1) / merge_tuning::tile_cols;
}

// Count consecutive A rows (thread_rows) or B columns (thread_cols) of a score tile at one depth:
// one shared-memory load of up to 16 bytes (or several, for double).
template <class S, int Count>
struct alignas(Count * sizeof(S) < 16 ? Count * sizeof(S) : 16) score_group {
  S value[Count];
};

// The best B of each A token within each B tile: tile_best_score, tile_best_at: (batch, count_a,
// b_tiles), b_tiles = score_tiles_of_b(layout); (-inf, INT_MAX) where the tile holds no allowed
// destination. A block scores one (A tile, B tile) pair of one batch item over all channels; the
// pairs, batch * a_tiles * b_tiles of them, are spread over the grid (grid-stride, so any batch
// fits). score_threads threads, each holding a thread_rows x thread_cols block of scores: lane l of
// warp w holds A rows 16 w + thread_rows (l / 8) + i and B columns thread_cols (l % 8) + j, so a
// depth step costs a thread two 16-byte shared-memory loads (a warp reads 4 and 8 distinct words)
// for 16 multiply-adds (the old layout, one B column a thread, took 2 loads for 4), and the 8 lanes
// sharing A rows find their best with 3 shuffles. Shared tiles are stored transposed,
// tile[k][row] (row stride padded), so a thread reads its rows at depth k in one go. While a depth
// tile is multiplied, the next one is already being fetched into registers. Each score is the same
// sum as a single walk over the channels: k ascending, tiles in ascending depth (one fused
// multiply-add per channel, as before this layout: plans do not depend on the tiling).
// UnitStride: metric.stride(2) == 1 (the usual layout).
template <class M, class S, similarity Kind, bool UnitStride>
__global__ void __launch_bounds__(merge_tuning::score_threads, sizeof(S) == 4 ? merge_tuning::score_min_blocks
                                                                                 : merge_tuning::score_min_blocks / 2)
    merge_scores_kernel(strided_view<const M, 3> metric, const S* inverse_norms, detail::matching_layout layout,
                        S* tile_best_score, int* tile_best_at) {
  using namespace merge_tuning;
  constexpr int warps = score_threads / 32;
  constexpr int col_groups = tile_cols / thread_cols;              // lanes across the B columns of a tile
  constexpr int warp_rows = 32 / col_groups * thread_rows;         // A rows of the tile a warp holds
  constexpr int load_rows_per_warp = 32 / load_depth_step;         // tokens one warp's load instruction covers
  constexpr int load_row_step = warps * load_rows_per_warp;        // tokens one load instruction of the block covers
  constexpr int load_rows = tile_rows / load_row_step;             // tokens of each tile a thread loads
  constexpr int loads_per_row = tile_depth / load_depth_step;      // channels of such a token per depth tile
  // Padded so that a warp's transposed store (load_depth_step depths x load_rows_per_warp rows)
  // hits 32 different banks (for floats): depth k starts at bank k * load_rows_per_warp.
  constexpr int row_stride = tile_rows + load_rows_per_warp;
  static_assert(tile_rows == tile_cols, "merge_scores_kernel: both tiles share one layout and one loader");
  static_assert(32 % col_groups == 0 && tile_rows == warps * warp_rows,
                "merge_scores_kernel: the warps hold the A rows of a tile, each against all its B columns");
  static_assert(tile_rows % load_row_step == 0 && tile_depth % load_depth_step == 0,
                "merge_scores_kernel: the threads load whole tiles");
  static_assert(row_stride * sizeof(S) % 16 == 0 && alignof(score_group<S, thread_rows>) % sizeof(S) == 0 &&
                    thread_rows * sizeof(S) % alignof(score_group<S, thread_rows>) == 0 &&
                    thread_cols * sizeof(S) % alignof(score_group<S, thread_cols>) == 0,
                "merge_scores_kernel: a thread's rows and columns are whole aligned words");
  __shared__ alignas(16) S a_tile[tile_depth][row_stride];
  __shared__ alignas(16) S b_tile[tile_depth][row_stride];
  const index_t batch = metric.extent(0), tokens = metric.extent(1), channels = metric.extent(2);
  const index_t count_a = layout.count_a(), count_b = layout.count_b();
  const index_t a_tiles = score_tiles_of_a(layout), b_tiles = score_tiles_of_b(layout);
  const int thread = static_cast<int>(threadIdx.x);
  const int warp = thread / 32, lane = thread % 32;
  const int first_row = warp * warp_rows + (lane / col_groups) * thread_rows;  // this thread's A rows ...
  const int first_col = (lane % col_groups) * thread_cols;                    // ... and B columns in the tile
  // This thread's share of every tile load: rows load_row + r * load_row_step (one token each) at
  // channels load_k + s * load_depth_step.
  const int load_row = warp * load_rows_per_warp + lane / load_depth_step;
  const int load_k = lane % load_depth_step;
  const S minus_infinity = -::cuda::std::numeric_limits<S>::infinity();
  for (index_t pair = blockIdx.x; pair < batch * a_tiles * b_tiles; pair += gridDim.x) {
    const index_t b = pair / (a_tiles * b_tiles);
    const index_t b_tile_index = pair % b_tiles;
    const index_t first_a = (pair / b_tiles % a_tiles) * tile_rows, first_b = b_tile_index * tile_cols;
    const S* inverse = inverse_norms + b * tokens;
    // Where this thread's next loads start (channel depth + load_k of each token it loads), and
    // the tokens' inverse norms. Rows past a set load the set's last token instead: their scores
    // are never kept (A rows past the set are not written, B columns past it are not allowed), so
    // they need no checks here.
    const M* a_at[load_rows];
    const M* b_at[load_rows];
    S a_inverse[load_rows], b_inverse[load_rows];
#pragma unroll
    for (int r = 0; r < load_rows; ++r) {
      const index_t a = first_a + load_row + r * load_row_step, j = first_b + load_row + r * load_row_step;
      const index_t a_token = layout.position_of_a(a < count_a ? a : count_a - 1);
      const index_t b_token = layout.position_of_b(j < count_b ? j : count_b - 1);
      a_at[r] = &metric(b, a_token, load_k);
      b_at[r] = &metric(b, b_token, load_k);
      a_inverse[r] = inverse[a_token];
      b_inverse[r] = inverse[b_token];
    }
    // Raw metric values of this thread's share of the next depth tile (normalized when stored).
    // With UnitStride the offsets below are constants: one load instruction per value.
    const index_t step = UnitStride ? index_t(load_depth_step) : index_t(load_depth_step) * metric.stride(2);
    M a_next[load_rows][loads_per_row] = {}, b_next[load_rows][loads_per_row] = {};
    const auto fetch = [&](index_t depth) {
      const index_t left = channels - depth - load_k;  // channels from this thread's first one on
#pragma unroll
      for (int s = 0; s < loads_per_row; ++s) {
        if (s * load_depth_step >= left) continue;
#pragma unroll
        for (int r = 0; r < load_rows; ++r) {
          a_next[r][s] = a_at[r][s * step];
          b_next[r][s] = b_at[r][s * step];
        }
      }
#pragma unroll
      for (int r = 0; r < load_rows; ++r) {
        a_at[r] += loads_per_row * step;
        b_at[r] += loads_per_row * step;
      }
    };
    // tile[k][row] = normalized metric of the row's token at channel depth + k; zeros past the
    // channels (so every score adds the same exact zeros there whatever its rows).
    const auto store = [&](index_t depth) {
#pragma unroll
      for (int s = 0; s < loads_per_row; ++s) {
        const int k = load_k + s * load_depth_step;
        const bool inside = depth + k < channels;
#pragma unroll
        for (int r = 0; r < load_rows; ++r) {
          const int row = load_row + r * load_row_step;
          a_tile[k][row] = inside ? static_cast<S>(a_next[r][s]) * a_inverse[r] : S(0);
          b_tile[k][row] = inside ? static_cast<S>(b_next[r][s]) * b_inverse[r] : S(0);
        }
      }
    };
    // A warp whose A rows all lie past set A only loads and stores (the last A tile of a short set).
    const bool multiplies = first_a + warp * warp_rows < count_a;
    S score[thread_rows][thread_cols] = {};
    fetch(0);
    for (index_t depth = 0; depth < channels; depth += tile_depth) {
      store(depth);
      __syncthreads();
      if (depth + tile_depth < channels) fetch(depth + tile_depth);  // in flight during the products below
      if (multiplies) {
#pragma unroll
        for (int k = 0; k < tile_depth; ++k) {
          const auto x = *reinterpret_cast<const score_group<S, thread_rows>*>(&a_tile[k][first_row]);
          const auto y = *reinterpret_cast<const score_group<S, thread_cols>*>(&b_tile[k][first_col]);
#pragma unroll
          for (int i = 0; i < thread_rows; ++i) {
#pragma unroll
            for (int c = 0; c < thread_cols; ++c) {
              if constexpr (Kind == similarity::cosine) {
                score[i][c] += x.value[i] * y.value[c];
              } else if constexpr (Kind == similarity::negative_l1) {
                score[i][c] += x.value[i] > y.value[c] ? x.value[i] - y.value[c] : y.value[c] - x.value[i];
              } else {
                score[i][c] += (x.value[i] - y.value[c]) * (x.value[i] - y.value[c]);
              }
            }
          }
        }
      }
      __syncthreads();
    }
    bool allowed[thread_cols];
#pragma unroll
    for (int c = 0; c < thread_cols; ++c) {
      const index_t j = first_b + first_col + c;
      allowed[c] = j < count_b && !layout.destination_protected(j);
    }
#pragma unroll
    for (int i = 0; i < thread_rows; ++i) {
      S candidate = minus_infinity;
      int candidate_at = INT_MAX;
#pragma unroll
      for (int c = 0; c < thread_cols; ++c) {
        S value = score[i][c];
        if constexpr (Kind == similarity::negative_l1) value = -value;
        if constexpr (Kind == similarity::negative_l2) value = -square_root(value);
        if (value != value) value = minus_infinity;  // a NaN score never wins
        if (allowed[c]) keep_better(candidate, candidate_at, value, static_cast<int>(first_b + first_col + c));
      }
      for (int offset = 1; offset < col_groups; offset *= 2) {  // the lanes sharing A rows
        const S other = __shfl_xor_sync(0xffffffffu, candidate, offset);
        const int other_at = __shfl_xor_sync(0xffffffffu, candidate_at, offset);
        keep_better(candidate, candidate_at, other, other_at);
      }
      const index_t a = first_a + first_row + i;
      if (lane % col_groups == 0 && a < count_a) {
        const index_t at = (b * count_a + a) * b_tiles + b_tile_index;
        tile_best_score[at] = candidate;
        tile_best_at[at] = candidate_at;
      }
    }
  }
}

// One block of Threads per batch item, holding its tokens in a tile of Threads * Items (at least
// T; see merge_tuning). First node_max, best_b: (batch, count_a), the best of the per-B-tile bests
// of merge_scores_kernel (tile_best_score, tile_best_at: (batch, count_a, b_tiles)) under
// keep_better, tiles in ascending order: (-inf, INT_MAX) with no tile.
template <class S, int Threads, int Items>
__global__ void __launch_bounds__(Threads)
    merge_plan_kernel(detail::matching_layout layout, const S* tile_best_score, const int* tile_best_at,
                      index_t b_tiles, S* node_max, int* best_b, merge_plan_arrays<index_t> plan) {
  using block_plan = block_merge_plan<S, Threads, Items>;
  __shared__ typename block_plan::TempStorage temp;
  block_plan builder(temp);
  const index_t batch = plan.destination.extent(0);
  const index_t count_a = layout.count_a();
  for (index_t b = blockIdx.x; b < batch; b += gridDim.x) {
    for (index_t a = threadIdx.x; a < count_a; a += blockDim.x) {
      S best = -::cuda::std::numeric_limits<S>::infinity();
      int best_at = INT_MAX;
      const index_t row = (b * count_a + a) * b_tiles;
      for (index_t tile = 0; tile < b_tiles; ++tile) {
        keep_better(best, best_at, tile_best_score[row + tile], tile_best_at[row + tile]);
      }
      node_max[b * count_a + a] = best;
      best_b[b * count_a + a] = best_at;
    }
    __syncthreads();  // node_max and best_b of this item, written above, are read by every thread below
    builder.choose_sources(layout, node_max + b * count_a);
    const auto destination = plan.destination[b];
    builder.number_survivors(layout, plan.survivors[b]);
    for (index_t i = threadIdx.x; i < layout.participants(); i += blockDim.x) {
      index_t j = temp.slot[i];
      if (j < 0) j = layout.mode == merge_mode::merge ? temp.slot[2 * best_b[b * count_a + i / 2] + 1] : -1;
      destination(layout.position(i)) = j;
    }
    if (threadIdx.x == 0 && layout.class_taken_out) {
      const index_t j = layout.class_slot();
      plan.survivors(b, j) = layout.class_position;
      destination(layout.class_position) = j;
    }
    __syncthreads();
    if (threadIdx.x == 0) plan.class_out(b) = layout.class_position >= 0 ? destination(layout.class_position) : -1;
    builder.build_members(destination, layout.tokens_out(), plan.offsets[b], plan.members[b]);
  }
}

// result = second after first; one block of Threads per batch item, a tile of Threads * Items
// holding its T tokens (as merge_plan_kernel).
template <int Threads, int Items>
__global__ void __launch_bounds__(Threads)
    merge_compose_kernel(merge_plan_arrays<const index_t> first, merge_plan_arrays<const index_t> second,
                         merge_plan_arrays<index_t> result) {
  using block_plan = block_merge_plan<float, Threads, Items>;
  __shared__ typename block_plan::TempStorage temp;
  block_plan builder(temp);
  const index_t batch = result.destination.extent(0), tokens = result.destination.extent(1);
  const index_t tokens_out = result.survivors.extent(1);
  for (index_t b = blockIdx.x; b < batch; b += gridDim.x) {
    for (index_t t = threadIdx.x; t < tokens; t += blockDim.x) {
      const index_t middle = first.destination(b, t);
      result.destination(b, t) = middle < 0 ? -1 : second.destination(b, middle);
    }
    for (index_t j = threadIdx.x; j < tokens_out; j += blockDim.x) {
      result.survivors(b, j) = first.survivors(b, second.survivors(b, j));
    }
    if (threadIdx.x == 0) result.class_out(b) = second.class_out(b);
    __syncthreads();
    builder.build_members(result.destination[b], tokens_out, result.offsets[b], result.members[b]);
  }
}

// Calls body(b, j, begin, end) for every output token j of every batch item b handled by this
// block (one block per output token, grid-stride); members[begin, end) of j.
template <class T, class Body>
__device__ void for_each_output_token(const merge_plan_arrays<const index_t>& plan, const strided_view<T, 3>& out,
                                      const Body& body) {
  const index_t tokens_out = out.extent(1);
  const index_t items = out.extent(0) * tokens_out;
  for (index_t item = blockIdx.x; item < items; item += gridDim.x) {
    const index_t b = item / tokens_out, j = item % tokens_out;
    body(b, j, plan.offsets(b, j), plan.offsets(b, j + 1));
  }
}

// merge: out(b, j, :) = reduce of x over the members of j, threads along the channels.
template <class T>
__global__ void merge_gather_kernel(merge_plan_arrays<const index_t> plan, strided_view<const T, 3> x,
                                    strided_view<T, 3> out, merge_reduce reduce) {
  const index_t channels = out.extent(2);
  for_each_output_token(plan, out, [&](index_t b, index_t j, index_t begin, index_t end) {
    for (index_t c = threadIdx.x; c < channels; c += blockDim.x) {
      T kept = x(b, plan.members(b, begin), c);
      for (index_t k = begin + 1; k < end; ++k) {
        const T v = x(b, plan.members(b, k), c);
        switch (reduce) {
          case merge_reduce::sum:
          case merge_reduce::mean: kept += v; break;
          case merge_reduce::amax: kept = (v > kept || v != v) && kept == kept ? v : kept; break;
          default: kept = (v < kept || v != v) && kept == kept ? v : kept; break;
        }
      }
      if (reduce == merge_reduce::mean && end - begin > 1) kept /= static_cast<T>(end - begin);
      out(b, j, c) = kept;
    }
  });
}

// merge_weighted: out(b, j, :) = sum of x * size over the members of j / sum of their sizes,
// size_out(b, j) = that sum of sizes (when given). Each thread sums up to channel_unroll channels
// (blockDim.x apart) in one walk over the members, so their loads of x are in flight together
// (one channel at a time, each member's load waited for the last); every channel's sum, and the
// total, is the same walk over the members (ascending) as before.
template <class T, class Size>
__global__ void __launch_bounds__(merge_tuning::channel_threads, merge_tuning::weighted_min_blocks<T>)
    merge_weighted_kernel(merge_plan_arrays<const index_t> plan, strided_view<const T, 3> x,
                          strided_view<const Size, 2> size, strided_view<T, 3> out, strided_view<Size, 2> size_out) {
  constexpr int unroll = merge_tuning::channel_unroll;
  const index_t channels = out.extent(2);
  for_each_output_token(plan, out, [&](index_t b, index_t j, index_t begin, index_t end) {
    T total = 0;  // the same in every thread and pass
    if (channels == 0) {
      for (index_t k = begin; k < end; ++k) total += static_cast<T>(size(b, plan.members(b, k)));
    }
    for (index_t first = threadIdx.x; first < channels; first += index_t(unroll) * blockDim.x) {
      T sum[unroll] = {};
      total = 0;
      for (index_t k = begin; k < end; ++k) {
        const index_t t = plan.members(b, k);
        const T weight = static_cast<T>(size(b, t));
#pragma unroll
        for (int u = 0; u < unroll; ++u) {
          const index_t c = first + index_t(u) * blockDim.x;
          if (c < channels) sum[u] += x(b, t, c) * weight;
        }
        total += weight;
      }
#pragma unroll
      for (int u = 0; u < unroll; ++u) {
        const index_t c = first + index_t(u) * blockDim.x;
        if (c < channels) out(b, j, c) = sum[u] / total;
      }
    }
    if (threadIdx.x == 0 && size_out.data() != nullptr) size_out(b, j) = static_cast<Size>(total);
  });
}

// See detail::spread_weight. One block per original token (grid-stride).
template <class T>
__global__ void merge_spread_kernel(merge_plan_arrays<const index_t> plan, strided_view<const T, 3> in,
                                    strided_view<T, 3> out, detail::spread_weight weight, strided_view<const T, 3> x,
                                    strided_view<const T, 2> size) {
  using detail::spread_weight;
  const index_t tokens = out.extent(1), channels = out.extent(2);
  const index_t items = out.extent(0) * tokens;
  for (index_t item = blockIdx.x; item < items; item += gridDim.x) {
    const index_t b = item / tokens, t = item % tokens;
    const index_t j = plan.destination(b, t);
    if (j < 0) {
      for (index_t c = threadIdx.x; c < channels; c += blockDim.x) out(b, t, c) = T(0);
      continue;
    }
    const index_t begin = plan.offsets(b, j), end = plan.offsets(b, j + 1);
    T share = 1;
    if (weight == spread_weight::mean) share = T(1) / static_cast<T>(end - begin);
    if (weight == spread_weight::weighted) {
      T total = 0;
      for (index_t k = begin; k < end; ++k) total += size(b, plan.members(b, k));
      share = size(b, t) / total;
    }
    for (index_t c = threadIdx.x; c < channels; c += blockDim.x) {
      const T g = in(b, j, c);
      if (weight == spread_weight::amax || weight == spread_weight::amin) {
        index_t winner = plan.members(b, begin);
        T kept = x(b, winner, c);
        for (index_t k = begin + 1; k < end && kept == kept; ++k) {
          const index_t u = plan.members(b, k);
          const T v = x(b, u, c);
          if (v != v || (weight == spread_weight::amax ? v > kept : v < kept)) {
            winner = u;
            kept = v;
          }
        }
        out(b, t, c) = winner == t ? g : T(0);
      } else if (weight == spread_weight::mean) {
        out(b, t, c) = g / static_cast<T>(end - begin);
      } else {
        out(b, t, c) = weight == spread_weight::one ? g : g * share;
      }
    }
  }
}

template <class T>
__global__ void merge_source_matrix_kernel(merge_plan_arrays<const index_t> plan, strided_view<T, 3> out) {
  const index_t tokens_out = out.extent(1), tokens = out.extent(2);
  const index_t count = out.extent(0) * tokens_out * tokens;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < count; i += index_t(gridDim.x) * blockDim.x) {
    const index_t t = i % tokens, j = (i / tokens) % tokens_out, b = i / (tokens * tokens_out);
    out(b, j, t) = plan.destination(b, t) == j ? T(1) : T(0);
  }
}

}  // namespace rescan::cuda_detail
