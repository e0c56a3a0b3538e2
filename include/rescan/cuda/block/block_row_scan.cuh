// Block-level primitive: one thread block scans one whole row, tile after tile, carrying the
// running aggregate from tile to tile. Order is preserved everywhere (operators need not commute)
// and no identity element is needed:
//
//   1. load a tile striped (coalesced), cub::BlockExchange to blocked (thread i holds items
//      i*ITEMS .. i*ITEMS+ITEMS-1 of the tile, consecutive in scan order);
//   2. each thread scans its own items sequentially;
//   3. cub::BlockScan::ExclusiveScan of the thread totals gives each thread the fold of the items
//      of the threads before it (undefined for thread 0, which has none), and the tile total;
//   4. item j of thread i = carry ∘ (threads before i) ∘ (own items 0..j), every term optional,
//      combined earlier-on-the-left;
//   5. carry = carry ∘ tile total; cub::BlockExchange back to striped, store.
//
// A partial last tile is padded with copies of the tile's first element: padding sits after every
// real element in scan order, so it changes only outputs that are never stored (and the tile
// total, which is not used after the last tile).
#pragma once

#include <cub/block/block_exchange.cuh>
#include <cub/block/block_scan.cuh>

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail {

template <class Problem, int Threads, int Items>
struct block_row_scan {
  using element_type = typename Problem::element_type;
  using exchange_type = cub::BlockExchange<element_type, Threads, Items>;
  using scan_type = cub::BlockScan<element_type, Threads>;
  static constexpr index_t tile = index_t(Threads) * Items;

  union TempStorage {
    typename exchange_type::TempStorage exchange;
    typename scan_type::TempStorage scan;
  };

  TempStorage& temp;

  __device__ explicit block_row_scan(TempStorage& storage) : temp(storage) {}

  // Scans positions [0, length) of `row`. Every thread of the block must call it (it synchronizes).
  __device__ void scan_row(const Problem& problem, index_t row, index_t length) {
    const auto op = problem.element_op();
    const int thread = static_cast<int>(threadIdx.x);

    bool has_carry = problem.has_prefix();
    element_type carry;
    if (has_carry) carry = problem.prefix_element(row);

    for (index_t tile_begin = 0; tile_begin < length; tile_begin += tile) {
      const index_t remaining = length - tile_begin;
      const int valid = static_cast<int>(remaining < tile ? remaining : tile);

      // 1. striped load; padding repeats the tile's first element
      element_type items[Items];
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        const int index = j * Threads + thread;
        items[j] = problem.load(row, tile_begin + (index < valid ? index : 0));
      }
      __syncthreads();  // the previous tile (or row) is done with temp
      exchange_type(temp.exchange).StripedToBlocked(items);
      __syncthreads();

      // 2. sequential scan of the thread's own items
#pragma unroll
      for (int j = 1; j < Items; ++j) items[j] = op(items[j - 1], items[j]);

      // 3. fold of the threads before this one, and the tile total
      element_type before_thread, tile_total;
      scan_type(temp.scan).ExclusiveScan(items[Items - 1], before_thread, op, tile_total);

      // 4. outputs
      element_type prefix;  // everything before this thread's first item, when has_prefix
      const bool has_prefix = has_carry || thread > 0;
      if (thread == 0) {
        prefix = carry;
      } else {
        prefix = has_carry ? op(carry, before_thread) : before_thread;
      }
      element_type results[Items];
      if constexpr (Problem::exclusive) {
        // An exclusive scan always has a carry (its prefix P), so has_prefix holds for every thread.
        results[0] = prefix;
#pragma unroll
        for (int j = 1; j < Items; ++j) results[j] = op(prefix, items[j - 1]);
      } else {
#pragma unroll
        for (int j = 0; j < Items; ++j) results[j] = has_prefix ? op(prefix, items[j]) : items[j];
      }

      // 5. carry into the next tile, store
      carry = has_carry ? op(carry, tile_total) : tile_total;
      has_carry = true;
      __syncthreads();  // everyone is done with temp.scan
      exchange_type(temp.exchange).BlockedToStriped(results);
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        const int index = j * Threads + thread;
        if (index < valid) problem.store(row, tile_begin + index, results[j]);
      }
    }
    __syncthreads();  // the next call may reuse temp at once
  }
};

}  // namespace rescan::cuda_detail
