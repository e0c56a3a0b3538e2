// Every tuning constant of the CUDA backend, in one place. Changing one never changes results
// except where noted (floating-point sums are associated differently when tiles change size).
#pragma once

#include <cstddef>

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail::tuning {

constexpr int clamp_items(std::size_t wanted) { return wanted < 1 ? 1 : (wanted > 8 ? 8 : static_cast<int>(wanted)); }

// ---- scans (block path: one block per row, tiles of scan_threads * scan_items<E> elements) ----
inline constexpr int scan_threads = 128;
// Items per thread for an element of type E: about 32 bytes of registers per thread and tile.
template <class E>
inline constexpr int scan_items = clamp_items(32 / sizeof(E));

// Device path (cub::DeviceScan, one device-wide scan per row, launched one row after the other)
// when a call has at most device_scan_max_rows rows and L >= device_scan_length_per_row * rows;
// otherwise the block path. Rationale (estimates, to be calibrated with bench/cuda/bench_scan.cu):
// the block path walks a row's tiles one after the other in one block, about a microsecond or two
// per tile whatever the number of rows (rows run side by side), while the device path costs a few
// microseconds of launches per row plus L at memory bandwidth.
inline constexpr index_t device_scan_max_rows = 64;
inline constexpr index_t device_scan_length_per_row = 4096;

// ---- reductions (one block per chunk of a row; long rows split into chunks, partials folded in order) ----
inline constexpr int reduce_threads = 256;
template <class V>
inline constexpr int reduce_items = clamp_items(32 / sizeof(V));
// Rows are split into chunks until about this many blocks are in flight ...
inline constexpr index_t reduce_target_blocks = 2048;
// ... but a chunk is never shorter than this many tiles.
inline constexpr index_t reduce_min_chunk_tiles = 4;

// ---- element-wise kernels (softmax write, fills, sort-key preparation, gathers) ----
inline constexpr int elementwise_threads = 256;

// ---- top_k ----
inline constexpr int top_k_threads = 128;
inline constexpr int top_k_small_items = 4;    // block sort of rows up to 512 elements
inline constexpr int top_k_large_items = 16;   // block sort of rows up to 2048 elements
// Longer rows: cub::DeviceSegmentedSort over batches of rows holding at most this many elements.
// (RESCAN_CUDA_TOP_K_BATCH_ELEMENTS and RESCAN_CUDA_MAX_GRID_BLOCKS below lower these limits for a
// build of the GPU tests that reaches what lies past them with small inputs: the sanitizers, which
// slow kernels down 10-100x, run that build; test/CMakeLists.txt.)
#ifndef RESCAN_CUDA_TOP_K_BATCH_ELEMENTS
#define RESCAN_CUDA_TOP_K_BATCH_ELEMENTS (index_t(1) << 25)
#endif
inline constexpr index_t top_k_batch_elements = RESCAN_CUDA_TOP_K_BATCH_ELEMENTS;

// Grids never exceed this many blocks; kernels loop over the remaining work (grid-stride).
#ifndef RESCAN_CUDA_MAX_GRID_BLOCKS
#define RESCAN_CUDA_MAX_GRID_BLOCKS (index_t(1) << 20)
#endif
inline constexpr index_t max_grid_blocks = RESCAN_CUDA_MAX_GRID_BLOCKS;

}  // namespace rescan::cuda_detail::tuning
