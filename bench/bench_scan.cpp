// Scans of one long row: rescan against memcpy (the bandwidth ceiling), std::inclusive_scan (the
// best alternative a C++ user has) and the plain loop (rescan's own reference). Arguments:
// (elements, threads). Every benchmark counts the bytes it must move: read N + write N elements.
#include <benchmark/benchmark.h>

#include <cstring>
#include <numeric>
#include <vector>

#include <rescan/rescan.hpp>

namespace {

using rescan::index_t;

template <class T>
std::vector<T> filled(index_t count, T value) {
  return std::vector<T>(static_cast<std::size_t>(count), value);
}

template <class T>
void count_bytes(benchmark::State& state, index_t count) {
  state.SetBytesProcessed(state.iterations() * count * index_t(2 * sizeof(T)));
  state.counters["elements"] = static_cast<double>(count);
}

void elements_and_threads(benchmark::internal::Benchmark* bench) {
  for (int log2 = 10; log2 <= 26; log2 += 2) {
    for (int threads : {1, 2}) bench->Args({index_t(1) << log2, threads});
  }
  bench->ArgNames({"n", "threads"})->UseRealTime();
}

void elements_only(benchmark::internal::Benchmark* bench) {
  for (int log2 = 10; log2 <= 26; log2 += 2) bench->Args({index_t(1) << log2});
  bench->ArgNames({"n"})->UseRealTime();
}

// --- float sum -------------------------------------------------------------------------------

// memcpy split into one contiguous part per thread: the bandwidth ceiling for that thread count.
template <class T>
void parallel_memcpy(T* out, const T* in, index_t count, int threads) {
  const rescan::detail::cpu_team team = rescan::detail::team_of(rescan::cpu_t(threads));
  rescan::detail::parallel_for(team, team.threads, [&](index_t part) {
    const index_t begin = count * part / team.threads, end = count * (part + 1) / team.threads;
    std::memcpy(out + begin, in + begin, static_cast<std::size_t>(end - begin) * sizeof(T));
  });
}

void memcpy_float(benchmark::State& state) {
  const index_t n = state.range(0);
  auto in = filled(n, 1.0f), out = filled(n, 0.0f);
  for (auto _ : state) {
    parallel_memcpy(out.data(), in.data(), n, static_cast<int>(state.range(1)));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<float>(state, n);
}
BENCHMARK(memcpy_float)->Apply(elements_and_threads);

void std_inclusive_scan_float(benchmark::State& state) {
  const index_t n = state.range(0);
  auto in = filled(n, 1.0f), out = filled(n, 0.0f);
  for (auto _ : state) {
    std::inclusive_scan(in.begin(), in.end(), out.begin());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<float>(state, n);
}
BENCHMARK(std_inclusive_scan_float)->Apply(elements_only);

void reference_loop_scan_float(benchmark::State& state) {
  const index_t n = state.range(0);
  auto in = filled(n, 1.0f), out = filled(n, 0.0f);
  for (auto _ : state) {
    float running = 0;
    for (index_t i = 0; i < n; ++i) out[i] = running = running + in[i];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<float>(state, n);
}
BENCHMARK(reference_loop_scan_float)->Apply(elements_only);

void rescan_inclusive_scan_float(benchmark::State& state) {
  const index_t n = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto in = filled(n, 1.0f), out = filled(n, 0.0f);
  for (auto _ : state) {
    rescan::inclusive_scan(backend, rescan::make_view(in.data(), n), rescan::make_view(out.data(), n));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<float>(state, n);
}
BENCHMARK(rescan_inclusive_scan_float)->Apply(elements_and_threads);

// --- affine pairs (a, b) under (a0, b0)∘(a1, b1) = (a1 a0, a1 b0 + b1) ------------------------

using pair = rescan::affine_pair<float>;

void memcpy_affine(benchmark::State& state) {
  const index_t n = state.range(0);
  auto in = filled(n, pair{0.5f, 1.0f}), out = filled(n, pair{});
  for (auto _ : state) {
    parallel_memcpy(out.data(), in.data(), n, static_cast<int>(state.range(1)));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<pair>(state, n);
}
BENCHMARK(memcpy_affine)->Apply(elements_and_threads);

void std_inclusive_scan_affine(benchmark::State& state) {
  const index_t n = state.range(0);
  auto in = filled(n, pair{0.999f, 0.5f}), out = filled(n, pair{});
  // The same flush-to-zero mode rescan's kernels use, so subnormals do not decide the comparison.
  const rescan::detail::subnormal_mode flush(true);
  for (auto _ : state) {
    std::inclusive_scan(in.begin(), in.end(), out.begin(), rescan::affine_compose{});
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<pair>(state, n);
}
BENCHMARK(std_inclusive_scan_affine)->Apply(elements_only);

void rescan_inclusive_scan_affine(benchmark::State& state) {
  const index_t n = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto in = filled(n, pair{0.999f, 0.5f}), out = filled(n, pair{});
  for (auto _ : state) {
    rescan::inclusive_scan(backend, rescan::make_view(in.data(), n), rescan::make_view(out.data(), n),
                           rescan::affine_compose{});
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes<pair>(state, n);
}
BENCHMARK(rescan_inclusive_scan_affine)->Apply(elements_and_threads);

// --- linear recurrence h_t = a_t h_{t-1} + b_t: a, b in, h out (bytes: 2N read + N written) ----

void reference_loop_linear_recurrence(benchmark::State& state) {
  const index_t n = state.range(0);
  auto a = filled(n, 0.999f), b = filled(n, 0.5f), h = filled(n, 0.0f);
  for (auto _ : state) {
    float previous = 0;
    for (index_t i = 0; i < n; ++i) h[i] = previous = a[i] * previous + b[i];
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * index_t(3 * sizeof(float)));
}
BENCHMARK(reference_loop_linear_recurrence)->Apply(elements_only);

void rescan_linear_recurrence(benchmark::State& state) {
  const index_t n = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto a = filled(n, 0.999f), b = filled(n, 0.5f), h = filled(n, 0.0f);
  for (auto _ : state) {
    rescan::linear_recurrence(backend, rescan::make_view(a.data(), n), rescan::make_view(b.data(), n),
                              rescan::make_view(h.data(), n));
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * index_t(3 * sizeof(float)));
}
BENCHMARK(rescan_linear_recurrence)->Apply(elements_and_threads);

}  // namespace
