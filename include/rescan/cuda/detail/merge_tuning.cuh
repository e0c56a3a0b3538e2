// Tuning constants of the CUDA token-merging kernels (cuda/merge.cuh). Changing them never changes
// a plan: every similarity is summed over the channels in ascending order whatever the tile sizes
// (tiles past the channels add exact zeros).
#pragma once

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail::merge_tuning {

// Plan building (one block per batch item): every token of a sequence is held in one tile.
inline constexpr int plan_threads = 256;
inline constexpr int plan_items = 8;
inline constexpr index_t max_tokens = index_t(plan_threads) * plan_items;  // 2048

// Similarity: a block scores one tile of tile_rows A tokens against one tile of tile_cols B tokens
// (one batch item, all channels, tile_depth channels at a time from shared memory); warp w holds A
// rows rows_per_thread * w .. rows_per_thread * w + rows_per_thread - 1 of the tile and lane l the B
// column l, so score_threads = tile_cols * (tile_rows / rows_per_thread). Loading a depth tile, each
// warp reads 32 / load_depth_step tokens x load_depth_step consecutive channels per instruction
// (32 bytes of floats per token), which also keeps the transposed shared-memory stores free of bank
// conflicts. score_min_blocks: blocks per multiprocessor the kernel's registers are budgeted for
// (4 blocks of 256 threads: at most 64 registers a thread).
inline constexpr int tile_rows = 32;
inline constexpr int tile_cols = 32;
inline constexpr int tile_depth = 32;
inline constexpr int rows_per_thread = 4;
inline constexpr int score_threads = tile_cols * (tile_rows / rows_per_thread);  // 256
inline constexpr int load_depth_step = 8;
inline constexpr int score_min_blocks = 4;

// Gathers and scatters: one block per output (or original) token, threads along the channels.
inline constexpr int channel_threads = 128;

}  // namespace rescan::cuda_detail::merge_tuning
