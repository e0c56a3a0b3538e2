// Kernels of token merging (cuda/merge.cuh):
//   merge_inverse_norms_kernel  one warp per token: 1 / ||metric row|| (0 for a zero row)
//   merge_scores_kernel         a block per (32 A tokens, 32 B tokens, batch item): a similarity
//                               tile over all channels in shared memory, the best B of the tile per
//                               A token (lowest index on ties)
//   merge_plan_kernel           a block per batch item: the best B per A token over the B tiles,
//                               then sources, survivors, destinations, members
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

// rows_per_thread consecutive A rows of a score tile at one depth: one (or, for double, two) 16-byte
// shared-memory loads instead of rows_per_thread.
template <class S>
struct alignas(16) a_row_group {
  S value[merge_tuning::rows_per_thread];
};

// The best B of each A token within each B tile: tile_best_score, tile_best_at: (batch, count_a,
// b_tiles), b_tiles = score_tiles_of_b(layout); (-inf, INT_MAX) where the tile holds no allowed
// destination. A block scores one (A tile, B tile) pair of one batch item over all channels; the
// pairs, batch * a_tiles * b_tiles of them, are spread over the grid (grid-stride, so any batch
// fits). score_threads threads: warp w holds A rows rows_per_thread * w + i (i < rows_per_thread)
// of the tile and lane l its B column l. Shared tiles are stored transposed, tile[k][row] (row
// stride padded by 16 bytes), so a thread reads its A rows at depth k in one go. While a depth
// tile is multiplied, the next one is already being fetched into registers. Each score is the
// same sum as a single walk over the channels: k ascending, tiles in ascending depth.
template <class M, class S, similarity Kind>
__global__ void __launch_bounds__(merge_tuning::score_threads, merge_tuning::score_min_blocks)
    merge_scores_kernel(strided_view<const M, 3> metric, const S* inverse_norms, detail::matching_layout layout,
                        S* tile_best_score, int* tile_best_at) {
  using namespace merge_tuning;
  constexpr int warps = score_threads / 32;
  constexpr int load_rows_per_warp = 32 / load_depth_step;     // tokens one warp's load instruction covers
  constexpr int loads_per_thread = tile_depth / load_depth_step;  // channels of its token a thread loads per tile
  constexpr int row_stride = tile_rows + static_cast<int>(16 / sizeof(S));
  static_assert(tile_cols == 32, "merge_scores_kernel: one lane per B column");
  static_assert(tile_rows == tile_cols, "merge_scores_kernel: both tiles share one layout and one loader");
  static_assert(tile_rows == warps * rows_per_thread, "merge_scores_kernel: the warps hold the A rows of a tile");
  static_assert(tile_rows == warps * load_rows_per_warp && tile_depth % load_depth_step == 0,
                "merge_scores_kernel: each thread loads one token of each tile");
  static_assert(rows_per_thread * sizeof(S) % 16 == 0 && row_stride * sizeof(S) % 16 == 0,
                "merge_scores_kernel: a thread's A rows are whole 16-byte words");
  __shared__ alignas(16) S a_tile[tile_depth][row_stride];
  __shared__ alignas(16) S b_tile[tile_depth][row_stride];
  const index_t batch = metric.extent(0), tokens = metric.extent(1), channels = metric.extent(2);
  const index_t count_a = layout.count_a(), count_b = layout.count_b();
  const index_t a_tiles = score_tiles_of_a(layout), b_tiles = score_tiles_of_b(layout);
  const int thread = static_cast<int>(threadIdx.x);
  const int warp = thread / 32, lane = thread % 32;
  // This thread's share of every tile load: row load_row (one token) at channels load_k + s * load_depth_step.
  const int load_row = warp * load_rows_per_warp + lane / load_depth_step;
  const int load_k = lane % load_depth_step;
  const S minus_infinity = -::cuda::std::numeric_limits<S>::infinity();
  for (index_t pair = blockIdx.x; pair < batch * a_tiles * b_tiles; pair += gridDim.x) {
    const index_t b = pair / (a_tiles * b_tiles);
    const index_t b_tile_index = pair % b_tiles;
    const index_t first_a = (pair / b_tiles % a_tiles) * tile_rows, first_b = b_tile_index * tile_cols;
    const S* inverse = inverse_norms + b * tokens;
    const bool a_loads = first_a + load_row < count_a, b_loads = first_b + load_row < count_b;
    const index_t a_token = a_loads ? layout.position_of_a(first_a + load_row) : 0;
    const index_t b_token = b_loads ? layout.position_of_b(first_b + load_row) : 0;
    const S a_inverse = a_loads ? inverse[a_token] : S(0);
    const S b_inverse = b_loads ? inverse[b_token] : S(0);
    // Raw metric values of this thread's share of the next depth tile (normalized when stored).
    M a_next[loads_per_thread] = {}, b_next[loads_per_thread] = {};
    const auto fetch = [&](index_t depth) {
#pragma unroll
      for (int s = 0; s < loads_per_thread; ++s) {
        const index_t c = depth + load_k + s * load_depth_step;
        if (a_loads && c < channels) a_next[s] = metric(b, a_token, c);
        if (b_loads && c < channels) b_next[s] = metric(b, b_token, c);
      }
    };
    // tile[k][row] = normalized metric of the row's token at channel depth + k; zeros past the set or the channels.
    const auto store = [&](index_t depth) {
#pragma unroll
      for (int s = 0; s < loads_per_thread; ++s) {
        const int k = load_k + s * load_depth_step;
        const bool inside = depth + k < channels;
        a_tile[k][load_row] = a_loads && inside ? static_cast<S>(a_next[s]) * a_inverse : S(0);
        b_tile[k][load_row] = b_loads && inside ? static_cast<S>(b_next[s]) * b_inverse : S(0);
      }
    };
    S score[rows_per_thread] = {};
    fetch(0);
    for (index_t depth = 0; depth < channels; depth += tile_depth) {
      store(depth);
      __syncthreads();
      if (depth + tile_depth < channels) fetch(depth + tile_depth);  // in flight during the products below
#pragma unroll
      for (int k = 0; k < tile_depth; ++k) {
        const a_row_group<S> x = *reinterpret_cast<const a_row_group<S>*>(&a_tile[k][rows_per_thread * warp]);
        const S y = b_tile[k][lane];
#pragma unroll
        for (int i = 0; i < rows_per_thread; ++i) {
          if constexpr (Kind == similarity::cosine) {
            score[i] += x.value[i] * y;
          } else if constexpr (Kind == similarity::negative_l1) {
            score[i] += x.value[i] > y ? x.value[i] - y : y - x.value[i];
          } else {
            score[i] += (x.value[i] - y) * (x.value[i] - y);
          }
        }
      }
      __syncthreads();
    }
    const index_t j = first_b + lane;
    const bool allowed = j < count_b && !layout.destination_protected(j);
#pragma unroll
    for (int i = 0; i < rows_per_thread; ++i) {
      S value = score[i];
      if constexpr (Kind == similarity::negative_l1) value = -value;
      if constexpr (Kind == similarity::negative_l2) value = -square_root(value);
      if (value != value) value = minus_infinity;  // a NaN score never wins
      S candidate = allowed ? value : minus_infinity;
      int candidate_at = allowed ? static_cast<int>(j) : INT_MAX;
      for (int offset = 16; offset > 0; offset /= 2) {
        const S other = __shfl_xor_sync(0xffffffffu, candidate, offset);
        const int other_at = __shfl_xor_sync(0xffffffffu, candidate_at, offset);
        keep_better(candidate, candidate_at, other, other_at);
      }
      const index_t a = first_a + rows_per_thread * warp + i;
      if (lane == 0 && a < count_a) {
        const index_t at = (b * count_a + a) * b_tiles + b_tile_index;
        tile_best_score[at] = candidate;
        tile_best_at[at] = candidate_at;
      }
    }
  }
}

// One block per batch item (plan_threads threads). First node_max, best_b: (batch, count_a), the
// best of the per-B-tile bests of merge_scores_kernel (tile_best_score, tile_best_at: (batch,
// count_a, b_tiles)) under keep_better, tiles in ascending order: (-inf, INT_MAX) with no tile.
template <class S>
__global__ void __launch_bounds__(merge_tuning::plan_threads)
    merge_plan_kernel(detail::matching_layout layout, const S* tile_best_score, const int* tile_best_at,
                      index_t b_tiles, S* node_max, int* best_b, merge_plan_arrays<index_t> plan) {
  using block_plan = block_merge_plan<S, merge_tuning::plan_threads, merge_tuning::plan_items>;
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

// result = second after first; one block per batch item (Threads = merge_tuning::plan_threads). A
// template, so that every translation unit may include it (like every kernel here).
template <int Threads>
__global__ void __launch_bounds__(Threads)
    merge_compose_kernel(merge_plan_arrays<const index_t> first, merge_plan_arrays<const index_t> second,
                         merge_plan_arrays<index_t> result) {
  using block_plan = block_merge_plan<float, Threads, merge_tuning::plan_items>;
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

template <class T, class Size>
__global__ void merge_weighted_kernel(merge_plan_arrays<const index_t> plan, strided_view<const T, 3> x,
                                      strided_view<const Size, 2> size, strided_view<T, 3> out,
                                      strided_view<Size, 2> size_out) {
  const index_t channels = out.extent(2);
  for_each_output_token(plan, out, [&](index_t b, index_t j, index_t begin, index_t end) {
    for (index_t c = threadIdx.x; c < channels; c += blockDim.x) {
      T sum = 0, total = 0;
      for (index_t k = begin; k < end; ++k) {
        const index_t t = plan.members(b, k);
        const T weight = static_cast<T>(size(b, t));
        sum += x(b, t, c) * weight;
        total += weight;
      }
      out(b, j, c) = sum / total;
    }
    if (threadIdx.x == 0 && size_out.data() != nullptr) {
      T total = 0;
      for (index_t k = begin; k < end; ++k) total += static_cast<T>(size(b, plan.members(b, k)));
      size_out(b, j) = static_cast<Size>(total);
    }
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
