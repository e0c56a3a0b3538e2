// Device-wide level of token merging: launches of cuda/kernels/merge_kernel.cuh on a stream.
//   device_match: caller-owned temporary storage (temp == nullptr asks for temp_bytes): inverse
//     norms (batch * T), the best B of every B tile (score and index, batch * count_a * b_tiles
//     each), node_max and best B (batch * count_a each); then three kernels: inverse norms, scores
//     (a block per (A tile, B tile, batch item), grid-stride), plan (a block per batch item,
//     grid-stride, of the plan tile with_plan_tile picks for T; it first reduces the B tiles).
//     Any batch size: no grid axis is sized by it.
//   run_match allocates that storage (stream-ordered).
//   with_plan_tile: the plan tile (threads, items a thread) for a sequence of T tokens.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "rescan/core/error.hpp"
#include "rescan/cuda/detail/error.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/memory.cuh"
#include "rescan/cuda/detail/merge_tuning.cuh"
#include "rescan/cuda/detail/tuning.cuh"
#include "rescan/cuda/kernels/merge_kernel.cuh"

namespace rescan::cuda_detail {

inline void check_merge_tokens(const char* function, const char* name, index_t tokens) {
  if (tokens > merge_tuning::max_tokens) {
    detail::raise<value_error>(function, ": ", name, " = ", tokens, " but rescan::cuda merges sequences of at most ",
                               merge_tuning::max_tokens, " tokens");
  }
}

// Calls launch(threads, items) (std::integral_constant<int, ...> each) with the smallest plan tile
// of merge_tuning holding `tokens` tokens (at most max_tokens). The tile only sets how long the
// plan's sorts take, never what they give (they are stable).
template <class Launch>
void with_plan_tile(index_t tokens, const Launch& launch) {
  using namespace merge_tuning;
  if (tokens <= index_t(plan_small_threads) * plan_small_items) {
    launch(std::integral_constant<int, plan_small_threads>{}, std::integral_constant<int, plan_small_items>{});
  } else if (tokens <= index_t(plan_medium_threads) * plan_medium_items) {
    launch(std::integral_constant<int, plan_medium_threads>{}, std::integral_constant<int, plan_medium_items>{});
  } else {
    launch(std::integral_constant<int, plan_threads>{}, std::integral_constant<int, plan_items>{});
  }
}

template <class M, class S>
void device_match(void* temp, std::size_t& temp_bytes, const strided_view<const M, 3>& metric,
                  const detail::matching_layout& layout, similarity kind, const merge_plan_arrays<index_t>& plan,
                  cudaStream_t stream, const char* function) {
  const index_t batch = metric.extent(0), tokens = metric.extent(1), count_a = layout.count_a();
  const index_t a_tiles = score_tiles_of_a(layout), b_tiles = score_tiles_of_b(layout);
  const index_t a_entries = batch * std::max<index_t>(count_a, 1);
  const index_t tile_entries = a_entries * std::max<index_t>(b_tiles, 1);
  const std::size_t norm_bytes = align_up(static_cast<std::size_t>(batch * tokens) * sizeof(S));
  const std::size_t tile_score_bytes = align_up(static_cast<std::size_t>(tile_entries) * sizeof(S));
  const std::size_t tile_at_bytes = align_up(static_cast<std::size_t>(tile_entries) * sizeof(int));
  const std::size_t max_bytes = align_up(static_cast<std::size_t>(a_entries) * sizeof(S));
  const std::size_t best_bytes = align_up(static_cast<std::size_t>(a_entries) * sizeof(int));
  if (temp == nullptr) {
    temp_bytes = norm_bytes + tile_score_bytes + tile_at_bytes + max_bytes + best_bytes;
    return;
  }
  char* cursor = static_cast<char*>(temp);
  S* inverse_norms = reinterpret_cast<S*>(cursor);
  cursor += norm_bytes;
  S* tile_best_score = reinterpret_cast<S*>(cursor);
  cursor += tile_score_bytes;
  int* tile_best_at = reinterpret_cast<int*>(cursor);
  cursor += tile_at_bytes;
  S* node_max = reinterpret_cast<S*>(cursor);
  cursor += max_bytes;
  int* best_b = reinterpret_cast<int*>(cursor);
  constexpr int threads = tuning::elementwise_threads;
  merge_inverse_norms_kernel<M, S><<<grid_for_elements(batch * tokens * 32, threads), threads, 0, stream>>>(
      metric, inverse_norms);
  check_launch(function, "merge_inverse_norms_kernel");
  if (a_tiles > 0 && b_tiles > 0) {
    const unsigned int grid = grid_for_items(batch * a_tiles * b_tiles);
    constexpr int score_threads = merge_tuning::score_threads;
    const auto launch = [&](auto kind_constant, auto unit_stride) {
      merge_scores_kernel<M, S, decltype(kind_constant)::value, decltype(unit_stride)::value>
          <<<grid, score_threads, 0, stream>>>(metric, inverse_norms, layout, tile_best_score, tile_best_at);
    };
    const auto launch_kind = [&](auto kind_constant) {
      if (metric.stride(2) == 1) {
        launch(kind_constant, std::true_type{});
      } else {
        launch(kind_constant, std::false_type{});
      }
    };
    switch (kind) {
      case similarity::cosine: launch_kind(std::integral_constant<similarity, similarity::cosine>{}); break;
      case similarity::negative_l1: launch_kind(std::integral_constant<similarity, similarity::negative_l1>{}); break;
      default: launch_kind(std::integral_constant<similarity, similarity::negative_l2>{}); break;
    }
    check_launch(function, "merge_scores_kernel");
  }
  // With no A token or no B tile the plan kernel reads no tile best (they were not written).
  with_plan_tile(tokens, [&](auto threads, auto items) {
    merge_plan_kernel<S, decltype(threads)::value, decltype(items)::value>
        <<<grid_for_items(batch), decltype(threads)::value, 0, stream>>>(layout, tile_best_score, tile_best_at,
                                                                         b_tiles, node_max, best_b, plan);
  });
  check_launch(function, "merge_plan_kernel");
}

template <class M, class S>
void run_match(const strided_view<const M, 3>& metric, const detail::matching_layout& layout, similarity kind,
               const merge_plan_arrays<index_t>& plan, cudaStream_t stream, const char* function) {
  check_merge_tokens(function, "metric.extent(1)", metric.extent(1));
  std::size_t bytes = 0;
  device_match<M, S>(nullptr, bytes, metric, layout, kind, plan, stream, function);
  device_scratch scratch(bytes, stream, function);
  device_match<M, S>(scratch.data(), bytes, metric, layout, kind, plan, stream, function);
}

}  // namespace rescan::cuda_detail
