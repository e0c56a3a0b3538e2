// Block-level pieces of a token-merging plan; one thread block handles one batch item, holding
// every token of it in one tile of Threads * Items (blocked arrangement: thread i holds positions
// i*Items .. i*Items+Items-1, in order).
//   choose_sources   cub::BlockRadixSort (stable) of (descending key of node_max, A index): the
//                    first r A tokens of the sort are the sources (ties: lower index first;
//                    protected tokens sort last)
//   number_survivors cub::BlockScan (exclusive sum) of "survives" along the survivor sequence
//   build_members    cub::BlockRadixSort (stable) of (output token, original token): members
//                    grouped by output token, ascending within a group, pruned tokens last;
//                    offsets where the key changes. The keys are at most the tile's size, so only
//                    their low member_bits bits are sorted (3 radix passes up to 2048 tokens, not 8)
#pragma once

#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_scan.cuh>

#include <cstdint>

#include "rescan/core/config.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/elements.cuh"
#include "rescan/merge/matching_layout.hpp"

namespace rescan::cuda_detail {

template <class S, int Threads, int Items>
struct block_merge_plan {
  using score_key = typename descending_key<S>::type;
  using source_sort = cub::BlockRadixSort<score_key, Threads, Items, int>;
  using member_sort = cub::BlockRadixSort<std::uint32_t, Threads, Items, int>;
  using scan_type = cub::BlockScan<int, Threads>;
  static constexpr index_t tile = index_t(Threads) * Items;
  // Bits that hold every member key: output slots, T_out for pruned tokens, tile for padding.
  static constexpr int bits_for(index_t n) { return n < 2 ? 1 : 1 + bits_for(n / 2); }
  static constexpr int member_bits = bits_for(tile);

  struct TempStorage {
    union {
      typename source_sort::TempStorage source;
      typename member_sort::TempStorage member;
      typename scan_type::TempStorage scan;
    } cub;
    int slot[tile];                 // output slot of each participant (-1: a source)
    std::uint32_t sorted_key[tile];  // output token of each sorted member
    unsigned char is_source[tile];  // per A index
  };

  TempStorage& temp;

  __device__ explicit block_merge_plan(TempStorage& storage) : temp(storage) {}

  // node_max / best_b: (count_a) of this batch item. Leaves temp.is_source set. Every thread calls it.
  __device__ void choose_sources(const detail::matching_layout& layout, const S* node_max) {
    const int thread = static_cast<int>(threadIdx.x);
    const index_t count_a = layout.count_a();
    score_key keys[Items];
    int indices[Items];
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t a = index_t(thread) * Items + j;
      indices[j] = static_cast<int>(a);
      if (a < count_a && !layout.source_protected(a)) {
        S value = node_max[a];
        if (value != value) value = -::cuda::std::numeric_limits<S>::infinity();
        keys[j] = descending_key<S>::of(value);
      } else {
        keys[j] = padding_key<score_key>();
      }
      if (a < tile) temp.is_source[a] = 0;
    }
    __syncthreads();
    source_sort(temp.cub.source).Sort(keys, indices);
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t rank = index_t(thread) * Items + j;
      if (rank < layout.r) temp.is_source[indices[j]] = 1;
    }
    __syncthreads();
  }

  // Numbers the survivors along the layout's sequence: temp.slot[participant] = output slot, or -1
  // for a source. Writes survivors(j) = original position. Every thread calls it.
  __device__ void number_survivors(const detail::matching_layout& layout, const strided_view<index_t, 1>& survivors) {
    const int thread = static_cast<int>(threadIdx.x);
    const index_t participants = layout.participants();
    int survives[Items];
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t q = index_t(thread) * Items + j;
      survives[j] = 0;
      if (q < participants) {
        const index_t i = layout.participant_at(q);
        survives[j] = (i % 2 == 0 && temp.is_source[i / 2]) ? 0 : 1;
      }
    }
    int before[Items];
    scan_type(temp.cub.scan).ExclusiveSum(survives, before);
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t q = index_t(thread) * Items + j;
      if (q >= participants) continue;
      const index_t i = layout.participant_at(q);
      if (survives[j]) {
        const index_t slot = layout.slot_of_survivor(before[j]);
        temp.slot[i] = static_cast<int>(slot);
        survivors(slot) = layout.position(i);
      } else {
        temp.slot[i] = -1;
      }
    }
    __syncthreads();
  }

  // destination: (T) of this batch item, already written (and visible: callers sync before).
  // Writes offsets (T_out + 1) and members (T). Every thread calls it.
  __device__ void build_members(const strided_view<const index_t, 1>& destination, index_t tokens_out,
                                const strided_view<index_t, 1>& offsets, const strided_view<index_t, 1>& members) {
    const int thread = static_cast<int>(threadIdx.x);
    const index_t tokens = destination.extent(0);
    std::uint32_t keys[Items];
    int positions[Items];
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t t = index_t(thread) * Items + j;
      positions[j] = static_cast<int>(t);
      if (t < tokens) {
        const index_t slot = destination(t);
        keys[j] = static_cast<std::uint32_t>(slot < 0 ? tokens_out : slot);
      } else {
        keys[j] = static_cast<std::uint32_t>(tile);  // after every real key (T_out <= T <= tile); stable
      }
    }
    __syncthreads();
    member_sort(temp.cub.member).Sort(keys, positions, 0, member_bits);
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      const index_t k = index_t(thread) * Items + j;
      if (k < tokens) {
        members(k) = positions[j];
        temp.sorted_key[k] = keys[j];
      }
    }
    __syncthreads();
    // Every output token has at least one member (itself), so keys run 0, 1, ..., T_out - 1 (then
    // T_out for pruned tokens): offsets[key] is where each key starts.
    for (index_t k = thread; k < tokens; k += Threads) {
      const std::uint32_t key = temp.sorted_key[k];
      if (k == 0 || temp.sorted_key[k - 1] != key) offsets(key) = k;
    }
    if (thread == 0 && (tokens == 0 || temp.sorted_key[tokens - 1] != tokens_out)) offsets(tokens_out) = tokens;
    __syncthreads();
  }
};

}  // namespace rescan::cuda_detail
