// Warp-level selective scan, forward pass: one warp runs one (batch, channel) row, tile after tile
// (rows without packed sequences; packed rows take block_selective_scan.cuh).
//
// A tile is 32 * Items consecutive positions; lane i holds positions i*Items .. i*Items + Items - 1.
// Per tile a lane loads u and Δ (bias, softplus) of its items once, then for every state n:
//   1. folds its items' pairs (Ā, b̄) = (exp(Δ A_n), Δ u B_n) in order into one pair;
//   2. the warp scans those 32 pairs with shuffles (affine_compose) and shifts the result by one
//      lane: the pair that takes the state entering the tile to the state entering the lane;
//   3. the lane applies it to the carried state of n, runs its items' recurrence h = Ā h + b̄
//      itself and adds C_n h to each item's y;
//   4. the last lane's final h is the carry into the next tile.
// Padding items (past L) are the identity (Δ = 0: Ā = 1, b̄ = 0), so the carry after the last tile
// is the final state. The carries live in the warp's slice of shared memory, one per n.
// Checkpoint k is the carry entering position k * interval (h0 or 0 for k = 0), as the block
// kernels save and read them.
//
// Against block_selective_scan's forward pass (a cub::BlockScan per state and tile of 4 positions a
// thread, with block barriers), the scan's fixed cost here is a warp's shuffles spread over Items
// positions a lane, and a row never waits for other warps.
#pragma once

#include "rescan/core/config.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/cuda/detail/selective_scan_problem.cuh"
#include "rescan/cuda/detail/selective_scan_rows.cuh"

namespace rescan::cuda_detail {

template <class T, int Items>
struct warp_selective_scan {
  static constexpr int lanes = 32;
  static constexpr index_t tile = index_t(lanes) * Items;
  static constexpr index_t interval = selective_scan_tuning::tile;
  static_assert(interval % tile == 0, "a tile divides the checkpoint interval");

  // carry: this warp's shared memory, selective_scan_max_state elements. out: (batch, dim, L) or
  // empty (checkpoints only); last_state (batch, dim, N) and checkpoints (batch, dim, tiles, N)
  // optional (no data). Every lane of the warp must call it.
  __device__ static void forward_row(T* carry, const ss_params<T>& p, index_t row, const strided_view<T, 3>& out,
                                     bool accumulate_output, const strided_view<T, 3>& last_state,
                                     const strided_view<T, 4>& checkpoints) {
    constexpr unsigned all_lanes = 0xffffffffu;
    const int lane = static_cast<int>(threadIdx.x % lanes);
    const index_t b = row / p.dim, d = row % p.dim;
    const index_t N = p.state, L = p.length;
    const bool write_out = out.data() != nullptr && !out.empty();
    const ss_row_matrix<T> B_row = ss_row_of(p.B, b, d), C_row = ss_row_of(p.C, b, d);
    const ss_row_sequence<const T> u_row = ss_sequence_of(p.u, b, d), delta_row = ss_sequence_of(p.delta, b, d);
    const T bias = p.delta_bias.data() != nullptr ? p.delta_bias(d) : T(0);
    const T D = p.has_D() ? p.D(d) : T(0);
    const affine_compose op{};

    for (index_t n = lane; n < N; n += lanes) carry[n] = p.initial(b, d, n);
    __syncwarp();

    for (index_t tile_begin = 0; tile_begin < L; tile_begin += tile) {
      if (checkpoints.data() != nullptr && tile_begin % interval == 0) {
        for (index_t n = lane; n < N; n += lanes) checkpoints(b, d, tile_begin / interval, n) = carry[n];
      }
      const index_t first = tile_begin + index_t(lane) * Items;
      const index_t remaining = L - first;
      const int count = remaining <= 0 ? 0 : (remaining < Items ? static_cast<int>(remaining) : Items);

      T step[Items], step_u[Items], y[Items];
      {
        T u[Items], raw[Items];
        ss_load_items<Items>(u_row.data, u_row.stride, first, count, T(0), u);
        ss_load_items<Items>(delta_row.data, delta_row.stride, first, count, T(0), raw);
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          T derivative;
          step[j] = j < count ? p.step_of(raw[j] + bias, derivative) : T(0);  // padding: Ā = 1, b̄ = 0
          step_u[j] = step[j] * u[j];
          y[j] = p.has_D() ? D * u[j] : T(0);
        }
      }

      for (index_t n = 0; n < N; ++n) {
        const T a = p.A(d, n);
        T decay[Items], input[Items], C[Items];
        B_row.load(n, first, count, input);

        // 1. the lane's items folded into one pair
        affine_pair<T> lane_pair{T(1), T(0)};
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          decay[j] = decay_of(step[j], a);
          input[j] *= step_u[j];
          lane_pair = op(lane_pair, affine_pair<T>{decay[j], input[j]});
        }
        if (write_out) C_row.load(n, first, count, C);  // in flight during the scan
        // 2. inclusive scan over the lanes, then shifted: the pair before the lane's first item
#pragma unroll
        for (int offset = 1; offset < lanes; offset *= 2) {
          const affine_pair<T> earlier{__shfl_up_sync(all_lanes, lane_pair.a, offset),
                                       __shfl_up_sync(all_lanes, lane_pair.b, offset)};
          if (lane >= offset) lane_pair = op(earlier, lane_pair);
        }
        affine_pair<T> before{__shfl_up_sync(all_lanes, lane_pair.a, 1), __shfl_up_sync(all_lanes, lane_pair.b, 1)};
        if (lane == 0) before = affine_pair<T>{T(1), T(0)};

        // 3. the lane's own recurrence from the state entering it
        T h = before.a * carry[n] + before.b;
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          h = decay[j] * h + input[j];
          if (write_out) y[j] += C[j] * h;
        }
        // 4. the carry into the next tile
        const T next = __shfl_sync(all_lanes, h, lanes - 1);
        __syncwarp();  // every lane has read carry[n]
        if (lane == 0) carry[n] = next;
      }
      __syncwarp();  // the carries are in for the next tile's checkpoints and scans

      if (write_out && count > 0) {
        const ss_row_sequence<T> out_row = ss_sequence_of(out, b, d);
        if (p.has_z()) {
          T z[Items];
          const ss_row_sequence<const T> z_row = ss_sequence_of(p.z, b, d);
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
    }

    if (last_state.data() != nullptr) {
      for (index_t n = lane; n < N; n += lanes) last_state(b, d, n) = carry[n];
    }
    __syncwarp();  // the next row rewrites the carries
  }
};

}  // namespace rescan::cuda_detail
