// Kendall's tau: one long pair at n = 10^4 .. 10^7 against a plain O(n log n) baseline (std::sort
// of the pairs + a recursive merge count, one thread) and, where it finishes, the O(n^2) pair loop;
// batched CREAM shapes (10^5 groups of 5 and of 16) against the plain per-group pair loop.
// Arguments: (n, threads) or (rows, threads). bench/compare_scipy.py times scipy on the same data.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <rescan/rescan.hpp>

#include "rank_data.hpp"

namespace {

using rescan::index_t;
using rescan_bench::correlated;

void long_and_threads(benchmark::internal::Benchmark* bench) {
  for (index_t n : {10000, 100000, 1000000, 10000000}) {
    for (int threads : {1, 2}) bench->Args({n, threads});
  }
  bench->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

void long_only(benchmark::internal::Benchmark* bench) {
  for (index_t n : {10000, 100000, 1000000, 10000000}) bench->Args({n});
  bench->ArgNames({"n"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

void rows_and_threads(benchmark::internal::Benchmark* bench) {
  for (int threads : {1, 2}) bench->Args({100000, threads});
  bench->ArgNames({"rows", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

// --- one long pair ---------------------------------------------------------------------------------

void rescan_kendall_tau(benchmark::State& state) {
  const index_t n = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  const auto [x, y] = correlated(n);
  double tau = 0;
  for (auto _ : state) {
    const auto result = rescan::kendall_tau(backend, rescan::make_view(x.data(), n), rescan::make_view(y.data(), n));
    tau = result.tau;
    benchmark::DoNotOptimize(&tau);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["tau"] = tau;  // compare_scipy.py checks it against scipy's
}
BENCHMARK(rescan_kendall_tau)->Apply(long_and_threads);

// The baseline: sort (x, y) pairs with std::sort, count ties by runs, then count inversions of y
// with a top-down merge sort into a second buffer.
std::int64_t merge_count(std::vector<double>& v, std::vector<double>& scratch, std::size_t begin, std::size_t end) {
  if (end - begin < 2) return 0;
  const std::size_t middle = begin + (end - begin) / 2;
  std::int64_t count = merge_count(v, scratch, begin, middle) + merge_count(v, scratch, middle, end);
  std::size_t i = begin, j = middle, k = begin;
  while (i < middle || j < end) {
    if (j == end || (i < middle && v[i] <= v[j])) {
      scratch[k++] = v[i++];
    } else {
      count += static_cast<std::int64_t>(middle - i);
      scratch[k++] = v[j++];
    }
  }
  std::copy(scratch.begin() + static_cast<std::ptrdiff_t>(begin), scratch.begin() + static_cast<std::ptrdiff_t>(end),
            v.begin() + static_cast<std::ptrdiff_t>(begin));
  return count;
}

void std_sort_kendall_tau(benchmark::State& state) {
  const index_t n = state.range(0);
  const auto [x, y] = correlated(n);
  for (auto _ : state) {
    std::vector<std::pair<double, double>> pairs(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) pairs[i] = {x[i], y[i]};
    std::sort(pairs.begin(), pairs.end());
    std::vector<double> ys(x.size()), scratch(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) ys[i] = pairs[i].second;
    const std::int64_t discordant = merge_count(ys, scratch, 0, ys.size());
    const double total = double(n) * double(n - 1) / 2;
    benchmark::DoNotOptimize((total - 2.0 * double(discordant)) / total);  // no ties in this data
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(std_sort_kendall_tau)->Apply(long_only);

void reference_loop_kendall_tau(benchmark::State& state) {
  const index_t n = state.range(0);
  const auto [x, y] = correlated(n);
  for (auto _ : state) {
    std::int64_t concordant = 0, discordant = 0;
    for (index_t i = 0; i < n; ++i) {
      for (index_t j = i + 1; j < n; ++j) {
        const double s = (x[j] - x[i]) * (y[j] - y[i]);
        concordant += s > 0;
        discordant += s < 0;
      }
    }
    benchmark::DoNotOptimize(concordant - discordant);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(reference_loop_kendall_tau)->Arg(10000)->ArgNames({"n"})->UseRealTime()->Unit(benchmark::kMillisecond);

// --- batched: 10^5 groups of 5 and of 16 ---------------------------------------------------------

template <index_t GroupSize>
void rescan_kendall_tau_batched(benchmark::State& state) {
  const index_t groups = state.range(0);
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  const auto [x, y] = correlated(groups * GroupSize);
  std::vector<double> tau(static_cast<std::size_t>(groups));
  for (auto _ : state) {
    rescan::kendall_tau_batched(backend, rescan::make_view(x.data(), {groups, GroupSize}),
                                rescan::make_view(y.data(), {groups, GroupSize}), rescan::make_view(tau.data(), groups));
    benchmark::DoNotOptimize(tau.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * groups);
  state.counters["tau_0"] = tau[0];  // group 0, checked by compare_scipy.py
}
BENCHMARK(rescan_kendall_tau_batched<5>)->Name("rescan_kendall_tau_batched_5")->Apply(rows_and_threads);
BENCHMARK(rescan_kendall_tau_batched<16>)->Name("rescan_kendall_tau_batched_16")->Apply(rows_and_threads);

// Per group: every pair by sign products, tau-b with ties (the straightforward loop).
template <index_t GroupSize>
void reference_loop_kendall_tau_batched(benchmark::State& state) {
  const index_t groups = state.range(0);
  const auto [x, y] = correlated(groups * GroupSize);
  std::vector<double> tau(static_cast<std::size_t>(groups));
  for (auto _ : state) {
    for (index_t g = 0; g < groups; ++g) {
      const double* xg = x.data() + g * GroupSize;
      const double* yg = y.data() + g * GroupSize;
      std::int64_t s = 0, tied_x = 0, tied_y = 0;
      for (index_t i = 0; i < GroupSize; ++i) {
        for (index_t j = i + 1; j < GroupSize; ++j) {
          const int sx = (xg[j] > xg[i]) - (xg[j] < xg[i]), sy = (yg[j] > yg[i]) - (yg[j] < yg[i]);
          s += sx * sy;
          tied_x += sx == 0;
          tied_y += sy == 0;
        }
      }
      const double pairs = double(GroupSize * (GroupSize - 1) / 2);
      tau[static_cast<std::size_t>(g)] = double(s) / std::sqrt((pairs - double(tied_x)) * (pairs - double(tied_y)));
    }
    benchmark::DoNotOptimize(tau.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * groups);
}
BENCHMARK(reference_loop_kendall_tau_batched<5>)->Name("reference_loop_kendall_tau_batched_5")->Arg(100000)->ArgNames({"rows"})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(reference_loop_kendall_tau_batched<16>)->Name("reference_loop_kendall_tau_batched_16")->Arg(100000)->ArgNames({"rows"})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
