// Kernels of the reductions: the chunked row fold (one block per (row, chunk) work item) and the
// element-wise kernels around it (fills for empty rows, the softmax write).
#pragma once

#include "rescan/core/config.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/block/block_row_reduce.cuh"
#include "rescan/cuda/detail/elements.cuh"

namespace rescan::cuda_detail {

// Work item w = (row, chunk) = (w / chunks, w % chunks) folds positions
// [chunk * chunk_length, min(length, (chunk + 1) * chunk_length)) of the row, and thread 0 hands the
// result to sink(row, chunk, value). Every chunk is non-empty (the host plans it so).
template <class V, int Threads, int Items, class Source, class Op, class Sink>
__global__ void __launch_bounds__(Threads)
    chunked_row_reduce_kernel(Source source, Op op, Sink sink, index_t rows, index_t length, index_t chunks,
                              index_t chunk_length) {
  using block_reduce = block_row_reduce<V, Threads, Items>;
  __shared__ typename block_reduce::TempStorage temp;
  block_reduce reduce(temp);
  const index_t work_items = rows * chunks;
  for (index_t w = blockIdx.x; w < work_items; w += gridDim.x) {
    const index_t row = w / chunks, chunk = w % chunks;
    const index_t begin = chunk * chunk_length;
    const index_t end = (begin + chunk_length < length) ? begin + chunk_length : length;
    const V value = reduce.fold(source, op, row, begin, end);
    if (threadIdx.x == 0) sink(row, chunk, value);
  }
}

// out(row) = value for every row.
template <class T>
__global__ void fill_rows_kernel(strided_view<T, 1> out, T value) {
  const index_t rows = out.extent(0);
  for (index_t row = blockIdx.x * index_t(blockDim.x) + threadIdx.x; row < rows; row += index_t(gridDim.x) * blockDim.x) {
    out(row) = value;
  }
}

// out(row, t) = exp(in(row, t) - maxima[row]) * (1 / sums[row]), as the CPU backend computes it.
// out may be in: each element is read, then written, by the same thread.
template <class T>
__global__ void softmax_write_kernel(strided_view<const T, 2> in, strided_view<T, 2> out, const T* maxima,
                                     const T* sums) {
  const index_t rows = in.extent(0), length = in.extent(1);
  const index_t count = rows * length;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < count; i += index_t(gridDim.x) * blockDim.x) {
    const index_t row = i / length, t = i % length;
    const T scale = T(1) / sums[row];
    out(row, t) = exp_of(in(row, t) - maxima[row]) * scale;
  }
}

}  // namespace rescan::cuda_detail
