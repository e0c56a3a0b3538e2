// Tuning constants of the CUDA token-merging kernels (cuda/merge.cuh). Changing them never changes
// a plan: every similarity is summed over the channels in ascending order whatever the tile sizes
// (tiles past the channels add exact zeros), and a plan's sorts are stable whatever the tile.
#pragma once

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail::merge_tuning {

// Plan building (one block per batch item): every token of a sequence is held in one tile of
// Threads x Items, the smallest of these that holds it (chosen at launch, see with_plan_tile in
// cuda/device/device_merge.cuh). Only one block per batch item runs, so the block's latency is the
// kernel's time, and that is mostly its radix sorts' passes over the whole tile: a 256-token tile
// for ViT's and Vim's 197 tokens instead of a 2048-token one.
inline constexpr int plan_small_threads = 128;  // up to 256 tokens
inline constexpr int plan_small_items = 2;
inline constexpr int plan_medium_threads = 128;  // up to 512 tokens
inline constexpr int plan_medium_items = 4;
inline constexpr int plan_threads = 256;  // up to max_tokens
inline constexpr int plan_items = 8;
inline constexpr index_t max_tokens = index_t(plan_threads) * plan_items;  // 2048

// Similarity: a block scores one tile of tile_rows A tokens against one tile of tile_cols B tokens
// (one batch item, all channels, tile_depth channels at a time from shared memory). Each thread
// holds a thread_rows x thread_cols block of scores, so a depth step costs it two shared-memory
// loads (its A rows, its B columns) for 16 multiply-adds; warp w holds A rows 16 w .. 16 w + 15 of
// the tile against all tile_cols B columns, so a warp whose A rows all lie past set A skips the
// products (the last A tile of 99 A tokens: 3 rows). Loading a depth tile, each warp reads
// 32 / load_depth_step tokens x load_depth_step consecutive channels per instruction (32 bytes of
// floats per token), which also keeps the transposed shared-memory stores free of bank conflicts.
// score_min_blocks: blocks per multiprocessor the kernel's registers are budgeted for (8 blocks of
// 64 threads: at most 128 registers a thread; 1024 tile pairs, Vim-S's, then fit in one wave).
inline constexpr int tile_rows = 32;
inline constexpr int tile_cols = 32;
inline constexpr int tile_depth = 32;
inline constexpr int thread_rows = 4;
inline constexpr int thread_cols = 4;
inline constexpr int score_threads = (tile_rows / thread_rows) * (tile_cols / thread_cols);  // 64
inline constexpr int load_depth_step = 8;
inline constexpr int score_min_blocks = 8;

// Gathers and scatters: one block per output (or original) token, threads along the channels;
// merge_weighted_kernel has each thread sum up to channel_unroll channels (channel_threads apart)
// in one walk over the members, so that many loads of x are in flight at once instead of one.
inline constexpr int channel_threads = 128;
inline constexpr int channel_unroll = 4;
// merge_weighted's register budget: 12 blocks of 128 threads a multiprocessor (at most 40 registers)
// for float sums; double values take two registers each, and 8 blocks (64 registers) keep them
// from spilling.
template <class T>
inline constexpr int weighted_min_blocks = sizeof(T) <= 4 ? 12 : 8;

}  // namespace rescan::cuda_detail::merge_tuning
