// Kernels of the scans: one block per row (block_row_scan), rows looped over when there are more
// rows than blocks; and the one-thread-per-row kernel that materializes each row's prefix for the
// device-wide path.
#pragma once

#include "rescan/core/config.hpp"
#include "rescan/cuda/block/block_row_scan.cuh"

namespace rescan::cuda_detail {

template <class Problem, int Threads, int Items>
__global__ void __launch_bounds__(Threads) row_scan_kernel(Problem problem, index_t rows, index_t length) {
  using block_scan = block_row_scan<Problem, Threads, Items>;
  __shared__ typename block_scan::TempStorage temp;
  block_scan scan(temp);
  for (index_t row = blockIdx.x; row < rows; row += gridDim.x) scan.scan_row(problem, row, length);
}

// prefixes[row] = the element entering row `row` (exclusive scans always have one).
template <class Problem>
__global__ void row_prefix_kernel(Problem problem, typename Problem::element_type* prefixes, index_t rows) {
  for (index_t row = blockIdx.x * index_t(blockDim.x) + threadIdx.x; row < rows; row += index_t(gridDim.x) * blockDim.x) {
    prefixes[row] = problem.prefix_element(row);
  }
}

}  // namespace rescan::cuda_detail
