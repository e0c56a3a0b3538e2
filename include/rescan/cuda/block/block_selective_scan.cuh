// Block-level selective scan: one thread block runs one (batch, channel) row, tile after tile.
//
// Forward (forward_row; the library runs it for rows with packed sequences, the others take the
// warp-level pass of warp/warp_selective_scan.cuh, and the benchmarks time it as the alternative):
// thread i holds positions i*Items .. i*Items + Items - 1 of each tile. Per
// tile it loads u, Δ (bias, softplus) and z once; then for every state n it builds the pairs
// (Ā, b̄) = (exp(Δ A_n), Δ B_n u) and runs cub::BlockScan::ExclusiveScan under affine_compose with a
// prefix callback. The callback hands the block the state entering the tile, (1, h), kept in shared
// memory per n, and folds the tile's aggregate into it (lane 0 of warp 0 only), so the state is
// carried from tile to tile. The exclusive result at a position is the state before it; the
// thread finishes h_s = Ā_s h_{s-1} + b̄_s itself and adds C_s h_s to y_s. Padding after the last
// position is the identity (1, 0), so the carry after the last tile is the final state.
// Checkpoint k is the carried state entering position k * interval (h0 or 0 for k = 0).
//
// Backward (backward_row): tiles from last to first. Here thread i holds the tile REVERSED
// (position tile-1 - (i*Items + j)), so that cub::BlockScan, which scans in thread order, runs the
// reverse recurrence of the adjoint. Per state n:
//   1. recompute: the pairs go through shared memory into the forward arrangement, an exclusive
//      scan from the tile's checkpoint gives h_{s-1}, written back to shared memory and read in the
//      reversed arrangement (two barriers);
//   2. adjoint: with r_s = Ā_s dh_s (the gradient reaching h_{s-1} through step s),
//      r_s = Ā_s r_{s+1} + Ā_s g'_s C_s, i.e. the elements (Ā_s, Ā_s g'_s C_s) scanned in reverse;
//      the exclusive result is r_{s+1}, and dh_s = g'_s C_s + r_{s+1}. The carry entering the last
//      tile is dlast_state; the carry leaving tile 0 is dh0;
//   3. per-position gradients (du, dΔ) accumulate in registers over n; per-row sums (dA, constant
//      dB / dC) are block-reduced (cub::BlockReduce, a fixed order) into shared memory; variable
//      dB / dC contributions go to the caller's partial buffer (see kernels/selective_scan_kernel.cuh).
// Packed sequences flag the pair at a sequence's first position (forward: it starts from h0 of that
// sequence) and at its last position (backward: it starts from dlast_state of that sequence).
#pragma once

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "rescan/core/config.hpp"
#include "rescan/cuda/detail/selective_scan_problem.cuh"
#include "rescan/cuda/detail/selective_scan_rows.cuh"

namespace rescan::cuda_detail {

// Prefix callbacks of cub::BlockScan: called by the first warp with the tile's aggregate; only lane
// 0's return value is used. Only thread 0 touches the carried state: the other lanes of the warp
// may run ahead of or behind it (independent thread scheduling), so their reading the carry while
// thread 0 rewrites it would be a race (compute-sanitizer's racecheck reported it).
template <class Traits>
struct ss_carry_prefix {
  using element = typename Traits::type;
  using scalar = decltype(Traits::state(element{}));
  scalar* carry;  // shared memory

  __device__ element operator()(const element& aggregate) const {
    if (threadIdx.x != 0) return aggregate;  // unused by cub::BlockScan
    const element before = Traits::from_state(*carry);
    *carry = Traits::state(typename Traits::op_type{}(before, aggregate));
    return before;
  }
};

template <class Traits>
struct ss_fixed_prefix {
  using element = typename Traits::type;
  element value;
  __device__ element operator()(const element&) const { return value; }
};

// Three sums reduced at once.
template <class T>
struct ss_sum3 {
  T a, b, c;
};
struct ss_sum3_op {
  template <class T>
  __device__ ss_sum3<T> operator()(const ss_sum3<T>& x, const ss_sum3<T>& y) const {
    return {x.a + y.a, x.b + y.b, x.c + y.c};
  }
};

// What the backward pass writes, in scan order (views default-constructed when not asked for).
template <class T>
struct ss_backward_outputs {
  strided_view<const T, 3> dout{};
  strided_view<const T, 3> dlast_state{};
  strided_view<const T, 4> checkpoints{};  // (batch, dim, tiles, N), always present
  strided_view<T, 3> du{}, ddelta{}, dz{}, dh0{};
  bool accumulate = false;
  // Per-row sums, (rows, N) or (rows): written (not accumulated) for every row; null when not asked.
  T* row_dA = nullptr;
  T* row_dB = nullptr;  // constant B only
  T* row_dC = nullptr;  // constant C only
  T* row_dD = nullptr;
  T* row_ddelta_bias = nullptr;
  // Variable dB / dC: (runs, N, L) partials, a run's first channel writes, the others add.
  T* run_dB = nullptr;
  T* run_dC = nullptr;
};

template <class T, bool Packed, int Threads, int Items>
struct block_selective_scan {
  using traits = ss_element<T, Packed>;
  using element = typename traits::type;
  using op_type = typename traits::op_type;
  using scan_type = cub::BlockScan<element, Threads>;
  using reduce_type = cub::BlockReduce<ss_sum3<T>, Threads>;
  static constexpr index_t tile = index_t(Threads) * Items;
  // Checkpoints are saved every `interval` positions. The forward pass may run smaller tiles (it
  // saves at the tiles that start a checkpoint interval); the backward pass recomputes a tile from
  // the checkpoint at its start, so it runs tiles of the interval, or one tile holding all of L.
  static constexpr index_t interval = selective_scan_tuning::tile;
  static_assert(interval % tile == 0, "a tile divides the checkpoint interval");
  static constexpr index_t max_state = selective_scan_max_state;

  struct ForwardStorage {
    typename scan_type::TempStorage scan;
    T carry[max_state];
  };

  struct BackwardStorage {
    union {
      typename scan_type::TempStorage scan;
      typename reduce_type::TempStorage reduce;
    } cub;
    element exchange[tile];  // the tile's pairs, by position in the tile
    T states[tile];          // h_{s-1}, by position in the tile
    T carry[max_state];      // r entering the tile, per n
    T sum_dA[max_state], sum_dB[max_state], sum_dC[max_state];
    T sum_dD, sum_ddelta_bias;
  };

  // ---- forward ---------------------------------------------------------------------------------
  // out: (batch, dim, L) or empty (no output: checkpoints only); last_state and checkpoints
  // optional (no data). Every thread of the block must call it.
  __device__ static void forward_row(ForwardStorage& temp, const ss_params<T>& p, index_t row,
                                     const strided_view<T, 3>& out, bool accumulate_output,
                                     const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints) {
    const int thread = static_cast<int>(threadIdx.x);
    const index_t b = row / p.dim, d = row % p.dim;
    const ss_row_matrix<T> B_row = ss_row_of(p.B, b, d), C_row = ss_row_of(p.C, b, d);
    const index_t N = p.state, L = p.length;
    const bool write_out = out.data() != nullptr && !out.empty();
    const bool write_last = last_state.data() != nullptr;
    const op_type op{};

    for (index_t n = thread; n < N; n += Threads) temp.carry[n] = Packed ? T(0) : p.initial(b, d, n);
    if (Packed && write_last) {
      // Zero-length sequences: the last state is the initial one.
      for (index_t k = 0; k < p.sequences.count(); ++k) {
        if (p.sequences.begin(k) != p.sequences.end(k)) continue;
        const index_t index = p.sequences.state_index(k, b);
        for (index_t n = thread; n < N; n += Threads) last_state(index, d, n) = p.initial(index, d, n);
      }
    }
    if (!Packed && write_last && L == 0) {
      for (index_t n = thread; n < N; n += Threads) last_state(b, d, n) = temp.carry[n];
    }
    __syncthreads();

    const index_t tiles = (L + tile - 1) / tile;
    for (index_t k = 0; k < tiles; ++k) {
      const index_t tile_begin = k * tile;
      if (checkpoints.data() != nullptr && tile_begin % interval == 0) {
        const index_t saved = tile_begin / interval;
        for (index_t n = thread; n < N; n += Threads) checkpoints(b, d, saved, n) = temp.carry[n];
      }
      bool valid[Items];
      T u[Items], step[Items], y[Items];
      ss_position where[Items];
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        const index_t s = tile_begin + index_t(thread) * Items + j;
        valid[j] = s < L;
        u[j] = step[j] = y[j] = T(0);
        if (valid[j]) {
          T derivative;
          u[j] = p.u(b, d, s);
          step[j] = p.step(b, d, s, derivative);
          y[j] = p.has_D() ? p.D(d) * u[j] : T(0);
          if constexpr (Packed) where[j] = locate_position(p.sequences, s);
        }
      }
      __syncthreads();  // checkpoints read the carries before the scans update them

      for (index_t n = 0; n < N; ++n) {
        const T a = p.A(d, n);
        element x[Items], before[Items];
        T decay[Items], input[Items], start[Items];
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          const index_t s = tile_begin + index_t(thread) * Items + j;
          decay[j] = T(1);
          input[j] = start[j] = T(0);
          if (!valid[j]) {
            x[j] = traits::identity();
            continue;
          }
          decay[j] = decay_of(step[j], a);
          input[j] = step[j] * B_row(n, s) * u[j];
          bool restart = false;
          if constexpr (Packed) {
            restart = where[j].begins;
            if (restart) start[j] = p.initial(where[j].state_index, d, n);
          }
          x[j] = traits::make(decay[j], restart ? decay[j] * start[j] + input[j] : input[j], restart);
        }
        ss_carry_prefix<traits> prefix{&temp.carry[n]};
        scan_type(temp.scan).ExclusiveScan(x, before, op, prefix);
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          if (!valid[j]) continue;
          const index_t s = tile_begin + index_t(thread) * Items + j;
          bool restart = false, ends = (s == L - 1);
          index_t index = b;
          if constexpr (Packed) {
            restart = where[j].begins;
            ends = where[j].ends;
            index = where[j].state_index;
          }
          const T previous = restart ? start[j] : traits::state(before[j]);
          const T h = decay[j] * previous + input[j];
          if (write_out) y[j] += C_row(n, s) * h;
          if (write_last && ends) last_state(index, d, n) = h;
        }
        __syncthreads();  // temp.scan and the carry are reused by the next state
      }

      if (write_out) {
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          if (!valid[j]) continue;
          const index_t s = tile_begin + index_t(thread) * Items + j;
          ss_write(out, b, d, s, ss_scaled_and_gated(p, y[j], b, d, s), accumulate_output);
        }
      }
    }
    __syncthreads();  // the next row rewrites the carries
  }

  // ---- backward --------------------------------------------------------------------------------
  // run: the index of the partial row for variable dB / dC; first_in_run: this row writes it (the
  // others add). Needs tile == interval or L <= tile (each tile starts at a checkpoint). Every
  // thread of the block must call it.
  __device__ static void backward_row(BackwardStorage& temp, const ss_params<T>& p, index_t row,
                                      const ss_backward_outputs<T>& g, index_t run, bool first_in_run) {
    const int thread = static_cast<int>(threadIdx.x);
    const index_t b = row / p.dim, d = row % p.dim;
    const ss_row_matrix<T> B_row = ss_row_of(p.B, b, d), C_row = ss_row_of(p.C, b, d);
    const index_t N = p.state, L = p.length;
    const bool has_dlast = g.dlast_state.data() != nullptr;
    const bool write_dh0 = g.dh0.data() != nullptr;
    const op_type op{};

    for (index_t n = thread; n < N; n += Threads) {
      temp.carry[n] = (!Packed && has_dlast) ? g.dlast_state(b, d, n) : T(0);
      temp.sum_dA[n] = temp.sum_dB[n] = temp.sum_dC[n] = T(0);
    }
    if (thread == 0) temp.sum_dD = temp.sum_ddelta_bias = T(0);
    if (Packed && write_dh0) {
      // Zero-length sequences: the gradient of the last state passes to the initial one.
      for (index_t k = 0; k < p.sequences.count(); ++k) {
        if (p.sequences.begin(k) != p.sequences.end(k)) continue;
        const index_t index = p.sequences.state_index(k, b);
        for (index_t n = thread; n < N; n += Threads) {
          ss_write(g.dh0, index, d, n, has_dlast ? g.dlast_state(index, d, n) : T(0), g.accumulate);
        }
      }
    }
    __syncthreads();

    const index_t tiles = (L + tile - 1) / tile;
    for (index_t k = tiles - 1; k >= 0; --k) {
      const index_t tile_begin = k * tile;
      bool valid[Items];
      T u[Items], step[Items], derivative[Items], gate_grad[Items], y[Items], du[Items], dstep[Items];
      ss_position where[Items];
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        const index_t l = tile - 1 - (index_t(thread) * Items + j);
        const index_t s = tile_begin + l;
        valid[j] = s < L;
        u[j] = step[j] = gate_grad[j] = y[j] = du[j] = dstep[j] = T(0);
        derivative[j] = T(1);
        if (!valid[j]) continue;
        u[j] = p.u(b, d, s);
        step[j] = p.step(b, d, s, derivative[j]);
        const T grad = g.dout(b, d, s) * p.scale;
        gate_grad[j] = grad;
        if (p.has_z()) {
          const T z = p.z(b, d, s);
          gate_grad[j] = grad * z * sigmoid_of(z);
        }
        if (p.has_D()) {
          y[j] = p.D(d) * u[j];
          du[j] = p.D(d) * gate_grad[j];
        }
        if constexpr (Packed) where[j] = locate_position(p.sequences, s);
      }

      for (index_t n = 0; n < N; ++n) {
        const T a = p.A(d, n);
        T decay[Items], input[Items], start[Items], Bv[Items];
        // 1. the pairs, into shared memory by position in the tile
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          const index_t l = tile - 1 - (index_t(thread) * Items + j);
          const index_t s = tile_begin + l;
          decay[j] = T(1);
          input[j] = start[j] = Bv[j] = T(0);
          element x = traits::identity();
          if (valid[j]) {
            decay[j] = decay_of(step[j], a);
            Bv[j] = B_row(n, s);
            input[j] = step[j] * Bv[j] * u[j];
            bool restart = false;
            if constexpr (Packed) {
              restart = where[j].begins;
              if (restart) start[j] = p.initial(where[j].state_index, d, n);
            }
            x = traits::make(decay[j], restart ? decay[j] * start[j] + input[j] : input[j], restart);
          }
          temp.exchange[l] = x;
        }
        __syncthreads();
        // recompute the states of the tile in the forward arrangement, from the checkpoint
        {
          element x[Items], before[Items];
#pragma unroll
          for (int j = 0; j < Items; ++j) x[j] = temp.exchange[index_t(thread) * Items + j];
          ss_fixed_prefix<traits> prefix{traits::from_state(g.checkpoints(b, d, tile_begin / interval, n))};
          scan_type(temp.cub.scan).ExclusiveScan(x, before, op, prefix);
#pragma unroll
          for (int j = 0; j < Items; ++j) temp.states[index_t(thread) * Items + j] = traits::state(before[j]);
        }
        __syncthreads();

        // 2. the adjoint, in the reversed arrangement
        element e[Items], after[Items];
        T previous[Items], h[Items], c[Items], dlast[Items];
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          const index_t l = tile - 1 - (index_t(thread) * Items + j);
          const index_t s = tile_begin + l;
          previous[j] = h[j] = c[j] = dlast[j] = T(0);
          e[j] = traits::identity();
          if (!valid[j]) continue;
          bool restart = false, ends = false;
          if constexpr (Packed) {
            restart = where[j].begins;
            ends = where[j].ends;
          }
          previous[j] = restart ? start[j] : temp.states[l];
          h[j] = decay[j] * previous[j] + input[j];
          const T Cv = C_row(n, s);
          y[j] += Cv * h[j];
          c[j] = gate_grad[j] * Cv;
          if (ends && has_dlast) dlast[j] = g.dlast_state(where[j].state_index, d, n);
          e[j] = traits::make(decay[j], decay[j] * (c[j] + dlast[j]), ends);
        }
        ss_carry_prefix<traits> carry{&temp.carry[n]};
        scan_type(temp.cub.scan).ExclusiveScan(e, after, op, carry);

        // 3. gradients
        ss_sum3<T> sums{T(0), T(0), T(0)};
#pragma unroll
        for (int j = 0; j < Items; ++j) {
          if (!valid[j]) continue;
          const index_t l = tile - 1 - (index_t(thread) * Items + j);
          const index_t s = tile_begin + l;
          bool restart = false, ends = false;
          if constexpr (Packed) {
            restart = where[j].begins;
            ends = where[j].ends;
          }
          const T dh = c[j] + (ends ? dlast[j] : traits::state(after[j]));  // d loss / d h_s
          const T dh_step = dh * step[j];
          du[j] += dh_step * Bv[j];
          dstep[j] += dh * (Bv[j] * u[j] + a * decay[j] * previous[j]);
          sums.a += dh_step * decay[j] * previous[j];
          const T dB = dh_step * u[j];
          const T dC = gate_grad[j] * h[j];
          sums.b += dB;
          sums.c += dC;
          const std::size_t at = (std::size_t(run) * std::size_t(N) + std::size_t(n)) * std::size_t(L) + std::size_t(s);
          if (g.run_dB != nullptr) g.run_dB[at] = first_in_run ? dB : g.run_dB[at] + dB;
          if (g.run_dC != nullptr) g.run_dC[at] = first_in_run ? dC : g.run_dC[at] + dC;
          if (Packed && restart && write_dh0) ss_write(g.dh0, where[j].state_index, d, n, decay[j] * dh, g.accumulate);
        }
        __syncthreads();  // temp.cub.scan is done
        const ss_sum3<T> total = reduce_type(temp.cub.reduce).Reduce(sums, ss_sum3_op{});
        if (thread == 0) {
          temp.sum_dA[n] += total.a;
          temp.sum_dB[n] += total.b;
          temp.sum_dC[n] += total.c;
        }
        __syncthreads();  // temp.cub.reduce, exchange and states are reused by the next state
      }

      // per-position gradients
      ss_sum3<T> sums{T(0), T(0), T(0)};
#pragma unroll
      for (int j = 0; j < Items; ++j) {
        if (!valid[j]) continue;
        const index_t l = tile - 1 - (index_t(thread) * Items + j);
        const index_t s = tile_begin + l;
        if (p.has_z() && g.dz.data() != nullptr) {
          const T z = p.z(b, d, s), sigma = sigmoid_of(z);
          const T grad = g.dout(b, d, s) * p.scale;
          ss_write(g.dz, b, d, s, grad * y[j] * sigma * (T(1) + z * (T(1) - sigma)), g.accumulate);
        }
        const T ddelta = dstep[j] * derivative[j];
        if (g.du.data() != nullptr) ss_write(g.du, b, d, s, du[j], g.accumulate);
        if (g.ddelta.data() != nullptr) ss_write(g.ddelta, b, d, s, ddelta, g.accumulate);
        sums.a += gate_grad[j] * u[j];
        sums.b += ddelta;
      }
      const ss_sum3<T> total = reduce_type(temp.cub.reduce).Reduce(sums, ss_sum3_op{});
      if (thread == 0) {
        temp.sum_dD += total.a;
        temp.sum_ddelta_bias += total.b;
      }
      __syncthreads();
    }

    // the gradient reaching the state before position 0, and the row's sums
    for (index_t n = thread; n < N; n += Threads) {
      if (!Packed && write_dh0) ss_write(g.dh0, b, d, n, temp.carry[n], g.accumulate);
      if (g.row_dA != nullptr) g.row_dA[row * N + n] = temp.sum_dA[n];
      if (g.row_dB != nullptr) g.row_dB[row * N + n] = temp.sum_dB[n];
      if (g.row_dC != nullptr) g.row_dC[row * N + n] = temp.sum_dC[n];
    }
    if (thread == 0) {
      if (g.row_dD != nullptr) g.row_dD[row] = temp.sum_dD;
      if (g.row_ddelta_bias != nullptr) g.row_ddelta_bias[row] = temp.sum_ddelta_bias;
    }
    __syncthreads();  // the next row rewrites the shared sums
  }
};

}  // namespace rescan::cuda_detail
