// Kernels of the selective scan:
//   selective_scan_forward_rows_kernel<Scan>   rows without packed sequences: a block per
//                                   Scan::rows_per_block rows (rows looped over when the grid is
//                                   capped), Scan::forward_rows; Scan is
//                                   warp_state_lanes_selective_scan (N <= 16, L <= 256: Lanes
//                                   lanes a row, one a state) or warp_selective_scan (the other
//                                   rows: one warp a row);
//   selective_scan_forward_kernel   rows with packed sequences: one block per (batch, channel) row
//                                   (rows looped over when the grid is capped),
//                                   block_selective_scan::forward_row;
//   selective_scan_step_kernel      the decoding step (L = 1): a block per tile of rows, one thread
//                                   per row summing y, the states spread over the block;
//   selective_scan_backward_kernel  one block per run of rows (runs: see ss_runs), each row of the
//                                   run in turn through block_selective_scan::backward_row;
//   selective_scan_sum_rows_kernel  dA, constant dB / dC, dD, ddelta_bias: the per-row sums of the
//                                   backward kernel summed over the batch, in batch order;
//   selective_scan_sum_runs_kernel  variable dB / dC: the runs' partials summed over the runs of a
//                                   group, in order;
//   selective_scan_find_non_finite_kernel   the first non-finite element of A (host validation).
// No atomics touch a gradient: every sum has one fixed order, so results are the same bits on every
// run (the only atomic is the atomicMin of the validation, whose result is order-independent).
#pragma once

#include <cstdint>

#include "rescan/core/config.hpp"
#include "rescan/cuda/block/block_selective_scan.cuh"
#include "rescan/cuda/detail/elements.cuh"
#include "rescan/cuda/detail/selective_scan_problem.cuh"
#include "rescan/cuda/warp/warp_selective_scan.cuh"
#include "rescan/cuda/warp/warp_state_lanes_selective_scan.cuh"

namespace rescan::cuda_detail {

template <class T, bool Packed, int Threads, int Items>
__global__ void __launch_bounds__(Threads)
    selective_scan_forward_kernel(ss_params<T> p, strided_view<T, 3> out, bool accumulate_output,
                                  strided_view<T, 3> last_state, strided_view<T, 4> checkpoints) {
  using block = block_selective_scan<T, Packed, Threads, Items>;
  __shared__ typename block::ForwardStorage temp;
  const index_t rows = p.batch * p.dim;
  for (index_t row = blockIdx.x; row < rows; row += gridDim.x) {
    block::forward_row(temp, p, row, out, accumulate_output, last_state, checkpoints);
  }
}

template <class Scan, class T = typename Scan::value_type>
__global__ void __launch_bounds__(Scan::threads, Scan::min_blocks)
    selective_scan_forward_rows_kernel(ss_params<T> p, strided_view<T, 3> out, bool accumulate_output,
                                       strided_view<T, 3> last_state, strided_view<T, 4> checkpoints) {
  __shared__ typename Scan::storage shared;
  const index_t rows = p.batch * p.dim;
  for (index_t first_row = index_t(blockIdx.x) * Scan::rows_per_block; first_row < rows;
       first_row += index_t(gridDim.x) * Scan::rows_per_block) {
    Scan::forward_rows(shared, p, first_row, out, accumulate_output, last_state, checkpoints);
  }
}

// The decoding step (L = 1, no packed sequences), with the arithmetic of the block kernel on a
// sequence of length 1 (decay = exp(Δ A), h = decay h0 + Δ B u, y = D u, then += C_n h_n for n in
// order, then * scale and the gate), so stepping token by token follows the forward pass to
// rounding: the warp kernel that runs the forward pass of unpacked rows forms b̄ as (Δ u) B, this
// step and the block kernel as (Δ B) u, and the warp kernel's last_state is composed through the
// warp's scan, so the two agree within a few ulp, not to the bit (tested with a tolerance).
//
// A block takes tiles of Threads consecutive rows (row = b * dim + d, grid-stride over tiles);
// thread t owns row tile_begin + t. Per tile:
//   1. thread t puts its row's b, d, B / C groups, u and Δ (bias, softplus) in shared memory and
//      starts y = D u;
//   2. the states go in chunks of up to Chunk n's. The tile's (row r, state j) pairs of a chunk,
//      j fastest, are dealt to the threads in turn (pair e = thread + i * Threads, i = 0 .. count-1),
//      so a warp reads and writes consecutive states of consecutive rows (coalesced when the
//      state is n-contiguous). A thread first loads h0, A, B, C of all its pairs, then computes
//      and stores (checkpoint = h0, last_state = h): h0 is read before last_state, which may be
//      the same memory, is written. C_n and h_n go to shared memory;
//   3. thread t adds C_n h_n of its row to y, n in order (the same chain as the forward kernels).
// After the last chunk thread t scales, gates and writes its y. Many rows are in flight per SM
// and a row's serial work is its chain of N multiply-adds.
template <class T, int Threads, int Chunk>
__global__ void __launch_bounds__(Threads)
    selective_scan_step_kernel(ss_params<T> p, strided_view<T, 3> out, bool accumulate_output,
                               strided_view<T, 3> last_state, strided_view<T, 4> checkpoints) {
  static_assert(Chunk >= 1 && Chunk <= Threads, "a chunk's pairs are dealt at most one per thread per round");
  // C_n and h_n of the chunk by (row of the tile, n - first); the padding column keeps the reads
  // of step 3 (one row per thread) on distinct banks.
  __shared__ T chunk_h[Threads][Chunk + 1];
  __shared__ T chunk_c[Threads][Chunk + 1];
  __shared__ T row_u[Threads], row_step[Threads];
  __shared__ index_t row_b[Threads], row_d[Threads], row_group_B[Threads], row_group_C[Threads];

  const int thread = static_cast<int>(threadIdx.x);
  const index_t rows = p.batch * p.dim, N = p.state;
  const bool write_out = out.data() != nullptr && !out.empty();
  const bool write_last = last_state.data() != nullptr;
  const bool write_checkpoint = checkpoints.data() != nullptr;

  // Every thread of a block runs the same tiles and chunks (the barriers need all of them).
  for (index_t tile_begin = index_t(blockIdx.x) * Threads; tile_begin < rows;
       tile_begin += index_t(gridDim.x) * Threads) {
    const int tile_rows = static_cast<int>(rows - tile_begin < Threads ? rows - tile_begin : Threads);
    const bool owns_row = thread < tile_rows;
    index_t b = 0, d = 0;
    T y = T(0);
    if (owns_row) {
      const index_t row = tile_begin + thread;
      b = row / p.dim;
      d = row % p.dim;
      T derivative;
      const T u = p.u(b, d, 0);
      row_u[thread] = u;
      row_step[thread] = p.step(b, d, 0, derivative);
      row_b[thread] = b;
      row_d[thread] = d;
      row_group_B[thread] = p.B.group_of(d);
      row_group_C[thread] = p.C.group_of(d);
      y = p.has_D() ? p.D(d) * u : T(0);
    }

    for (index_t first = 0; first < N; first += Chunk) {
      const int count = static_cast<int>(N - first < Chunk ? N - first : Chunk);  // states in this chunk
      // Pair e = r * count + j. Going from e to e + Threads moves (r, j) by (r_step, j_step).
      const int r_step = Threads / count, j_step = Threads % count;
      __syncthreads();  // the rows' values are in; the previous chunk's sums are done with chunk_h / chunk_c

      T h0[Chunk], a[Chunk], b_in[Chunk], c_out[Chunk];
      {
        int r = thread / count, j = thread % count;
#pragma unroll
        for (int i = 0; i < Chunk; ++i) {
          h0[i] = a[i] = b_in[i] = c_out[i] = T(0);
          if (i < count && r < tile_rows) {
            const index_t rb = row_b[r], rd = row_d[r], n = first + j;
            h0[i] = p.initial(rb, rd, n);
            a[i] = p.A(rd, n);
            b_in[i] = p.B.at_group(rb, rd, row_group_B[r], n, 0);
            if (write_out) c_out[i] = p.C.at_group(rb, rd, row_group_C[r], n, 0);
          }
          r += r_step;
          j += j_step;
          if (j >= count) {
            j -= count;
            ++r;
          }
        }
      }
      {
        int r = thread / count, j = thread % count;
#pragma unroll
        for (int i = 0; i < Chunk; ++i) {
          if (i < count && r < tile_rows) {
            const index_t rb = row_b[r], rd = row_d[r], n = first + j;
            const T step = row_step[r], u = row_u[r];
            if (write_checkpoint) checkpoints(rb, rd, 0, n) = h0[i];
            const T decay = decay_of(step, a[i]);
            const T input = step * b_in[i] * u;
            const T h = decay * h0[i] + input;
            if (write_last) last_state(rb, rd, n) = h;
            if (write_out) {
              chunk_h[r][j] = h;
              chunk_c[r][j] = c_out[i];
            }
          }
          r += r_step;
          j += j_step;
          if (j >= count) {
            j -= count;
            ++r;
          }
        }
      }

      if (write_out) {
        __syncthreads();  // the chunk's C_n, h_n are in
        if (owns_row) {
          for (int j = 0; j < count; ++j) y += chunk_c[thread][j] * chunk_h[thread][j];
        }
      }
    }

    if (write_out && owns_row) {
      ss_write(out, b, d, 0, ss_scaled_and_gated(p, y, b, d, 0), accumulate_output);
    }
    __syncthreads();  // the next tile rewrites the rows' values and the chunk
  }
}

template <class T, bool Packed, int Threads, int Items>
__global__ void __launch_bounds__(Threads)
    selective_scan_backward_kernel(ss_params<T> p, ss_backward_outputs<T> g, ss_runs runs) {
  using block = block_selective_scan<T, Packed, Threads, Items>;
  __shared__ typename block::BackwardStorage temp;
  const index_t count = runs.count();
  for (index_t run = blockIdx.x; run < count; run += gridDim.x) {
    const index_t b = runs.batch_of(run), first = runs.first_channel(run), channels = runs.channels(run);
    for (index_t c = 0; c < channels; ++c) {
      block::backward_row(temp, p, b * p.dim + first + c, g, run, c == 0);
    }
  }
}

// out(d, w) (=, or += when accumulate) the sum over b of partial[(b * dim + d) * width + w], b in
// order. One thread per output element; batch 0 writes zeros.
template <class T>
__global__ void selective_scan_sum_rows_kernel(const T* partial, index_t batch, index_t dim, index_t width,
                                               strided_view<T, 2> out, bool accumulate) {
  const index_t count = dim * width;
  for (index_t e = blockIdx.x * index_t(blockDim.x) + threadIdx.x; e < count; e += index_t(gridDim.x) * blockDim.x) {
    T sum = T(0);
    for (index_t b = 0; b < batch; ++b) sum += partial[b * count + e];
    ss_store(out(e / width, e % width), sum, accumulate);
  }
}

// out(b, group, n, s) (= or +=) the sum of partial[(r * N + n) * L + s] over the runs r of the
// group's units, in run order. One thread per output element, s fastest (coalesced reads).
template <class T>
__global__ void selective_scan_sum_runs_kernel(const T* partial, ss_runs runs, index_t channels_per_group,
                                               index_t state, index_t length, strided_view<T, 4> out,
                                               bool accumulate) {
  const index_t groups = runs.dim / channels_per_group;
  const index_t units_per_group = channels_per_group / runs.unit;
  const index_t count = runs.batch * groups * state * length;
  for (index_t e = blockIdx.x * index_t(blockDim.x) + threadIdx.x; e < count; e += index_t(gridDim.x) * blockDim.x) {
    const index_t s = e % length;
    const index_t n = (e / length) % state;
    const index_t group = (e / (length * state)) % groups;
    const index_t b = e / (length * state * groups);
    const index_t first = (b * runs.units() + group * units_per_group) * runs.runs_per_unit;
    const index_t last = first + units_per_group * runs.runs_per_unit;
    T sum = T(0);
    for (index_t r = first; r < last; ++r) sum += partial[(r * state + n) * length + s];
    ss_store(out(b, group, n, s), sum, accumulate);
  }
}

// *first = the smallest row-major index (d * N + n) of a non-finite A(d, n); untouched if none.
template <class T>
__global__ void selective_scan_find_non_finite_kernel(strided_view<const T, 2> A, unsigned long long* first) {
  const index_t N = A.extent(1), count = A.extent(0) * N;
  for (index_t e = blockIdx.x * index_t(blockDim.x) + threadIdx.x; e < count; e += index_t(gridDim.x) * blockDim.x) {
    if (!is_finite(A(e / N, e % N))) atomicMin(first, static_cast<unsigned long long>(e));
  }
}

}  // namespace rescan::cuda_detail
