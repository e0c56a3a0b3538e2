// CUDA backend of the selective scan (scan/selective_scan_dispatch.hpp contract): forward, backward,
// and through them the decoding step and the bidirectional scan.
//
// Each call: checks that every given view is device (or managed) memory; validates on the host that
// A is finite and that packed-sequence offsets run sorted from 0 to L (one small copy and one
// stream synchronization); then queues on backend.stream
//   forward:  selective_scan_forward_rows_kernel: N <= 16 and L <= 256, 4 to 16 lanes a (batch,
//             channel) row, one a state, each walking the row's positions in order, B and C staged
//             in shared memory (cuda/warp/warp_state_lanes_selective_scan.cuh); other rows, a block
//             per forward_warps rows, one warp a row (cuda/warp/warp_selective_scan.cuh says how a
//             warp scans its row); with packed
//             sequences selective_scan_forward_kernel, one block per row
//             (cuda/block/block_selective_scan.cuh); sequences of
//             length 1 (the decoding step) take selective_scan_step_kernel, a block per tile of
//             step_threads rows, one thread per row (kernels/selective_scan_kernel.cuh);
//   backward: the checkpoints (recomputed into a temporary when the caller saved none), then
//             selective_scan_backward_kernel, then the ordered sums over the batch (dA, constant
//             dB / dC, dD, ddelta_bias) and over the channels of a group (variable dB / dC).
// Temporaries are stream-ordered (cudaMallocAsync / cudaFreeAsync on backend.stream). Gradients are
// deterministic: no atomics, every sum in a fixed order, so the same bits on every run.
// The checkpoint interval is the tile, cuda_detail::selective_scan_tuning::tile positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "rescan/core/error.hpp"
#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/detail/selective_scan_problem.cuh"
#include "rescan/cuda/kernels/selective_scan_kernel.cuh"
#include "rescan/scan/selective_scan_dispatch.hpp"

namespace rescan::cuda_detail {

inline constexpr const char* selective_scan_function = "selective_scan";

template <class T>
void check_selective_scan_pointers(const char* function, const detail::selective_scan_problem<T>& problem) {
  const auto& in = problem.in;
  check_device_view(function, "u", in.u);
  check_device_view(function, "delta", in.delta);
  check_device_view(function, "A", in.A);
  check_device_view(function, "B", in.B.is_variable() ? strided_view<const T, 2>{} : in.B.constant());
  if (in.B.is_variable()) check_device_view(function, "B", in.B.variable());
  check_device_view(function, "C", in.C.is_variable() ? strided_view<const T, 2>{} : in.C.constant());
  if (in.C.is_variable()) check_device_view(function, "C", in.C.variable());
  check_device_view(function, "D", in.D);
  check_device_view(function, "z", in.z);
  check_device_view(function, "delta_bias", in.delta_bias);
  check_device_view(function, "h0", in.h0);
  check_device_view(function, "sequence_offsets", problem.sequences.offsets);
}

// The offsets of packed sequences (memory order): sorted, from 0 to L, checked as the CPU backend
// does (the same messages). Copied to the host, which synchronizes the stream.
inline void check_sequence_offsets(const char* function, const detail::selective_scan_sequences& sequences,
                                   cudaStream_t stream) {
  if (!sequences.packed()) return;
  const auto offsets = copy_to_host(sequences.offsets, stream, function, "sequence_offsets");
  const index_t count = static_cast<index_t>(offsets.size()), length = sequences.length;
  for (index_t i = 0; i < count; ++i) {
    const index_t value = offsets[std::size_t(i)];
    const index_t expected_low = i == 0 ? 0 : offsets[std::size_t(i - 1)];
    const bool edge_wrong = (i == 0 && value != 0) || (i == count - 1 && value != length);
    if (edge_wrong || value < expected_low || value > length) {
      detail::raise<value_error>(function, ": sequence_offsets[", i, "] = ", value,
                                 " but offsets must be sorted, start at 0 and end at L = ", length);
    }
  }
}

// A must be finite: exp(Δ A) of an infinite A turns the whole state into inf / NaN. A device
// search for the first non-finite element; its index (and then its value) copied back.
template <class T>
void check_finite_A(const char* function, const strided_view<const T, 2>& A, cudaStream_t stream) {
  if (A.empty()) return;
  device_scratch scratch(sizeof(unsigned long long), stream, function);
  auto* first = static_cast<unsigned long long*>(scratch.data());
  check_status(cudaMemsetAsync(first, 0xFF, sizeof(unsigned long long), stream), function, "cudaMemsetAsync(A check)");
  selective_scan_find_non_finite_kernel<T>
      <<<grid_for_elements(A.size(), tuning::elementwise_threads), tuning::elementwise_threads, 0, stream>>>(A, first);
  check_launch(function, "selective_scan_find_non_finite_kernel");
  unsigned long long found = 0;
  check_status(cudaMemcpyAsync(&found, first, sizeof(found), cudaMemcpyDeviceToHost, stream), function,
               "cudaMemcpyAsync(A check)");
  check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
  if (found == ~0ull) return;
  const index_t N = A.extent(1);
  const index_t d = static_cast<index_t>(found) / N, n = static_cast<index_t>(found) % N;
  T value{};
  check_status(cudaMemcpy(&value, &A(d, n), sizeof(T), cudaMemcpyDeviceToHost), function, "cudaMemcpy(A(d, n))");
  detail::raise<value_error>(function, ": A(", d, ", ", n, ") = ", value, " but must be finite");
}

template <class T>
void validate_selective_scan(const char* function, const detail::selective_scan_problem<T>& problem,
                             cudaStream_t stream) {
  check_selective_scan_pointers(function, problem);
  check_finite_A(function, problem.in.A, stream);
  check_sequence_offsets(function, problem.sequences, stream);
}

template <class T, bool Packed>
void launch_selective_scan_forward(const ss_params<T>& p, const strided_view<T, 3>& out, bool accumulate_output,
                                   const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints,
                                   cudaStream_t stream, const char* function) {
  constexpr int items = selective_scan_tuning::items;
  const index_t rows = p.batch * p.dim;
  if (rows == 0) return;
  selective_scan_tuning::with_block_threads(p.length, [&](auto threads) {
    selective_scan_forward_kernel<T, Packed, decltype(threads)::value, items>
        <<<grid_for_items(rows), decltype(threads)::value, 0, stream>>>(p, out, accumulate_output, last_state, checkpoints);
  });
  check_launch(function, "selective_scan_forward_kernel");
}

// Rows without packed sequences through Scan (a block per Scan::rows_per_block rows).
template <class Scan, class T = typename Scan::value_type>
void launch_forward_rows(const ss_params<T>& p, const strided_view<T, 3>& out, bool accumulate_output,
                         const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints,
                         cudaStream_t stream, const char* function) {
  const index_t rows = p.batch * p.dim;
  if (rows == 0) return;
  selective_scan_forward_rows_kernel<Scan><<<grid_for_items(ceil_div(rows, index_t(Scan::rows_per_block))),
                                             Scan::threads, 0, stream>>>(p, out, accumulate_output, last_state,
                                                                         checkpoints);
  check_launch(function, "selective_scan_forward_rows_kernel");
}

// Rows without packed sequences: one warp per row, forward_warps rows a block, Items positions a
// lane (the benchmarks call this directly to compare the choices).
template <class T, int Items>
void launch_warp_selective_scan_forward_items(const ss_params<T>& p, const strided_view<T, 3>& out,
                                              bool accumulate_output, const strided_view<T, 3>& last_state,
                                              const strided_view<T, 4>& checkpoints, cudaStream_t stream,
                                              const char* function) {
  launch_forward_rows<warp_selective_scan<T, Items, selective_scan_tuning::forward_warps>>(
      p, out, accumulate_output, last_state, checkpoints, stream, function);
}

// Rows without packed sequences, N <= Lanes (the library: also L <= 256): Lanes lanes a row, one a
// state.
template <class T, int Lanes>
void launch_state_lanes_selective_scan_forward(const ss_params<T>& p, const strided_view<T, 3>& out,
                                               bool accumulate_output, const strided_view<T, 3>& last_state,
                                               const strided_view<T, 4>& checkpoints, cudaStream_t stream,
                                               const char* function) {
  if (p.state > Lanes) {  // (the kernel would stage past its buffers and drop states)
    detail::raise<error>(function, ": ", p.state, " states do not fit ", Lanes, " lanes a row");
  }
  launch_forward_rows<warp_state_lanes_selective_scan<T, Lanes, selective_scan_tuning::forward_warps>>(
      p, out, accumulate_output, last_state, checkpoints, stream, function);
}

// The same with the items the tuning picks for L.
template <class T>
void launch_warp_selective_scan_forward(const ss_params<T>& p, const strided_view<T, 3>& out, bool accumulate_output,
                                        const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints,
                                        cudaStream_t stream, const char* function) {
  selective_scan_tuning::with_warp_items<T>(p.length, [&](auto items) {
    launch_warp_selective_scan_forward_items<T, decltype(items)::value>(p, out, accumulate_output, last_state,
                                                                         checkpoints, stream, function);
  });
}

template <class T>
void run_selective_scan_forward(const ss_params<T>& p, const strided_view<T, 3>& out, bool accumulate_output,
                                const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints,
                                cudaStream_t stream, const char* function) {
  if (!p.sequences.packed() && p.length == 1) {
    constexpr int threads = selective_scan_tuning::step_threads;
    constexpr int chunk = selective_scan_tuning::step_chunk;
    const index_t rows = p.batch * p.dim;
    if (rows == 0) return;
    selective_scan_step_kernel<T, threads, chunk><<<grid_for_items(ceil_div(rows, threads)), threads, 0, stream>>>(
        p, out, accumulate_output, last_state, checkpoints);
    check_launch(function, "selective_scan_step_kernel");
  } else if (p.sequences.packed()) {
    launch_selective_scan_forward<T, true>(p, out, accumulate_output, last_state, checkpoints, stream, function);
  } else if (!selective_scan_tuning::with_state_lanes(p.state, p.length, [&](auto lanes) {
               launch_state_lanes_selective_scan_forward<T, decltype(lanes)::value>(
                   p, out, accumulate_output, last_state, checkpoints, stream, function);
             })) {
    launch_warp_selective_scan_forward(p, out, accumulate_output, last_state, checkpoints, stream, function);
  }
}

// A 1-D (dim) view as (dim, 1), for the sum kernel.
template <class T>
strided_view<T, 2> as_column(const strided_view<T, 1>& v) {
  return strided_view<T, 2>(v.data(), {v.extent(0), 1}, {v.stride(0), 1});
}

template <class T, bool Packed>
void launch_selective_scan_backward(const ss_params<T>& p, const ss_backward_outputs<T>& g, const ss_runs& runs,
                                    cudaStream_t stream, const char* function) {
  constexpr int items = selective_scan_tuning::items;
  if (runs.count() == 0) return;
  selective_scan_tuning::with_block_threads(p.length, [&](auto threads) {
    selective_scan_backward_kernel<T, Packed, decltype(threads)::value, items>
        <<<grid_for_items(runs.count()), decltype(threads)::value, 0, stream>>>(p, g, runs);
  });
  check_launch(function, "selective_scan_backward_kernel");
}

}  // namespace rescan::cuda_detail

namespace rescan::detail {

template <>
struct selective_scan_kernels<cuda_t> {
  static index_t checkpoint_interval(const cuda_t&) { return cuda_detail::selective_scan_tuning::tile; }

  template <class T>
  static void check_values(const cuda_t& backend, const selective_scan_problem<T>& problem) {
    cuda_detail::validate_selective_scan(cuda_detail::selective_scan_function, problem,
                                         cuda_detail::stream_of(backend));
  }

  template <class T>
  static void forward(const cuda_t& backend, const selective_scan_problem<T>& problem, const strided_view<T, 3>& out,
                      const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints) {
    constexpr const char* function = cuda_detail::selective_scan_function;
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "out", out);
    cuda_detail::check_device_view(function, "last_state", last_state);
    cuda_detail::check_device_view(function, "checkpoints", checkpoints);
    cuda_detail::validate_selective_scan(function, problem, stream);
    const auto p = cuda_detail::make_params(problem);
    cuda_detail::run_selective_scan_forward(p, out, problem.accumulate_output, last_state, checkpoints, stream,
                                            function);
  }

  template <class T>
  static void backward(const cuda_t& backend, const selective_scan_problem<T>& problem,
                       const strided_view<const T, 3>& dout, const strided_view<const T, 3>& dlast_state,
                       const strided_view<const T, 4>& checkpoints, const selective_scan_gradients<T>& gradients) {
    backward_with_budget(backend, problem, dout, dlast_state, checkpoints, gradients,
                         cuda_detail::selective_scan_tuning::variable_partial_bytes);
  }

  // backward() with the byte budget of the variable dB / dC partials as a parameter (tests use a
  // small one to put several channels in one run).
  template <class T>
  static void backward_with_budget(const cuda_t& backend, const selective_scan_problem<T>& problem,
                                   const strided_view<const T, 3>& dout, const strided_view<const T, 3>& dlast_state,
                                   const strided_view<const T, 4>& checkpoints,
                                   const selective_scan_gradients<T>& gradients, std::size_t partial_budget) {
    using cuda_detail::align_up;
    constexpr const char* function = cuda_detail::selective_scan_function;
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "dout", dout);
    cuda_detail::check_device_view(function, "dlast_state", dlast_state);
    cuda_detail::check_device_view(function, "checkpoints", checkpoints);
    cuda_detail::check_device_view(function, "gradients.du", gradients.du);
    cuda_detail::check_device_view(function, "gradients.ddelta", gradients.ddelta);
    cuda_detail::check_device_view(function, "gradients.dA", gradients.dA);
    if (gradients.dB.given()) {
      if (gradients.dB.is_variable()) {
        cuda_detail::check_device_view(function, "gradients.dB", gradients.dB.variable());
      } else {
        cuda_detail::check_device_view(function, "gradients.dB", gradients.dB.constant());
      }
    }
    if (gradients.dC.given()) {
      if (gradients.dC.is_variable()) {
        cuda_detail::check_device_view(function, "gradients.dC", gradients.dC.variable());
      } else {
        cuda_detail::check_device_view(function, "gradients.dC", gradients.dC.constant());
      }
    }
    cuda_detail::check_device_view(function, "gradients.dD", gradients.dD);
    cuda_detail::check_device_view(function, "gradients.dz", gradients.dz);
    cuda_detail::check_device_view(function, "gradients.ddelta_bias", gradients.ddelta_bias);
    cuda_detail::check_device_view(function, "gradients.dh0", gradients.dh0);
    cuda_detail::validate_selective_scan(function, problem, stream);

    const auto p = cuda_detail::make_params(problem);
    const index_t rows = problem.batch * problem.dim, N = problem.state, L = problem.length;
    const index_t tiles = (L + cuda_detail::selective_scan_tuning::tile - 1) / cuda_detail::selective_scan_tuning::tile;
    const bool recompute = checkpoints.data() == nullptr && rows > 0 && tiles > 0;
    const bool variable_dB = gradients.dB.given() && gradients.dB.is_variable();
    const bool variable_dC = gradients.dC.given() && gradients.dC.is_variable();
    const bool constant_dB = gradients.dB.given() && !gradients.dB.is_variable();
    const bool constant_dC = gradients.dC.given() && !gradients.dC.is_variable();
    const bool want_dA = given(gradients.dA.data());
    const bool want_dD = given(gradients.dD.data());
    const bool want_ddelta_bias = given(gradients.ddelta_bias.data());
    const auto runs = cuda_detail::make_runs(problem, gradients, partial_budget);

    // One temporary: [checkpoints][row sums: dA, dB, dC (rows x N); dD, ddelta_bias (rows)][run partials dB, dC]
    const std::size_t row_state_bytes = align_up(std::size_t(rows) * std::size_t(N) * sizeof(T));
    const std::size_t row_bytes = align_up(std::size_t(rows) * sizeof(T));
    const std::size_t run_bytes = align_up(std::size_t(runs.count()) * std::size_t(N) * std::size_t(L) * sizeof(T));
    std::size_t offsets[8] = {};
    const std::size_t sizes[8] = {recompute ? align_up(std::size_t(rows) * std::size_t(tiles) * std::size_t(N) * sizeof(T)) : 0,
                                  want_dA ? row_state_bytes : 0,
                                  constant_dB ? row_state_bytes : 0,
                                  constant_dC ? row_state_bytes : 0,
                                  want_dD ? row_bytes : 0,
                                  want_ddelta_bias ? row_bytes : 0,
                                  variable_dB ? run_bytes : 0,
                                  variable_dC ? run_bytes : 0};
    std::size_t total = 0;
    for (int i = 0; i < 8; ++i) {
      offsets[i] = total;
      total += sizes[i];
    }
    cuda_detail::device_scratch scratch(total, stream, function);
    char* base = static_cast<char*>(scratch.data());
    auto piece = [&](int i) -> T* { return sizes[i] > 0 ? reinterpret_cast<T*>(base + offsets[i]) : nullptr; };

    cuda_detail::ss_backward_outputs<T> g;
    g.dout = dout;
    g.dlast_state = dlast_state;
    g.checkpoints = checkpoints;
    if (recompute) {
      const strided_view<T, 4> saved(piece(0), {problem.batch, problem.dim, tiles, N});
      cuda_detail::run_selective_scan_forward(p, strided_view<T, 3>{}, false, strided_view<T, 3>{}, saved, stream,
                                              function);
      g.checkpoints = saved;
    }
    g.du = gradients.du;
    g.ddelta = gradients.ddelta;
    g.dz = gradients.dz;
    g.dh0 = gradients.dh0;
    g.accumulate = gradients.accumulate;
    g.row_dA = piece(1);
    g.row_dB = piece(2);
    g.row_dC = piece(3);
    g.row_dD = piece(4);
    g.row_ddelta_bias = piece(5);
    g.run_dB = piece(6);
    g.run_dC = piece(7);

    if (rows > 0) {
      if (problem.sequences.packed()) {
        cuda_detail::launch_selective_scan_backward<T, true>(p, g, runs, stream, function);
      } else {
        cuda_detail::launch_selective_scan_backward<T, false>(p, g, runs, stream, function);
      }
    }

    // Ordered sums over the batch; with batch 0 they write zeros.
    constexpr int threads = cuda_detail::tuning::elementwise_threads;
    auto sum_rows = [&](const T* partial, const strided_view<T, 2>& out, index_t width, const char* what) {
      const index_t count = problem.dim * width;
      if (count == 0) return;
      cuda_detail::selective_scan_sum_rows_kernel<T><<<cuda_detail::grid_for_elements(count, threads), threads, 0,
                                                        stream>>>(partial, problem.batch, problem.dim, width, out,
                                                                  gradients.accumulate);
      cuda_detail::check_launch(function, what);
    };
    if (want_dA) sum_rows(g.row_dA, gradients.dA, N, "selective_scan_sum_rows_kernel(dA)");
    if (constant_dB) sum_rows(g.row_dB, gradients.dB.constant(), N, "selective_scan_sum_rows_kernel(dB)");
    if (constant_dC) sum_rows(g.row_dC, gradients.dC.constant(), N, "selective_scan_sum_rows_kernel(dC)");
    if (want_dD) sum_rows(g.row_dD, cuda_detail::as_column(gradients.dD), 1, "selective_scan_sum_rows_kernel(dD)");
    if (want_ddelta_bias) {
      sum_rows(g.row_ddelta_bias, cuda_detail::as_column(gradients.ddelta_bias), 1,
               "selective_scan_sum_rows_kernel(ddelta_bias)");
    }
    auto sum_runs = [&](const T* partial, const strided_view<T, 4>& out, const char* what) {
      const index_t count = out.size();
      if (count == 0) return;
      const index_t channels_per_group = problem.dim / out.extent(1);
      cuda_detail::selective_scan_sum_runs_kernel<T><<<cuda_detail::grid_for_elements(count, threads), threads, 0,
                                                        stream>>>(partial, runs, channels_per_group, N, L, out,
                                                                  gradients.accumulate);
      cuda_detail::check_launch(function, what);
    };
    if (variable_dB) sum_runs(g.run_dB, gradients.dB.variable(), "selective_scan_sum_runs_kernel(dB)");
    if (variable_dC) sum_runs(g.run_dC, gradients.dC.variable(), "selective_scan_sum_runs_kernel(dC)");
  }
};

}  // namespace rescan::detail
