// Block-level primitive: one thread block folds positions [begin, end) of one row IN ORDER, so
// operators need not commute and no identity element is needed:
//
//   1. load a tile striped (coalesced), cub::BlockExchange to blocked (thread i holds the tile's
//      items i*ITEMS .. i*ITEMS+ITEMS-1, consecutive);
//   2. each thread folds its valid items left to right;
//   3. cub::BlockReduce with BLOCK_REDUCE_WARP_REDUCTIONS (documented to support non-commutative
//      operators: it combines lanes and warps in thread order) over the threads that hold at least
//      one valid item (they are the first ones, the tile being filled in order);
//   4. thread 0 folds the tile total into its running value.
//
// The result is meaningful in thread 0 only.
#pragma once

#include <cub/block/block_exchange.cuh>
#include <cub/block/block_reduce.cuh>

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail {

template <class V, int Threads, int Items>
struct block_row_reduce {
  using exchange_type = cub::BlockExchange<V, Threads, Items>;
  using reduce_type = cub::BlockReduce<V, Threads, cub::BLOCK_REDUCE_WARP_REDUCTIONS>;
  static constexpr index_t tile = index_t(Threads) * Items;

  union TempStorage {
    typename exchange_type::TempStorage exchange;
    typename reduce_type::TempStorage reduce;
  };

  TempStorage& temp;

  __device__ explicit block_row_reduce(TempStorage& storage) : temp(storage) {}

  // source(row, t) reads element t of the row. Requires begin < end. Every thread must call it.
  template <class Source, class Op>
  __device__ V fold(const Source& source, const Op& op, index_t row, index_t begin, index_t end) {
    const int thread = static_cast<int>(threadIdx.x);
    V running;
    for (index_t tile_begin = begin; tile_begin < end; tile_begin += tile) {
      const index_t remaining = end - tile_begin;
      const int valid = static_cast<int>(remaining < tile ? remaining : tile);

      V items[Items];
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        const int index = j * Threads + thread;
        items[j] = source(row, tile_begin + (index < valid ? index : 0));  // padding is never folded
      }
      __syncthreads();  // the previous tile is done with temp
      exchange_type(temp.exchange).StripedToBlocked(items);

      const int first = thread * Items;  // this thread's first position in the tile
      V partial = items[0];
#pragma unroll
      for (int j = 1; j < Items; ++j) {
        if (first + j < valid) partial = op(partial, items[j]);
      }
      const int valid_threads = (valid + Items - 1) / Items;
      __syncthreads();  // everyone has read temp.exchange
      const V tile_total = reduce_type(temp.reduce).Reduce(partial, op, valid_threads);
      if (thread == 0) running = tile_begin == begin ? tile_total : op(running, tile_total);
    }
    __syncthreads();  // the next call may reuse temp at once
    return running;
  }
};

}  // namespace rescan::cuda_detail
