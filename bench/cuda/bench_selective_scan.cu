// CUDA selective scan (Mamba-1 S6) at the issue's shapes (batch, dim, L, N):
//   (32, 384, 197, 16)   Vim-Ti layer
//   (32, 768, 197, 16)   Vim-S layer
//   (1, 1536, 4096, 16)  language-model prefill
// forward (with and without saving checkpoints; without the host checks; the kernel with the
// states across lanes; the block-scan kernel; the warp kernel at each items-a-lane choice),
// backward (every gradient, from saved checkpoints and recomputing them), and the decoding step at
// (64, 1536, 1, 16). Mamba's usual arguments: variable B and C with one group, D, z, delta_bias,
// softplus; float storage and math.
// Each iteration is timed with CUDA events (UseManualTime) and includes the call's host-side
// validation (A finite: one small copy and a stream synchronization). Counters: ns per state update
// (time / (batch * dim * L * N)) and the bytes each pass must move at least (inputs read once,
// outputs written once), reported as bytes_per_second.
#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <rescan/rescan.cuh>

#include "cuda_bench_support.cuh"
#include <rescan/cuda/selective_scan.cuh>  // also in the umbrella; named so this file does not depend on it

namespace {

using rescan::index_t;
using rescan::strided_view;

using rescan_bench::check;
using rescan_bench::device_array;
using rescan_bench::time_iterations;
using device_floats = device_array<float>;

// One layer's tensors on the device, contiguous, in mamba_ssm's layouts.
struct layer {
  index_t batch, dim, length, state;
  device_floats u, delta, z, out, A, B, C, D, delta_bias, last_state, checkpoints;
  device_floats du, ddelta, dz, dA, dB, dC, dD, ddelta_bias, dh0;

  layer(index_t b, index_t d, index_t L, index_t N)
      : batch(b), dim(d), length(L), state(N),
        u(b * d * L, 0.5f), delta(b * d * L, -1.0f), z(b * d * L, 0.3f), out(b * d * L, 0.0f), A(d * N, -1.0f),
        B(b * N * L, 0.5f), C(b * N * L, 0.25f), D(d, 1.0f), delta_bias(d, 0.1f), last_state(b * d * N, 0.0f),
        checkpoints(b * d * rescan::selective_scan_checkpoint_count(rescan::cuda, L) * N, 0.0f),
        du(b * d * L, 0.0f), ddelta(b * d * L, 0.0f), dz(b * d * L, 0.0f), dA(d * N, 0.0f), dB(b * N * L, 0.0f),
        dC(b * N * L, 0.0f), dD(d, 0.0f), ddelta_bias(d, 0.0f), dh0(b * d * N, 0.0f) {}

  strided_view<float, 3> sequence(float* data) const { return rescan::make_view(data, {batch, dim, length}); }
  strided_view<float, 4> input(float* data) const { return rescan::make_view(data, {batch, index_t(1), state, length}); }
  strided_view<float, 3> states(float* data) const { return rescan::make_view(data, {batch, dim, state}); }
  strided_view<float, 4> saved() const {
    return rescan::make_view(checkpoints.data,
                             {batch, dim, rescan::selective_scan_checkpoint_count(rescan::cuda, length), state});
  }

  rescan::selective_scan_arguments<float> arguments() const {
    rescan::selective_scan_arguments<float> a;
    a.u = sequence(u.data);
    a.delta = sequence(delta.data);
    a.z = sequence(z.data);
    a.A = rescan::make_view(static_cast<const float*>(A.data), {dim, state});
    a.B = strided_view<const float, 4>(input(B.data));
    a.C = strided_view<const float, 4>(input(C.data));
    a.D = rescan::make_view(static_cast<const float*>(D.data), dim);
    a.delta_bias = rescan::make_view(static_cast<const float*>(delta_bias.data), dim);
    a.delta_softplus = true;
    return a;
  }

  rescan::selective_scan_gradients<float> gradients() const {
    rescan::selective_scan_gradients<float> g;
    g.du = sequence(du.data);
    g.ddelta = sequence(ddelta.data);
    g.dz = sequence(dz.data);
    g.dA = rescan::make_view(dA.data, {dim, state});
    g.dB = input(dB.data);
    g.dC = input(dC.data);
    g.dD = rescan::make_view(dD.data, dim);
    g.ddelta_bias = rescan::make_view(ddelta_bias.data, dim);
    g.dh0 = states(dh0.data);
    return g;
  }

  double updates() const { return double(batch) * double(dim) * double(length) * double(state); }
  // Bytes a pass must move at least: u, delta, z, out (or their gradients) per position, B and C per
  // (batch, N, position).
  double sequence_bytes() const { return double(batch) * double(dim) * double(length) * sizeof(float); }
  double input_bytes() const { return double(batch) * double(state) * double(length) * sizeof(float); }
};

void report(benchmark::State& state, const layer& l, double bytes_per_call) {
  state.counters["ns_per_update"] = benchmark::Counter(l.updates() * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                                                               benchmark::Counter::kInvert);
  state.SetBytesProcessed(static_cast<std::int64_t>(double(state.iterations()) * bytes_per_call));
  state.counters["state_updates"] = l.updates();
}

void shapes(benchmark::internal::Benchmark* bench) {
  bench->Args({32, 384, 197, 16})->Args({32, 768, 197, 16})->Args({1, 1536, 4096, 16});
  bench->ArgNames({"batch", "dim", "L", "N"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

void selective_scan_forward(benchmark::State& state) {
  const layer l(state.range(0), state.range(1), state.range(2), state.range(3));
  const auto args = l.arguments();
  time_iterations(state, [&] {
    rescan::selective_scan_forward(rescan::cuda, args, l.sequence(l.out.data), l.states(l.last_state.data));
  });
  report(state, l, 4 * l.sequence_bytes() + 2 * l.input_bytes());
}
BENCHMARK(selective_scan_forward)->Apply(shapes);

// A forward launcher of the CUDA backend's internals timed on the layer, without the call's
// host-side checks (A finite: a small copy back and a stream synchronization, about 20 us on the
// H100): launch(params, out, last_state, checkpoints, stream, name), as the launchers take them.
template <class Launch>
void time_forward_launch(benchmark::State& state, const char* name, const Launch& launch) {
  const layer l(state.range(0), state.range(1), state.range(2), state.range(3));
  const auto params = rescan::cuda_detail::make_params(rescan::detail::in_scan_order(l.arguments()));
  time_iterations(state, [&] {
    launch(params, l.sequence(l.out.data), false, l.states(l.last_state.data), strided_view<float, 4>{}, nullptr, name);
  });
  report(state, l, 4 * l.sequence_bytes() + 2 * l.input_bytes());
}

// The forward kernel the library picks, alone: the time the roofline compares with.
void selective_scan_forward_no_checks(benchmark::State& state) {
  time_forward_launch(state, "selective_scan_forward_no_checks",
                      [](const auto&... a) { rescan::cuda_detail::run_selective_scan_forward<float>(a...); });
}
BENCHMARK(selective_scan_forward_no_checks)->Apply(shapes);

// The kernel with the states across lanes (16 lanes a row at N = 16), which the library picks for
// N <= 16 and L <= 256, alone: against the warp kernel below, whose lanes hold positions.
void selective_scan_forward_state_lanes(benchmark::State& state) {
  time_forward_launch(state, "selective_scan_forward_state_lanes", [](const auto&... a) {
    rescan::cuda_detail::launch_state_lanes_selective_scan_forward<float, 16>(a...);
  });
}
BENCHMARK(selective_scan_forward_state_lanes)->Apply(shapes);

// The warp kernel with a given number of items a lane (4, 8 or 16; the library picks by L: 4 up to
// L = 128, 8 up to 256, else 16): the measurement behind that choice.
template <int Items>
void selective_scan_forward_warp_items(benchmark::State& state) {
  time_forward_launch(state, "selective_scan_forward_warp_items", [](const auto&... a) {
    rescan::cuda_detail::launch_warp_selective_scan_forward_items<float, Items>(a...);
  });
}
BENCHMARK(selective_scan_forward_warp_items<4>)->Apply(shapes);
BENCHMARK(selective_scan_forward_warp_items<8>)->Apply(shapes);
BENCHMARK(selective_scan_forward_warp_items<16>)->Apply(shapes);

// Few long rows (a language model's prefill at batch 1, 2, 4): where the kernel with the states
// across lanes runs out of warps (batch * dim / 2 of them) and the warp kernel, whose lanes hold
// positions, keeps up; the library's choice between them rests on this.
void few_long_rows(benchmark::internal::Benchmark* bench) {
  for (index_t batch : {1, 2, 4}) bench->Args({batch, 1536, 2048, 16});
  bench->ArgNames({"batch", "dim", "L", "N"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(selective_scan_forward_state_lanes)->Apply(few_long_rows);
BENCHMARK(selective_scan_forward_warp_items<16>)->Apply(few_long_rows);

// The same kernel work through the block-scan formulation (one block per row, a cub::BlockScan per
// state and tile; what rows with packed sequences run), the alternative to the warp kernel.
void selective_scan_forward_block_kernel(benchmark::State& state) {
  time_forward_launch(state, "selective_scan_forward_block_kernel", [](const auto&... a) {
    rescan::cuda_detail::launch_selective_scan_forward<float, false>(a...);
  });
}
BENCHMARK(selective_scan_forward_block_kernel)->Apply(shapes);

void selective_scan_forward_checkpoints(benchmark::State& state) {
  const layer l(state.range(0), state.range(1), state.range(2), state.range(3));
  const auto args = l.arguments();
  time_iterations(state, [&] {
    rescan::selective_scan_forward(rescan::cuda, args, l.sequence(l.out.data), l.states(l.last_state.data), l.saved());
  });
  report(state, l, 4 * l.sequence_bytes() + 2 * l.input_bytes());
}
BENCHMARK(selective_scan_forward_checkpoints)->Apply(shapes);

// Backward from the checkpoints the forward pass saved: reads u, delta, z, dout, B, C; writes du,
// ddelta, dz, dB, dC.
void selective_scan_backward(benchmark::State& state) {
  layer l(state.range(0), state.range(1), state.range(2), state.range(3));
  const auto args = l.arguments();
  rescan::selective_scan_forward(rescan::cuda, args, l.sequence(l.out.data), l.states(l.last_state.data), l.saved());
  const device_floats dout(l.batch * l.dim * l.length, 0.01f);
  const auto g = l.gradients();
  const strided_view<const float, 4> saved = l.saved();
  time_iterations(state, [&] {
    rescan::selective_scan_backward(rescan::cuda, args, l.sequence(dout.data), g, strided_view<const float, 3>{},
                                    saved);
  });
  report(state, l, 7 * l.sequence_bytes() + 4 * l.input_bytes());
}
BENCHMARK(selective_scan_backward)->Apply(shapes);

// Backward without saved checkpoints: recomputes them first (one more pass over the states).
void selective_scan_backward_recompute(benchmark::State& state) {
  layer l(state.range(0), state.range(1), state.range(2), state.range(3));
  const auto args = l.arguments();
  const device_floats dout(l.batch * l.dim * l.length, 0.01f);
  const auto g = l.gradients();
  time_iterations(state, [&] {
    rescan::selective_scan_backward(rescan::cuda, args, l.sequence(dout.data), g);
  });
  report(state, l, 7 * l.sequence_bytes() + 4 * l.input_bytes());
}
BENCHMARK(selective_scan_backward_recompute)->Apply(shapes);

// The decoding step: one token per (batch, channel), the (batch, dim, N) state read and written.
void selective_state_update(benchmark::State& state) {
  const index_t batch = state.range(0), dim = state.range(1), N = state.range(3);
  device_floats state_buffer(batch * dim * N, 0.1f), u(batch * dim, 0.5f), delta(batch * dim, -1.0f),
      z(batch * dim, 0.3f), out(batch * dim, 0.0f), A(dim * N, -1.0f), B(batch * N, 0.5f), C(batch * N, 0.25f),
      D(dim, 1.0f), delta_bias(dim, 0.1f);
  rescan::selective_state_update_arguments<float> args;
  args.state = rescan::make_view(state_buffer.data, {batch, dim, N});
  args.u = rescan::make_view(static_cast<const float*>(u.data), {batch, dim});
  args.delta = rescan::make_view(static_cast<const float*>(delta.data), {batch, dim});
  args.z = rescan::make_view(static_cast<const float*>(z.data), {batch, dim});
  args.A = rescan::make_view(static_cast<const float*>(A.data), {dim, N});
  args.B = rescan::make_view(static_cast<const float*>(B.data), {batch, index_t(1), N});
  args.C = rescan::make_view(static_cast<const float*>(C.data), {batch, index_t(1), N});
  args.D = rescan::make_view(static_cast<const float*>(D.data), dim);
  args.delta_bias = rescan::make_view(static_cast<const float*>(delta_bias.data), dim);
  args.delta_softplus = true;
  const auto out_view = rescan::make_view(out.data, {batch, dim});
  time_iterations(state, [&] { rescan::selective_state_update(rescan::cuda, args, out_view); });
  const double updates = double(batch) * double(dim) * double(N);
  state.counters["ns_per_update"] =
      benchmark::Counter(updates * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  // the state read and written, u, delta, z, out
  state.SetBytesProcessed(static_cast<std::int64_t>(double(state.iterations()) *
                                                    (2 * updates + 4 * double(batch) * double(dim)) * sizeof(float)));
}
BENCHMARK(selective_state_update)
    ->Args({64, 1536, 1, 16})
    ->ArgNames({"batch", "dim", "L", "N"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The exp ceiling of the roofline: exp2f on independent values (the float kernels now use the
// cheaper ex2.approx.ftz for the decays, so this ceiling is a conservative one), 8 chains per
// thread so that the special-function units, not latency, bound it.
// Counter: exps per second.
__global__ void exp2f_kernel(float* out, int rounds) {
  float chain[8];
  for (int k = 0; k < 8; ++k) chain[k] = -1e-3f * float(threadIdx.x + k);
  for (int r = 0; r < rounds; ++r) {
#pragma unroll
    for (int k = 0; k < 8; ++k) chain[k] = exp2f(chain[k]) - 1.0f;  // stays in (-0.5, 0]
  }
  float sum = 0;
  for (int k = 0; k < 8; ++k) sum += chain[k];
  out[blockIdx.x * blockDim.x + threadIdx.x] = sum;
}

void exp2f_throughput(benchmark::State& state) {
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  const int blocks = sms * 8, threads = 256, rounds = 4096;
  device_floats out(index_t(blocks) * threads, 0.0f);
  time_iterations(state, [&] { exp2f_kernel<<<blocks, threads>>>(out.data, rounds); });
  const double exps = double(blocks) * threads * rounds * 8;
  state.counters["exps_per_second"] = benchmark::Counter(exps, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(exp2f_throughput)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
