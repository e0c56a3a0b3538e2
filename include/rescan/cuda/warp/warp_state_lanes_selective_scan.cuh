// Warp-level selective scan, forward pass, with the states across lanes (N <= 16): a group of Lanes
// lanes runs one (batch, channel) row, lane n of the group owning state n (lanes past N carry a
// zero state), and every lane walks all of its row's positions in order:
//   h_n = exp(Δ_s A_n) h_n + (Δ_s u_s) B_n,s        y_s = D u_s + Σ_n C_n,s h_n.
// A warp runs 32 / Lanes rows, a block Warps warps' rows. The positions go in chunks of Lanes
// (= the group's lanes), and per chunk:
//   1. lane n of a group makes Δ (bias, softplus) and Δ u of the chunk's position n and leaves them
//      in shared memory for its group (one softplus a position, not one a state);
//   2. each lane runs its state through the chunk's positions: (float) an exp2, three multiplies
//      and a multiply-add a position, with B and C of its state read 16 bytes at a time;
//   3. the group's C_n h_n of the chunk (Lanes x Lanes) go through shared memory, and lane n sums
//      those of position n over the states (n in order), adds D u, scales, gates and writes y.
// There is no scan between lanes: against the warp kernel whose lanes hold positions
// (warp_selective_scan.cuh), which folds, scans and then reruns each state of a tile, a state
// update is one recurrence step. The price is parallelism: a row is one group's serial walk of L
// positions, so there are batch * dim * Lanes / 32 warps in all: the library runs it for L <= 256
// (selective_scan_tuning::with_state_lanes; Vim's 197 tokens), where it measured 1.5x the warp kernel,
// and the warp kernel for longer rows, which it matched with many rows and beat with few.
//
// Variable B and C are staged through shared memory, tile positions of states 0 .. N-1 at a time
// (double-buffered, cp.async), when every row of the block reads the same B (or C) rows (one batch
// item and group: all of Mamba's channels); otherwise each lane reads its own state's row from
// global memory. Checkpoint k is the state entering position k * interval (h0 or 0 for k = 0),
// as the block kernels save and read them; positions past L do not exist for the recurrence.
//
// Shared memory layouts: a state's staged row and a lane's row of C h are padded by 16 bytes (staged
// rows start 4 banks apart, so the group's 16-byte reads of one chunk do not conflict), and a
// group's C h block is offset by Lanes elements from the previous group's (so the groups' column
// reads, one element a lane, fall on different banks). Float rows of C h are written without
// conflicts too; double at 4 lanes a row has 2-way conflicts on those writes.
#pragma once

#include <cstring>

#include "rescan/core/config.hpp"
#include "rescan/cuda/block/block_selective_scan_stage.cuh"
#include "rescan/cuda/detail/async_copy.cuh"
#include "rescan/cuda/detail/selective_scan_problem.cuh"
#include "rescan/cuda/detail/selective_scan_rows.cuh"

namespace rescan::cuda_detail {

template <class T, int Lanes, int Warps>
struct warp_state_lanes_selective_scan {
  static_assert(Lanes == 4 || Lanes == 8 || Lanes == 16, "a row takes 4, 8 or 16 lanes");
  using value_type = T;
  static constexpr int lanes = 32;
  static constexpr int rows_per_warp = lanes / Lanes;
  static constexpr int rows_per_block = rows_per_warp * Warps;
  static constexpr int threads = Warps * lanes;
  static constexpr int min_blocks = selective_scan_tuning::state_lanes_min_blocks<T>;  // a multiprocessor
  static constexpr int chunk = Lanes;                      // positions between two sums over the states
  static constexpr int per_word = 16 / int(sizeof(T));     // elements in 16 bytes
  static constexpr int tile = 256 / int(sizeof(T));        // positions of B and C staged at a time
  static constexpr int staged_stride = tile + per_word;     // a state's staged row, padded
  static constexpr int partial_stride = chunk + per_word;   // a lane's row of C h, padded
  static constexpr int group_span = Lanes * partial_stride + Lanes;  // a group's C h block, offset
  static constexpr index_t interval = selective_scan_tuning::tile;
  static_assert(tile % chunk == 0 && chunk % per_word == 0 && interval % tile == 0,
                "chunks fill a tile, words fill a chunk, tiles fill a checkpoint interval");

  struct storage {
    alignas(16) T staged[2][2][Lanes * staged_stride];  // [buffer][B, C][n * staged_stride + position in tile]
    alignas(16) T step[Warps][lanes];                   // Δ of the chunk's position j for group g at g * Lanes + j
    alignas(16) T step_u[Warps][lanes];                 // Δ u, the same way
    alignas(16) T partial[Warps][rows_per_warp * group_span];  // C_n h_n at g * group_span + n * partial_stride + j
  };
  static_assert(sizeof(storage) <= 48 * 1024, "static shared memory is at most 48 KiB a block");

  // Rows first_row .. first_row + rows_per_block - 1 (those below batch * dim): warp w's group g runs
  // row first_row + w * rows_per_warp + g; N <= Lanes. out: (batch, dim, L) or empty (checkpoints
  // only); last_state (batch, dim, N) and checkpoints (batch, dim, ceil(L / interval), N) optional
  // (no data). Every thread of the block must call it.
  __device__ static void forward_rows(storage& shared, const ss_params<T>& p, index_t first_row,
                                      const strided_view<T, 3>& out, bool accumulate_output,
                                      const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints) {
    const int warp = static_cast<int>(threadIdx.x / lanes);
    const int lane = static_cast<int>(threadIdx.x % lanes);
    const int group = lane / Lanes, n = lane % Lanes;
    const index_t rows = p.batch * p.dim, N = p.state, L = p.length;
    const index_t row = first_row + warp * rows_per_warp + group;
    const bool has_row = row < rows;
    const bool has_state = has_row && n < N;
    const bool write_out = out.data() != nullptr && !out.empty();

    const ss_block_inputs<T> block = ss_block_inputs_of(p, first_row, rows_per_block, write_out);
    const bool stage_B = block.stage_B, stage_C = block.stage_C;
    const auto stage_tile = [&](index_t tile_begin, int buffer) {
      const int thread = static_cast<int>(threadIdx.x);
      if (stage_B) stage(shared.staged[buffer][0], block.B, N, tile_begin, L, thread);
      if (stage_C) stage(shared.staged[buffer][1], block.C, N, tile_begin, L, thread);
      async_copy_commit();
    };

    index_t b = 0, d = 0;
    ss_row_matrix<T> B_row{}, C_row{};
    ss_row_sequence<const T> u_row{}, delta_row{}, z_row{};
    ss_row_sequence<T> out_row{};
    T bias = T(0), D = T(0), a = T(0), h = T(0);
    if (has_row) {
      b = row / p.dim;
      d = row % p.dim;
      B_row = ss_row_of(p.B, b, d);
      C_row = ss_row_of(p.C, b, d);
      u_row = ss_sequence_of(p.u, b, d);
      delta_row = ss_sequence_of(p.delta, b, d);
      if (p.has_z()) z_row = ss_sequence_of(p.z, b, d);
      if (write_out) out_row = ss_sequence_of(out, b, d);
      bias = p.delta_bias.data() != nullptr ? p.delta_bias(d) : T(0);
      D = p.has_D() ? p.D(d) : T(0);
    }
    if (has_state) {
      a = p.A(d, n);
      h = p.initial(b, d, n);
    }

    // u, delta and z of the lane's position in the next chunk, loaded a chunk ahead (a row's warps
    // are few when rows are few and long, and would otherwise wait on each chunk's loads)
    T next_u = T(0), next_raw = T(0), next_z = T(0);
    const auto prefetch = [&](index_t chunk_begin) {
      const index_t s = chunk_begin + n;
      const bool has_position = has_row && s < L;
      next_u = has_position ? u_row.data[s * u_row.stride] : T(0);
      next_raw = has_position ? delta_row.data[s * delta_row.stride] : T(0);
      if (write_out && p.has_z()) next_z = has_position ? z_row.data[s * z_row.stride] : T(0);
    };
    prefetch(0);
    // The rows of C h of lanes past N stay zero (their own h may be NaN: exp2(inf * 0) for an
    // infinite Δ), so lane n sums all Lanes rows.
    if (n >= N) {
      T zeros[chunk] = {};
      write_words(shared.partial[warp] + group * group_span + n * partial_stride, zeros);
    }

    const index_t tiles = ceil_div(L, index_t(tile));
    if (tiles > 0) stage_tile(0, 0);
    for (index_t k = 0; k < tiles; ++k) {
      const index_t tile_begin = k * tile;
      if (k + 1 < tiles) {  // the next tile's copies go out before this one is scanned
        stage_tile(tile_begin + tile, static_cast<int>((k + 1) % 2));
        async_copy_wait<1>();
      } else {
        async_copy_wait<0>();
      }
      __syncthreads();  // this tile's B and C are in shared memory
      const T* staged_B = shared.staged[k % 2][0] + n * staged_stride;
      const T* staged_C = shared.staged[k % 2][1] + n * staged_stride;
      for (int c = 0; c < tile / chunk; ++c, staged_B += chunk, staged_C += chunk) {
        const index_t chunk_begin = tile_begin + index_t(c) * chunk;
        if (chunk_begin >= L) break;  // the same for the whole block
        const int count = static_cast<int>(L - chunk_begin < chunk ? L - chunk_begin : chunk);

        // 1. Δ and Δ u of position chunk_begin + n, for the group
        const bool has_position = has_row && n < count;
        const index_t s = chunk_begin + n;
        const T u = next_u, raw = next_raw, z = next_z;
        prefetch(chunk_begin + chunk);
        T derivative;
        const T step = has_position ? p.step_of(raw + bias, derivative) : T(0);
        shared.step[warp][lane] = step;
        shared.step_u[warp][lane] = step * u;
        if (checkpoints.data() != nullptr && has_state && chunk_begin % interval == 0) {
          checkpoints(b, d, chunk_begin / interval, n) = h;
        }
        __syncwarp();

        // 2. the lane's state through the chunk
        T B[chunk], C[chunk], steps[chunk], steps_u[chunk];  // (C and output: only read with an output)
        read_words(&shared.step[warp][group * Lanes], steps);
        read_words(&shared.step_u[warp][group * Lanes], steps_u);
        load_state_row(stage_B, staged_B, B_row, has_state, n, chunk_begin, count, B);
        if (write_out) load_state_row(stage_C, staged_C, C_row, has_state, n, chunk_begin, count, C);
        T output[chunk];
#pragma unroll
        for (int j = 0; j < chunk; ++j) {
          h = decay_of(steps[j], a) * h + steps_u[j] * B[j];
          output[j] = C[j] * h;
        }

        // 3. y of position chunk_begin + n: D u + the sum over the group's states, n in order
        if (write_out) {
          T* partial = shared.partial[warp] + group * group_span;
          if (n < N) write_words(partial + n * partial_stride, output);  // (past N: zeros, see above)
          __syncwarp();
          if (has_position) {
            T y = p.has_D() ? D * u : T(0);
#pragma unroll
            for (int m = 0; m < Lanes; ++m) y += partial[m * partial_stride + n];
            ss_store(out_row.data[s * out_row.stride], ss_scaled_and_gated(p, y, z), accumulate_output);
          }
        }
        __syncwarp();  // the group is done with this chunk's step and partial
      }
      __syncthreads();  // every warp is done with this tile's buffer before it is refilled
    }
    if (has_state && last_state.data() != nullptr) last_state(b, d, n) = h;
  }

 private:
  // States 0 .. N-1 (N <= Lanes) of a row matrix, positions tile_begin .. tile_begin + tile - 1 (zero
  // from L on), into to[n * staged_stride + position - tile_begin]. Every thread of the block calls
  // it with its index; the copies are in flight until async_copy_commit / async_copy_wait.
  __device__ static void stage(T* to, const ss_row_matrix<T>& m, index_t N, index_t tile_begin, index_t L, int thread) {
    constexpr int row_words = tile / per_word;
    for (int k = thread; k < static_cast<int>(N) * row_words; k += threads) {
      const int state = k / row_words, first = (k % row_words) * per_word;
      stage_word(to + state * staged_stride + first, m.data + state * m.n_stride, m.s_stride, tile_begin + first, L);
    }
  }

  // Count elements of shared memory (16-byte aligned) into registers, 16 bytes at a time; and back.
  template <int Count>
  __device__ static void read_words(const T* from, T (&values)[Count]) {
#pragma unroll
    for (int v = 0; v < Count / per_word; ++v) {
      const uint4 word = reinterpret_cast<const uint4*>(from)[v];
      std::memcpy(&values[v * per_word], &word, sizeof(word));
    }
  }
  template <int Count>
  __device__ static void write_words(T* to, const T (&values)[Count]) {
#pragma unroll
    for (int v = 0; v < Count / per_word; ++v) {
      uint4 word;
      std::memcpy(&word, &values[v * per_word], sizeof(word));
      reinterpret_cast<uint4*>(to)[v] = word;
    }
  }

  // The lane's state's B (or C) at the chunk's positions: from the staged tile, or from the row's own
  // memory (zero past `count`); zero for a lane without a state.
  __device__ static void load_state_row(bool staged, const T* staged_row, const ss_row_matrix<T>& row, bool has_state,
                                        int n, index_t chunk_begin, int count, T (&values)[chunk]) {
    if (has_state && staged) {
      read_words(staged_row, values);
    } else if (has_state) {
      row.load(n, chunk_begin, count, values);
    } else {
#pragma unroll
      for (int j = 0; j < chunk; ++j) values[j] = T(0);
    }
  }
};

}  // namespace rescan::cuda_detail
