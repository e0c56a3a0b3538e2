// B or C of the selective scan staged in shared memory for the warp-level forward pass
// (warp/warp_selective_scan.cuh), where lane i works on positions i*Items .. i*Items + Items - 1 of a
// tile of 32 * Items positions and reads them as Items / (16 / sizeof(T)) words of 16 bytes.
//
// Read straight from global memory, those words are 16 bytes out of every 16 * Items / 4 bytes a
// lane: one warp-wide load touches 16 cache lines (Items = 16), and the L1 was the busiest unit.
// Staged, the block copies a state's tile with consecutive threads on consecutive words (a warp
// covers 4 lines a load), once for all of its warps whose rows read the same B (one batch item and
// group: Mamba's B and C are shared by every channel), and each lane then reads its words from
// shared memory.
//
// Layout of one state's tile: word v of lane i sits in slot i * words + (v XOR ((i / (8 / words)) %
// words)), words = Items / (16 / sizeof(T)). Shared memory serves 16-byte loads 8 lanes at a time,
// and lanes 8k .. 8k + 7 then read 8 slots that differ modulo 8 (8 slots = the 128 bytes of all 32
// banks), so neither the lanes' reads nor the block's consecutive stores conflict.
#pragma once

#include <cstdint>
#include <cstring>

#include "rescan/core/config.hpp"
#include "rescan/cuda/detail/async_copy.cuh"
#include "rescan/cuda/detail/selective_scan_rows.cuh"

namespace rescan::cuda_detail {

// Copies one 16-byte word's worth of a row, row[(first + e) * stride] for e = 0 .. 16 / sizeof(T) - 1,
// to `into` (16-byte aligned shared memory), the elements from `valid` - first on (past the row's
// end) zero: one 16-byte copy where the row is contiguous and the source aligned, else element by
// element. The copies are in flight until async_copy_commit / async_copy_wait.
template <class T>
__device__ void stage_word(T* into, const T* row, index_t stride, index_t first, index_t valid) {
  constexpr int per_word = 16 / int(sizeof(T));
  if (stride == 1 && first + per_word <= valid) {
    const T* from = row + first;
    if (reinterpret_cast<std::uintptr_t>(from) % 16 == 0) {
      async_copy<16>(into, from);
      return;
    }
  }
#pragma unroll
  for (int e = 0; e < per_word; ++e) {
    if (first + e < valid) {
      async_copy<int(sizeof(T))>(into + e, row + (first + e) * stride);
    } else {
      into[e] = T(0);
    }
  }
}

template <class T, int Items>
struct block_selective_scan_stage {
  static constexpr int lanes = 32;
  static constexpr int per_word = 16 / int(sizeof(T));  // elements in 16 bytes
  static constexpr int words = Items / per_word;        // a lane's 16-byte words
  static constexpr int tile = lanes * Items;            // elements of one state's tile
  static_assert(Items % per_word == 0 && (words == 1 || words == 2 || words == 4),
                "a lane reads 1, 2 or 4 words of 16 bytes");

  // Where word v of lane `lane` is kept, in words from the start of the state's tile.
  __device__ static constexpr int slot(int lane, int v) {
    return lane * words + (v ^ ((lane / (8 / words)) % words));
  }

  // Lane `lane`'s Items elements, in position order, from one state's staged tile (tile elements,
  // 16-byte aligned).
  __device__ static void read(const T* state_tile, int lane, T (&out)[Items]) {
#pragma unroll
    for (int v = 0; v < words; ++v) {
      const uint4 word = reinterpret_cast<const uint4*>(state_tile)[slot(lane, v)];
      std::memcpy(&out[v * per_word], &word, sizeof(word));
    }
  }

  // Issues the copies of states n0 .. n0 + states - 1, positions tile_begin .. tile_begin + tile - 1,
  // of a row matrix into `to` (states x tile elements, 16-byte aligned); positions from `valid` on
  // (past the row's end) are zero (stage_word). Every thread of the block calls it with its index `thread`
  // of `threads`; the copies are in flight until async_copy_commit / async_copy_wait.
  __device__ static void stage(T* to, const ss_row_matrix<T>& m, index_t n0, int states, index_t tile_begin,
                               int valid, int thread, int threads) {
    constexpr int state_words = lanes * words;
    for (int k = thread; k < states * state_words; k += threads) {
      const int s = k / state_words, word = k % state_words;
      const int first = word * per_word;  // the word's first position in the tile
      T* into = to + s * tile + slot(word / words, word % words) * per_word;
      stage_word(into, m.data + (n0 + s) * m.n_stride, m.s_stride, tile_begin + first, tile_begin + valid);
    }
  }
};

}  // namespace rescan::cuda_detail
