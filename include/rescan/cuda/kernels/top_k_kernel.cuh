// Kernels of top_k: the block sort of short rows, and the key preparation / result gather around
// cub::DeviceSegmentedSort for long rows.
#pragma once

#include "rescan/core/config.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/block/block_row_top_k.cuh"
#include "rescan/cuda/detail/elements.cuh"

namespace rescan::cuda_detail {

template <class T, int Threads, int Items>
__global__ void __launch_bounds__(Threads)
    block_top_k_kernel(strided_view<const T, 2> in, strided_view<T, 2> values, strided_view<index_t, 2> indices) {
  using block_select = block_row_top_k<T, Threads, Items>;
  __shared__ typename block_select::TempStorage temp;
  block_select select(temp);
  const index_t rows = in.extent(0);
  for (index_t row = blockIdx.x; row < rows; row += gridDim.x) select.select(in, values, indices, row);
}

// For rows [first_row, first_row + batch_rows): keys[r * L + t] = descending key of in(first_row + r, t),
// positions[r * L + t] = t.
template <class T, class Key>
__global__ void top_k_keys_kernel(strided_view<const T, 2> in, index_t first_row, index_t batch_rows, Key* keys,
                                  int* positions) {
  const index_t length = in.extent(1);
  const index_t count = batch_rows * length;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < count; i += index_t(gridDim.x) * blockDim.x) {
    const index_t r = i / length, t = i % length;
    keys[i] = descending_key<T>::of(in(first_row + r, t));
    positions[i] = static_cast<int>(t);
  }
}

// The first k sorted positions of each row of the batch -> indices, and the values they point at.
template <class T>
__global__ void top_k_gather_kernel(strided_view<const T, 2> in, strided_view<T, 2> values,
                                    strided_view<index_t, 2> indices, index_t first_row, index_t batch_rows,
                                    const int* sorted_positions) {
  const index_t length = in.extent(1), k = values.extent(1);
  const index_t count = batch_rows * k;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < count; i += index_t(gridDim.x) * blockDim.x) {
    const index_t r = i / k, j = i % k;
    const index_t row = first_row + r;
    const index_t position = sorted_positions[r * length + j];
    indices(row, j) = position;
    values(row, j) = in(row, position);
  }
}

}  // namespace rescan::cuda_detail
