// Block-level primitive: one thread block sorts one whole row (L <= Threads * Items) by
// descending_key with cub::BlockRadixSort, which is stable (documented), carrying each element's
// position along; the first k positions in sorted order are the row's top k, ties in index order.
#pragma once

#include <cub/block/block_radix_sort.cuh>

#include "rescan/core/config.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/elements.cuh"

namespace rescan::cuda_detail {

template <class T, int Threads, int Items>
struct block_row_top_k {
  using key_type = typename descending_key<T>::type;
  using sort_type = cub::BlockRadixSort<key_type, Threads, Items, int>;
  using TempStorage = typename sort_type::TempStorage;
  static constexpr index_t tile = index_t(Threads) * Items;

  TempStorage& temp;

  __device__ explicit block_row_top_k(TempStorage& storage) : temp(storage) {}

  // Requires 1 <= k <= L <= tile. Every thread must call it.
  __device__ void select(const strided_view<const T, 2>& in, const strided_view<T, 2>& values,
                         const strided_view<index_t, 2>& indices, index_t row) {
    const index_t length = in.extent(1), k = values.extent(1);
    const int thread = static_cast<int>(threadIdx.x);
    key_type keys[Items];
    int positions[Items];
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const int position = thread * Items + j;  // blocked: the block's items are in row order
      positions[j] = position;
      keys[j] = position < length ? descending_key<T>::of(in(row, position)) : padding_key<key_type>();
    }
    sort_type(temp).Sort(keys, positions);  // ascending keys, blocked result, stable
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t rank = index_t(thread) * Items + j;
      if (rank < k) {
        const index_t position = positions[j];
        indices(row, rank) = position;
        values(row, rank) = in(row, position);
      }
    }
    __syncthreads();  // the next row may reuse temp at once
  }
};

}  // namespace rescan::cuda_detail
