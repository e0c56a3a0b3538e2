// Device-wide level of top_k.
//   L <= tuning::top_k_threads * tuning::top_k_large_items: block_top_k_kernel, one block per row,
//     cub::BlockRadixSort (stable) of (descending key, position).
//   longer rows: batches of rows; per batch, a kernel writes (descending key, position) pairs,
//     cub::DeviceSegmentedSort::StableSortPairs sorts each row (segment) by key keeping positions
//     in order on ties, and a gather kernel writes the first k of each row.
// The key order (cuda/detail/elements.cuh) puts NaN first, then larger values, with -0.0 == +0.0;
// stability turns ties into "lower index first", matching the CPU backend.
//
// Caller-owned temporary storage for the long-row path (temp == nullptr asks for temp_bytes);
// run_top_k() allocates it.
#pragma once

#include <cub/device/device_segmented_sort.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <algorithm>
#include <climits>
#include <cstddef>

#include "rescan/core/config.hpp"
#include "rescan/core/error.hpp"
#include "rescan/cuda/detail/elements.cuh"
#include "rescan/cuda/detail/error.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/memory.cuh"
#include "rescan/cuda/detail/tuning.cuh"
#include "rescan/cuda/kernels/top_k_kernel.cuh"

namespace rescan::cuda_detail {

// Segment r of a batch is [r * L, (r + 1) * L) of the batch's key array.
struct row_begin_offset {
  index_t length;
  RESCAN_HOST_DEVICE index_t operator()(index_t r) const { return r * length; }
};
using row_offset_iterator = thrust::transform_iterator<row_begin_offset, thrust::counting_iterator<index_t>, index_t, index_t>;

inline constexpr index_t top_k_block_max_length = index_t(tuning::top_k_threads) * tuning::top_k_large_items;

inline index_t top_k_batch_rows(index_t rows, index_t length) {
  return std::max<index_t>(1, std::min(rows, tuning::top_k_batch_elements / length));
}

// Scratch layout of one batch: keys in, keys out, positions in, positions out, cub's storage.
template <class T>
struct top_k_scratch_layout {
  using key_type = typename descending_key<T>::type;
  std::size_t elements = 0, key_bytes = 0, position_bytes = 0, cub_bytes = 0;

  std::size_t total() const { return 2 * key_bytes + 2 * position_bytes + cub_bytes; }
};

template <class T>
void device_segmented_top_k(void* temp, std::size_t& temp_bytes, const strided_view<const T, 2>& in,
                            const strided_view<T, 2>& values, const strided_view<index_t, 2>& indices,
                            cudaStream_t stream, const char* function) {
  using key_type = typename descending_key<T>::type;
  const index_t rows = in.extent(0), length = in.extent(1);
  if (length > INT_MAX) {
    detail::raise<value_error>(function, ": in.extent(1) = ", length,
                               " but rescan::cuda sorts rows of at most 2147483647 elements");
  }
  const index_t batch = top_k_batch_rows(rows, length);
  top_k_scratch_layout<T> layout;
  layout.elements = static_cast<std::size_t>(batch * length);
  layout.key_bytes = align_up(layout.elements * sizeof(key_type));
  layout.position_bytes = align_up(layout.elements * sizeof(int));
  const row_offset_iterator begins(thrust::counting_iterator<index_t>(0), row_begin_offset{length});
  const row_offset_iterator ends(thrust::counting_iterator<index_t>(1), row_begin_offset{length});
  // cub's storage for a full batch and for the last, shorter one (the larger of the two is kept).
  for (const index_t batch_rows : {batch, rows % batch}) {
    if (batch_rows == 0) continue;
    std::size_t bytes = 0;
    check_status(cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes, static_cast<const key_type*>(nullptr),
                                                           static_cast<key_type*>(nullptr), static_cast<const int*>(nullptr),
                                                           static_cast<int*>(nullptr), batch_rows * length, batch_rows,
                                                           begins, ends, stream),
                 function, "cub::DeviceSegmentedSort::StableSortPairs (temporary storage size)");
    layout.cub_bytes = std::max(layout.cub_bytes, bytes);
  }
  if (temp == nullptr) {
    temp_bytes = layout.total();
    return;
  }
  char* cursor = static_cast<char*>(temp);
  auto* keys_in = reinterpret_cast<key_type*>(cursor);
  auto* keys_out = reinterpret_cast<key_type*>(cursor + layout.key_bytes);
  auto* positions_in = reinterpret_cast<int*>(cursor + 2 * layout.key_bytes);
  auto* positions_out = reinterpret_cast<int*>(cursor + 2 * layout.key_bytes + layout.position_bytes);
  void* cub_temp = cursor + 2 * layout.key_bytes + 2 * layout.position_bytes;
  constexpr int threads = tuning::elementwise_threads;
  for (index_t first_row = 0; first_row < rows; first_row += batch) {
    const index_t batch_rows = std::min(batch, rows - first_row);
    top_k_keys_kernel<<<grid_for_elements(batch_rows * length, threads), threads, 0, stream>>>(in, first_row, batch_rows,
                                                                                             keys_in, positions_in);
    check_launch(function, "top_k_keys_kernel");
    std::size_t cub_bytes = layout.cub_bytes;
    check_status(cub::DeviceSegmentedSort::StableSortPairs(cub_temp, cub_bytes, keys_in, keys_out, positions_in,
                                                           positions_out, batch_rows * length, batch_rows, begins, ends,
                                                           stream),
                 function, "cub::DeviceSegmentedSort::StableSortPairs");
    top_k_gather_kernel<<<grid_for_elements(batch_rows * values.extent(1), threads), threads, 0, stream>>>(
        in, values, indices, first_row, batch_rows, positions_out);
    check_launch(function, "top_k_gather_kernel");
  }
}

template <class T, int Items>
void block_top_k_launch(const strided_view<const T, 2>& in, const strided_view<T, 2>& values,
                        const strided_view<index_t, 2>& indices, cudaStream_t stream, const char* function) {
  constexpr int threads = tuning::top_k_threads;
  block_top_k_kernel<T, threads, Items><<<grid_for_items(in.extent(0)), threads, 0, stream>>>(in, values, indices);
  check_launch(function, "block_top_k_kernel");
}

// Convenience level: picks the path, allocates the long-row path's scratch.
template <class T>
void run_top_k(const strided_view<const T, 2>& in, const strided_view<T, 2>& values,
               const strided_view<index_t, 2>& indices, cudaStream_t stream, const char* function) {
  const index_t length = in.extent(1);
  if (length <= index_t(tuning::top_k_threads) * tuning::top_k_small_items) {
    block_top_k_launch<T, tuning::top_k_small_items>(in, values, indices, stream, function);
  } else if (length <= top_k_block_max_length) {
    block_top_k_launch<T, tuning::top_k_large_items>(in, values, indices, stream, function);
  } else {
    std::size_t bytes = 0;
    device_segmented_top_k(nullptr, bytes, in, values, indices, stream, function);
    device_scratch scratch(bytes, stream, function);
    device_segmented_top_k(scratch.data(), bytes, in, values, indices, stream, function);
  }
}

}  // namespace rescan::cuda_detail
