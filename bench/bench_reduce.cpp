// Many short rows (the batched shapes of SSMs and ranking) and the row reductions, against memcpy,
// the standard library and plain loops in the same run. Arguments: (rows, threads).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include <rescan/rescan.hpp>

namespace {

using rescan::index_t;
constexpr index_t row_length = 1024;

std::vector<float> random_rows(index_t rows) {
  std::mt19937 engine(7);
  std::uniform_real_distribution<float> pick(-4.0f, 4.0f);
  std::vector<float> values(static_cast<std::size_t>(rows * row_length));
  for (auto& value : values) value = pick(engine);
  return values;
}

void rows_and_threads(benchmark::internal::Benchmark* bench) {
  for (index_t rows : {64, 4096}) {
    for (int threads : {1, 2}) bench->Args({rows, threads});
  }
  bench->ArgNames({"rows", "threads"})->UseRealTime();
}

void rows_only(benchmark::internal::Benchmark* bench) {
  for (index_t rows : {64, 4096}) bench->Args({rows});
  bench->ArgNames({"rows"})->UseRealTime();
}

void count_bytes(benchmark::State& state, index_t rows) {
  state.SetBytesProcessed(state.iterations() * rows * row_length * index_t(2 * sizeof(float)));
}

// --- many rows, one scan each ------------------------------------------------------------------

void memcpy_many_rows_float(benchmark::State& state) {
  const index_t rows = state.range(0);
  auto in = random_rows(rows), out = in;
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), in.size() * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(memcpy_many_rows_float)->Apply(rows_only);

void reference_loop_many_rows_float(benchmark::State& state) {
  const index_t rows = state.range(0);
  auto in = random_rows(rows), out = in;
  for (auto _ : state) {
    for (index_t r = 0; r < rows; ++r) {
      float running = 0;
      for (index_t t = 0; t < row_length; ++t) out[r * row_length + t] = running = running + in[r * row_length + t];
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(reference_loop_many_rows_float)->Apply(rows_only);

void rescan_many_rows_scan_float(benchmark::State& state) {
  const index_t rows = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto in = random_rows(rows), out = in;
  for (auto _ : state) {
    rescan::inclusive_scan(backend, rescan::make_view(in.data(), {rows, row_length}),
                           rescan::make_view(out.data(), {rows, row_length}));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(rescan_many_rows_scan_float)->Apply(rows_and_threads);

// --- reduce_sum ----------------------------------------------------------------------------------

void std_accumulate(benchmark::State& state) {
  const index_t rows = state.range(0);
  auto in = random_rows(rows);
  std::vector<float> out(static_cast<std::size_t>(rows));
  for (auto _ : state) {
    for (index_t r = 0; r < rows; ++r)
      out[r] = std::accumulate(in.begin() + r * row_length, in.begin() + (r + 1) * row_length, 0.0f);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(std_accumulate)->Apply(rows_only);

void rescan_reduce_sum(benchmark::State& state) {
  const index_t rows = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto in = random_rows(rows);
  std::vector<float> out(static_cast<std::size_t>(rows));
  for (auto _ : state) {
    rescan::reduce_sum(backend, rescan::make_view(in.data(), {rows, row_length}), rescan::make_view(out.data(), rows));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(rescan_reduce_sum)->Apply(rows_and_threads);

// --- softmax -------------------------------------------------------------------------------------

void reference_loop_softmax(benchmark::State& state) {
  const index_t rows = state.range(0);
  auto in = random_rows(rows), out = in;
  for (auto _ : state) {
    for (index_t r = 0; r < rows; ++r) {
      const float* x = in.data() + r * row_length;
      float* y = out.data() + r * row_length;
      const float m = *std::max_element(x, x + row_length);
      float sum = 0;
      for (index_t t = 0; t < row_length; ++t) sum += y[t] = std::exp(x[t] - m);
      for (index_t t = 0; t < row_length; ++t) y[t] /= sum;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(reference_loop_softmax)->Apply(rows_only);

void rescan_softmax(benchmark::State& state) {
  const index_t rows = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto in = random_rows(rows), out = in;
  for (auto _ : state) {
    rescan::softmax(backend, rescan::make_view(in.data(), {rows, row_length}),
                    rescan::make_view(out.data(), {rows, row_length}));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(rescan_softmax)->Apply(rows_and_threads);

// --- top_k ---------------------------------------------------------------------------------------

constexpr index_t k = 8;

void std_partial_sort_top_k(benchmark::State& state) {
  const index_t rows = state.range(0);
  auto in = random_rows(rows);
  std::vector<index_t> order(static_cast<std::size_t>(row_length)), indices(static_cast<std::size_t>(rows * k));
  for (auto _ : state) {
    for (index_t r = 0; r < rows; ++r) {
      const float* x = in.data() + r * row_length;
      std::iota(order.begin(), order.end(), index_t(0));
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [x](index_t i, index_t j) { return x[i] > x[j] || (x[i] == x[j] && i < j); });
      std::copy(order.begin(), order.begin() + k, indices.begin() + r * k);
    }
    benchmark::DoNotOptimize(indices.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(std_partial_sort_top_k)->Apply(rows_only);

void rescan_top_k(benchmark::State& state) {
  const index_t rows = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  auto in = random_rows(rows);
  std::vector<float> values(static_cast<std::size_t>(rows * k));
  std::vector<index_t> indices(static_cast<std::size_t>(rows * k));
  for (auto _ : state) {
    rescan::top_k(backend, rescan::make_view(in.data(), {rows, row_length}), rescan::make_view(values.data(), {rows, k}),
                  rescan::make_view(indices.data(), {rows, k}));
    benchmark::DoNotOptimize(indices.data());
    benchmark::ClobberMemory();
  }
  count_bytes(state, rows);
}
BENCHMARK(rescan_top_k)->Apply(rows_and_threads);

}  // namespace
