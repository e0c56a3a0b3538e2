// Kernels of the selective scan:
//   selective_scan_forward_kernel   one block per (batch, channel) row (rows looped over when the
//                                   grid is capped), block_selective_scan::forward_row;
//   selective_scan_step_kernel      the decoding step (L = 1): one warp per row;
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

// The decoding step (L = 1, no packed sequences): one warp per row, lane l holding states l, l + 32,
// ... The same arithmetic as the tile kernel on a sequence of length 1 (h = Ā h0 + Δ B u, y summed
// over n in order from D u), so stepping token by token follows the forward pass.
template <class T, int Threads>
__global__ void __launch_bounds__(Threads)
    selective_scan_step_kernel(ss_params<T> p, strided_view<T, 3> out, bool accumulate_output,
                               strided_view<T, 3> last_state, strided_view<T, 4> checkpoints) {
  constexpr int warp = 32;
  constexpr index_t warps = Threads / warp;
  const int lane = static_cast<int>(threadIdx.x) % warp;
  const index_t rows = p.batch * p.dim;
  const bool write_out = out.data() != nullptr && !out.empty();
  // Whole warps step through the rows together (the shuffles need every lane).
  for (index_t row = index_t(blockIdx.x) * warps + index_t(threadIdx.x) / warp; row < rows;
       row += index_t(gridDim.x) * warps) {
    const index_t b = row / p.dim, d = row % p.dim;
    T derivative;
    const T u = p.u(b, d, 0);
    const T step = p.step(b, d, 0, derivative);
    T y = p.has_D() ? p.D(d) * u : T(0);
    for (index_t first = 0; first < p.state; first += warp) {
      const index_t n = first + lane;
      T h = T(0), c = T(0);
      if (n < p.state) {
        const T h0 = p.initial(b, d, n);  // read before last_state (may be the same memory) is written
        if (checkpoints.data() != nullptr) checkpoints(b, d, 0, n) = h0;
        const T decay = exp_of(step * p.A(d, n));
        h = decay * h0 + step * p.B(b, d, n, 0) * u;
        if (write_out) c = p.C(b, d, n, 0);
        if (last_state.data() != nullptr) last_state(b, d, n) = h;
      }
      const int here = static_cast<int>(p.state - first < warp ? p.state - first : warp);
      for (int k = 0; k < here; ++k) y += __shfl_sync(0xffffffffu, c, k) * __shfl_sync(0xffffffffu, h, k);
    }
    if (write_out && lane == 0) {
      T value = y * p.scale;
      if (p.has_z()) {
        const T z = p.z(b, d, 0);
        value *= z * sigmoid_of(z);
      }
      ss_write(out, b, d, 0, value, accumulate_output);
    }
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
    const index_t d = e / width, w = e % width;
    T& target = out(d, w);
    target = accumulate ? target + sum : sum;
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
    T& target = out(b, group, n, s);
    target = accumulate ? target + sum : sum;
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
