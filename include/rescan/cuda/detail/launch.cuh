// Launch geometry helpers: how many blocks for a count of independent work items.
#pragma once

#include <algorithm>

#include "rescan/core/config.hpp"
#include "rescan/cuda/detail/tuning.cuh"

namespace rescan::cuda_detail {

inline constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Blocks for `work_items` items handled one per block (kernels loop when the grid is capped).
inline unsigned int grid_for_items(index_t work_items) {
  return static_cast<unsigned int>(std::max<index_t>(1, std::min(work_items, tuning::max_grid_blocks)));
}

// Blocks of `threads` threads for `elements` elements handled one per thread (grid-stride loop).
inline unsigned int grid_for_elements(index_t elements, int threads) {
  return grid_for_items(ceil_div(elements, threads));
}

// Bytes rounded up so the next piece of a shared scratch allocation stays aligned.
inline constexpr std::size_t align_up(std::size_t bytes, std::size_t alignment = 256) {
  return (bytes + alignment - 1) / alignment * alignment;
}

}  // namespace rescan::cuda_detail
