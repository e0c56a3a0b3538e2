// Tuning constants of the CUDA token-merging kernels (cuda/merge.cuh). Changing them never changes
// a plan; the similarity tiles change how the dot products are associated (last bits only).
#pragma once

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail::merge_tuning {

// Plan building (one block per batch item): every token of a sequence is held in one tile.
inline constexpr int plan_threads = 256;
inline constexpr int plan_items = 8;
inline constexpr index_t max_tokens = index_t(plan_threads) * plan_items;  // 2048

// Similarity: a block scores tile_rows A tokens against every B token, tile_cols B tokens and
// tile_depth channels at a time from shared memory; score_threads = tile_cols * (tile_rows / rows_per_thread).
inline constexpr int tile_rows = 32;
inline constexpr int tile_cols = 32;
inline constexpr int tile_depth = 32;
inline constexpr int rows_per_thread = 4;
inline constexpr int score_threads = tile_cols * (tile_rows / rows_per_thread);  // 256

// Gathers and scatters: one block per output (or original) token, threads along the channels.
inline constexpr int channel_threads = 128;

}  // namespace rescan::cuda_detail::merge_tuning
