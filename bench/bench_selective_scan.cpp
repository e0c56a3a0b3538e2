// The selective scan at the shapes of Vim-Ti and Vim-S layers, a language-model prefill and a
// decoding step: rescan's forward and backward passes against the plain loop (one exp per state
// update, as mamba_ssm's reference does it), and this machine's ceiling for the work: one vector
// exp and three FMAs per state update, measured here in the same binary.
// Arguments: (batch, dim, length, state, threads). Counter ns_per_update: time / (batch dim L N).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include <rescan/rescan.hpp>

namespace {

using rescan::index_t;

struct selective_scan_data {
  index_t batch, dim, length, state;
  std::vector<float> u, delta, A, B, C, D, z, delta_bias, out, h0;

  explicit selective_scan_data(const benchmark::State& s)
      : batch(s.range(0)), dim(s.range(1)), length(s.range(2)), state(s.range(3)) {
    std::mt19937 engine(1);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    const auto fill = [&](index_t count, float low, float high) {
      std::vector<float> v(static_cast<std::size_t>(count));
      for (auto& x : v) x = low + (high - low) * (unit(engine) + 1.0f) / 2.0f;
      return v;
    };
    u = fill(batch * dim * length, -1, 1);
    delta = fill(batch * dim * length, -3, 1);
    z = fill(batch * dim * length, -2, 2);
    A = fill(dim * state, -2, -0.05f);
    B = fill(batch * state * length, -1, 1);
    C = fill(batch * state * length, -1, 1);
    D = fill(dim, -1, 1);
    delta_bias = fill(dim, -0.5f, 0.5f);
    h0 = fill(batch * dim * state, -1, 1);
    out.assign(u.size(), 0.0f);
  }

  rescan::selective_scan_arguments<float> arguments() const {
    rescan::selective_scan_arguments<float> a;
    a.u = rescan::make_view(u.data(), {batch, dim, length});
    a.delta = rescan::make_view(delta.data(), {batch, dim, length});
    a.z = rescan::make_view(z.data(), {batch, dim, length});
    a.A = rescan::make_view(A.data(), {dim, state});
    a.B = rescan::make_view(B.data(), {batch, index_t(1), state, length});
    a.C = rescan::make_view(C.data(), {batch, index_t(1), state, length});
    a.D = rescan::make_view(D.data(), dim);
    a.delta_bias = rescan::make_view(delta_bias.data(), dim);
    a.delta_softplus = true;
    return a;
  }
  double updates() const { return double(batch) * double(dim) * double(length) * double(state); }
};

void count_updates(benchmark::State& state, double updates) {
  state.counters["ns_per_update"] =
      benchmark::Counter(updates * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void layer_shapes(benchmark::internal::Benchmark* bench) {
  for (int threads : {1, 2}) {
    bench->Args({32, 384, 197, 16, threads});   // Vim-Ti layer
    bench->Args({32, 768, 197, 16, threads});   // Vim-S layer
    bench->Args({1, 1536, 4096, 16, threads});  // language-model prefill
  }
  bench->ArgNames({"batch", "dim", "length", "state", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

void rescan_selective_scan_forward(benchmark::State& state) {
  selective_scan_data data(state);
  const rescan::cpu_t backend(int(state.range(4)));
  const auto args = data.arguments();
  const auto out = rescan::make_view(data.out.data(), {data.batch, data.dim, data.length});
  for (auto _ : state) {
    rescan::selective_scan_forward(backend, args, out);
    benchmark::ClobberMemory();
  }
  count_updates(state, data.updates());
}
BENCHMARK(rescan_selective_scan_forward)->Apply(layer_shapes);

// Forward with checkpoints saved, then the backward pass from them: what a training step runs.
void rescan_selective_scan_backward(benchmark::State& state) {
  selective_scan_data data(state);
  const rescan::cpu_t backend(int(state.range(4)));
  const auto args = data.arguments();
  const index_t count = rescan::selective_scan_checkpoint_count(backend, data.length);
  std::vector<float> checkpoints(std::size_t(data.batch * data.dim * count * data.state));
  const auto checkpoint_view = rescan::make_view(checkpoints.data(), {data.batch, data.dim, count, data.state});
  const auto shape = [&](std::vector<float>& v) { return rescan::make_view(v.data(), {data.batch, data.dim, data.length}); };
  rescan::selective_scan_forward(backend, args, shape(data.out), rescan::strided_view<float, 3>{}, checkpoint_view);
  std::vector<float> du(data.u.size()), ddelta(data.u.size()), dz(data.u.size()), dA(data.A.size()), dB(data.B.size()),
      dC(data.C.size()), dD(data.D.size()), dbias(data.D.size());
  rescan::selective_scan_gradients<float> g;
  g.du = shape(du), g.ddelta = shape(ddelta), g.dz = shape(dz);
  g.dA = rescan::make_view(dA.data(), {data.dim, data.state});
  g.dB = rescan::make_view(dB.data(), {data.batch, index_t(1), data.state, data.length});
  g.dC = rescan::make_view(dC.data(), {data.batch, index_t(1), data.state, data.length});
  g.dD = rescan::make_view(dD.data(), data.dim);
  g.ddelta_bias = rescan::make_view(dbias.data(), data.dim);
  for (auto _ : state) {
    rescan::selective_scan_backward(backend, args, shape(data.u), g, rescan::strided_view<const float, 3>{},
                                    checkpoint_view);
    benchmark::ClobberMemory();
  }
  count_updates(state, data.updates());
}
BENCHMARK(rescan_selective_scan_backward)->Apply(layer_shapes);

// The plain loop: std::exp per state update, one thread.
void reference_loop_selective_scan_forward(benchmark::State& state) {
  selective_scan_data data(state);
  const index_t L = data.length, N = data.state;
  std::vector<float> h(static_cast<std::size_t>(N));
  for (auto _ : state) {
    for (index_t b = 0; b < data.batch; ++b) {
      for (index_t d = 0; d < data.dim; ++d) {
        std::fill(h.begin(), h.end(), 0.0f);
        const index_t row = (b * data.dim + d) * L;
        for (index_t t = 0; t < L; ++t) {
          float dt = data.delta[std::size_t(row + t)] + data.delta_bias[std::size_t(d)];
          dt = dt <= 20.0f ? std::log1p(std::exp(dt)) : dt;
          const float u = data.u[std::size_t(row + t)];
          float y = 0.0f;
          for (index_t n = 0; n < N; ++n) {
            const std::size_t input = std::size_t((b * N + n) * L + t);
            h[std::size_t(n)] = std::exp(dt * data.A[std::size_t(d * N + n)]) * h[std::size_t(n)] + dt * data.B[input] * u;
            y += data.C[input] * h[std::size_t(n)];
          }
          const float z = data.z[std::size_t(row + t)];
          data.out[std::size_t(row + t)] = (y + data.D[std::size_t(d)] * u) * z / (1.0f + std::exp(-z));
        }
      }
    }
    benchmark::ClobberMemory();
  }
  count_updates(state, data.updates());
}
BENCHMARK(reference_loop_selective_scan_forward)
    ->Args({32, 384, 197, 16, 1})
    ->ArgNames({"batch", "dim", "length", "state", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One decoding step at (batch 64, dim 1536, N 16): reads and writes the state once.
void rescan_selective_state_update(benchmark::State& state) {
  const index_t batch = state.range(0), dim = state.range(1), N = state.range(3);
  const rescan::cpu_t backend(int(state.range(4)));
  std::vector<float> x(std::size_t(batch * dim), 0.5f), A(std::size_t(dim * N), -1.0f), B(std::size_t(batch * N), 0.1f),
      states(std::size_t(batch * dim * N), 0.0f), out(std::size_t(batch * dim));
  rescan::selective_state_update_arguments<float> step;
  step.state = rescan::make_view(states.data(), {batch, dim, N});
  step.u = step.delta = step.z = rescan::make_view<const float>(x.data(), {batch, dim});
  step.A = rescan::make_view<const float>(A.data(), {dim, N});
  step.B = step.C = rescan::make_view<const float>(B.data(), {batch, index_t(1), N});
  step.delta_softplus = true;
  for (auto _ : state) {
    rescan::selective_state_update(backend, step, rescan::make_view(out.data(), {batch, dim}));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * index_t(2 * sizeof(float)) * batch * dim * N);
  count_updates(state, double(batch * dim * N));
}
BENCHMARK(rescan_selective_state_update)
    ->Args({64, 1536, 1, 16, 1})
    ->Args({64, 1536, 1, 16, 2})
    ->ArgNames({"batch", "dim", "length", "state", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The ceiling: one vector exp and three FMAs per element of an L1-resident array, per thread.
void ceiling_exp_and_three_fma(benchmark::State& state) {
  const int threads = int(state.range(0));
  const index_t count = 4096, repeats = 256;
  using lanes = rescan::detail::math_lanes<float>;
  const rescan::detail::cpu_team team = rescan::detail::team_of(rescan::cpu_t(threads));
  std::vector<std::vector<float>> arrays(std::size_t(team.threads), std::vector<float>(count, -0.5f));
  for (auto _ : state) {
    rescan::detail::parallel_for(team, team.threads, [&](index_t thread) {
      float* x = arrays[std::size_t(thread)].data();
      for (index_t r = 0; r < repeats; ++r) {
        for (index_t i = 0; i < count; i += lanes::width) {
          const auto v = lanes::load(x + i);
          auto e = rescan::detail::vector_exp<float>(v * 1e-3f);
          e = e * v + 0.5f;
          e = e * v + 0.25f;
          e = e * v - 0.75f;
          lanes::store(x + i, e);
        }
      }
    });
    benchmark::ClobberMemory();
  }
  count_updates(state, double(count * repeats * team.threads));
}
BENCHMARK(ceiling_exp_and_three_fma)->Arg(1)->Arg(2)->ArgNames({"threads"})->UseRealTime();

}  // namespace
