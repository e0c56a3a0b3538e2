// Warp-level selective scan, forward pass: a block of Warps warps runs Warps consecutive
// (batch, channel) rows, one warp a row, tile after tile (rows without packed sequences; packed rows
// take block_selective_scan.cuh, and rows of N <= 16 states and L <= 256 positions
// warp_state_lanes_selective_scan.cuh).
//
// A tile is 32 * Items consecutive positions; lane i holds positions i*Items .. i*Items + Items - 1.
// Per tile a lane loads u and Δ (bias, softplus) of its items once, then for every state n:
//   1. folds its items' pairs (Ā, b̄) = (exp(Δ A_n), Δ u B_n) in order into one pair. The fold's Ā
//      is exp(A_n ΣΔ) over the items, one exp instead of Items products (ΣΔ is the same for every n);
//   2. lane 0 applies its pair to the state entering the tile (the carry), so its b is a state;
//   3. the warp scans the 32 pairs with shuffles (warp_affine_scan.cuh): lane i's b is then the
//      state after its last item, lane i - 1's the state entering it, and lane 31's the carry into
//      the next tile;
//   4. with an output, each lane runs its items' recurrence h = Ā h + b̄ from the state entering it
//      and adds C_n h to each item's y (without one, as when the backward pass recomputes its
//      checkpoints, the scan alone gives every carry).
// Padding items (past L) are the identity (Δ = 0: Ā = 1, b̄ = 0), so the carry after the last tile
// is the final state. Checkpoint k is the carry entering position k * interval (h0 or 0 for k = 0),
// as the block kernels save and read them.
//
// Variable B and C are staged through shared memory a few states of a tile at a time
// (block_selective_scan_stage.cuh), the next states' copies in flight while the warps scan the current ones,
// and shared by the block's warps when all of their rows read the same B (or C) rows: one batch item
// and group. Otherwise (a block across two batch items or groups, or B constant along L) each lane
// reads its items from global memory itself.
//
// Against block_selective_scan's forward pass (a cub::BlockScan per state and tile of 4 positions a
// thread, with block barriers), the scan's fixed cost here is a warp's shuffles spread over Items
// positions a lane.
#pragma once

#include "rescan/core/config.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/cuda/block/block_selective_scan_stage.cuh"
#include "rescan/cuda/detail/async_copy.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/selective_scan_problem.cuh"
#include "rescan/cuda/detail/selective_scan_rows.cuh"
#include "rescan/cuda/warp/warp_affine_scan.cuh"

namespace rescan::cuda_detail {

template <class T, int Items, int Warps>
struct warp_selective_scan {
  using value_type = T;
  static constexpr int lanes = 32;
  static constexpr int threads = Warps * lanes;
  static constexpr int rows_per_block = Warps;
  static constexpr int min_blocks = selective_scan_tuning::forward_min_blocks<T>;  // a multiprocessor
  using stage_type = block_selective_scan_stage<T, Items>;
  static constexpr index_t tile = stage_type::tile;
  static constexpr index_t interval = selective_scan_tuning::tile;
  static_assert(interval % tile == 0, "a tile divides the checkpoint interval");
  // States of a tile staged at a time (per buffer, for B and for C each).
  static constexpr int stage_states = int(selective_scan_tuning::forward_stage_bytes / (tile * sizeof(T)));
  static_assert(stage_states >= 1, "one state's tile fits the staging buffer");

  struct storage {
    alignas(16) T staged[2][2][stage_states * tile];  // [buffer][B, C][state of the chunk * tile + slot]
    T carry[Warps][2][selective_scan_max_state];      // [warp][tile parity][n]: entering the tile
  };
  static_assert(sizeof(storage) <= 48 * 1024,
                "static shared memory is at most 48 KiB a block: fewer warps, states staged or bytes");

  // One (batch, channel) row as its warp reads it.
  struct row_inputs {
    index_t b, d;
    ss_row_matrix<T> B, C;
    ss_row_sequence<const T> u, delta;
    T bias, D;
  };

  // Rows first_row .. first_row + Warps - 1 (those below batch * dim), warp w running row
  // first_row + w. out: (batch, dim, L) or empty (checkpoints only); last_state (batch, dim, N) and
  // checkpoints (batch, dim, tiles, N) optional (no data). Every thread of the block must call it.
  __device__ static void forward_rows(storage& shared, const ss_params<T>& p, index_t first_row,
                                      const strided_view<T, 3>& out, bool accumulate_output,
                                      const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints) {
    const int warp = static_cast<int>(threadIdx.x / lanes);
    const int lane = static_cast<int>(threadIdx.x % lanes);
    const index_t rows = p.batch * p.dim, N = p.state, L = p.length;
    const index_t row = first_row + warp;
    const bool has_row = row < rows;
    const bool write_out = out.data() != nullptr && !out.empty();
    T(&carry)[2][selective_scan_max_state] = shared.carry[warp];

    const ss_block_inputs<T> block = ss_block_inputs_of(p, first_row, Warps, write_out);
    const bool stage_B = block.stage_B, stage_C = block.stage_C;

    row_inputs in{};
    if (has_row) {
      in.b = row / p.dim;
      in.d = row % p.dim;
      in.B = ss_row_of(p.B, in.b, in.d);
      in.C = ss_row_of(p.C, in.b, in.d);
      in.u = ss_sequence_of(p.u, in.b, in.d);
      in.delta = ss_sequence_of(p.delta, in.b, in.d);
      in.bias = p.delta_bias.data() != nullptr ? p.delta_bias(in.d) : T(0);
      in.D = p.has_D() ? p.D(in.d) : T(0);
      for (index_t n = lane; n < N; n += lanes) carry[0][n] = p.initial(in.b, in.d, n);
    }

    // The flat sequence of steps: (tile, chunk of stage_states states), chunks fastest.
    const int chunks = static_cast<int>(ceil_div(N, index_t(stage_states)));
    const index_t steps = ceil_div(L, tile) * chunks;
    // chunk c holds states c * stage_states .. + states_in(c) - 1
    const auto states_in = [&](int c) {
      const index_t left = N - index_t(c) * stage_states;
      return static_cast<int>(left < stage_states ? left : stage_states);
    };
    const auto stage_step = [&](index_t tile_begin, int chunk, int buffer) {
      const index_t n0 = index_t(chunk) * stage_states;
      const int states = states_in(chunk);
      const int valid = static_cast<int>(L - tile_begin < tile ? L - tile_begin : tile);
      const int thread = static_cast<int>(threadIdx.x);
      if (stage_B) stage_type::stage(shared.staged[buffer][0], block.B, n0, states, tile_begin, valid, thread, threads);
      if (stage_C) stage_type::stage(shared.staged[buffer][1], block.C, n0, states, tile_begin, valid, thread, threads);
      async_copy_commit();
    };
    if (steps > 0) stage_step(0, 0, 0);

    T step[Items], step_u[Items], y[Items];
    T step_sum = T(0);
    index_t first = 0;
    int count = 0;
    index_t tile_begin = 0;
    int chunk = 0;
    for (index_t q = 0; q < steps; ++q) {
      const int parity = static_cast<int>((tile_begin / tile) % 2);
      if (chunk == 0 && has_row) {
        if (checkpoints.data() != nullptr && tile_begin % interval == 0) {
          for (index_t n = lane; n < N; n += lanes) checkpoints(in.b, in.d, tile_begin / interval, n) = carry[parity][n];
        }
        first = tile_begin + index_t(lane) * Items;
        const index_t remaining = L - first;
        count = remaining <= 0 ? 0 : (remaining < Items ? static_cast<int>(remaining) : Items);
        load_steps(p, in, first, count, step, step_u, y, step_sum);
      }
      // the next step's copies go out before this step's states are scanned
      const bool last_chunk = chunk + 1 == chunks;
      if (q + 1 < steps) {
        stage_step(last_chunk ? tile_begin + tile : tile_begin, last_chunk ? 0 : chunk + 1, static_cast<int>((q + 1) % 2));
        async_copy_wait<1>();
      } else {
        async_copy_wait<0>();
      }
      __syncthreads();  // this step's B and C are in shared memory; last tile's carries are in
      if (has_row) {
        // states n0 .. n0 + states - 1, the s-th at s * tile in the staged buffers
        const index_t n0 = index_t(chunk) * stage_states;
        const int states = states_in(chunk);
        const T* staged_B = shared.staged[q % 2][0];
        const T* staged_C = shared.staged[q % 2][1];
        const T* A = &p.A(in.d, n0);
        const index_t A_stride = p.A.stride(1);
        const T* carry_in = carry[parity] + n0;
        T* carry_out = carry[1 - parity] + n0;
        for (int s = 0; s < states; ++s, staged_B += tile, staged_C += tile, A += A_stride) {
          T B[Items], C[Items];
          if (stage_B) {
            stage_type::read(staged_B, lane, B);
          } else {
            in.B.load(n0 + s, first, count, B);
          }
          if (write_out) {
            if (stage_C) {
              stage_type::read(staged_C, lane, C);
            } else {
              in.C.load(n0 + s, first, count, C);
            }
          }
          scan_state(*A, B, C, step, step_u, step_sum, write_out, carry_in[s], carry_out[s], y);
        }
      }
      __syncthreads();  // every warp is done with this step's buffer before it is refilled
      if (last_chunk && has_row && write_out && count > 0) store_outputs(p, out, in, first, count, accumulate_output, y);
      if (last_chunk) tile_begin += tile;
      chunk = last_chunk ? 0 : chunk + 1;
    }

    if (has_row && last_state.data() != nullptr) {
      const int parity = static_cast<int>(ceil_div(L, tile) % 2);
      for (index_t n = lane; n < N; n += lanes) last_state(in.b, in.d, n) = carry[parity][n];
    }
    __syncthreads();  // the next rows rewrite the carries
  }

 private:
  // The lane's items of a tile: Δ (bias, softplus; 0 past the row's end), Δ u, ΣΔ, and y = D u.
  __device__ static void load_steps(const ss_params<T>& p, const row_inputs& in, index_t first, int count,
                                    T (&step)[Items], T (&step_u)[Items], T (&y)[Items], T& step_sum) {
    T u[Items], raw[Items];
    ss_load_items<Items>(in.u.data, in.u.stride, first, count, T(0), u);
    ss_load_items<Items>(in.delta.data, in.delta.stride, first, count, T(0), raw);
    step_sum = T(0);
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      T derivative;
      step[j] = j < count ? p.step_of(raw[j] + in.bias, derivative) : T(0);  // padding: Ā = 1, b̄ = 0
      step_u[j] = step[j] * u[j];
      step_sum += step[j];
      y[j] = p.has_D() ? in.D * u[j] : T(0);
    }
  }

  // One state n of the lane's items (steps 1-4 above). carry_in: the state entering the tile (read
  // by every lane); carry_out: where lane 31 leaves the state entering the next tile.
  __device__ static void scan_state(T a, const T (&B)[Items], const T (&C)[Items], const T (&step)[Items],
                                    const T (&step_u)[Items], T step_sum, bool write_out, const T& carry_in,
                                    T& carry_out, T (&y)[Items]) {
    const int lane = static_cast<int>(threadIdx.x % lanes);
    T decay[Items], input[Items];
#pragma unroll
    for (int j = 0; j < Items; ++j) {
      decay[j] = decay_of(step[j], a);
      input[j] = B[j] * step_u[j];
    }
    T fold_b = input[0];
#pragma unroll
    for (int j = 1; j < Items; ++j) fold_b = decay[j] * fold_b + input[j];
    T fold_a = decay_of(step_sum, a);
    const T entering = carry_in;
    if (lane == 0) fold_b = fold_a * entering + fold_b;
    warp_inclusive_affine_scan_b(fold_a, fold_b);
    if (lane == lanes - 1) carry_out = fold_b;
    if (write_out) {
      T h = __shfl_up_sync(0xffffffffu, fold_b, 1);
      if (lane == 0) h = entering;
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        h = decay[j] * h + input[j];
        y[j] += C[j] * h;
      }
    }
  }

  // y of the lane's items, scaled, gated by silu(z) and added to out when asked, to out.
  __device__ static void store_outputs(const ss_params<T>& p, const strided_view<T, 3>& out, const row_inputs& in,
                                       index_t first, int count, bool accumulate_output, T (&y)[Items]) {
    const ss_row_sequence<T> out_row = ss_sequence_of(out, in.b, in.d);
    if (p.has_z()) {
      T z[Items];
      const ss_row_sequence<const T> z_row = ss_sequence_of(p.z, in.b, in.d);
      ss_load_items<Items>(z_row.data, z_row.stride, first, count, T(0), z);
#pragma unroll
      for (int j = 0; j < Items; ++j) y[j] = y[j] * p.scale * (z[j] * sigmoid_of(z[j]));
    } else {
#pragma unroll
      for (int j = 0; j < Items; ++j) y[j] *= p.scale;
    }
    if (accumulate_output) {
      T previous[Items];
      ss_load_items<Items>(static_cast<const T*>(out_row.data), out_row.stride, first, count, T(0), previous);
#pragma unroll
      for (int j = 0; j < Items; ++j) y[j] += previous[j];
    }
    ss_store_items<Items>(out_row.data, out_row.stride, first, count, y);
  }
};

}  // namespace rescan::cuda_detail
