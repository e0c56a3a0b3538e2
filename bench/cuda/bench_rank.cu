// CUDA Kendall tau at the shapes of bench/bench_rank.cpp: one long pair at n = 10^4 .. 10^7 (radix
// sorts + merge passes) and CREAM's batched shape, 10^5 groups of 5 and of 16 (one warp per group).
// Inputs live on the device; the single pair's call returns its counts to the host (one stream
// synchronization, included). bench/cuda/compare_torch_gpu.py times the batched case in PyTorch.
#include <benchmark/benchmark.h>

#include <vector>

#include <rescan/rescan.cuh>

#include "../rank_data.hpp"
#include "cuda_bench_support.cuh"

namespace {

using rescan::index_t;
using rescan_bench::correlated;
using rescan_bench::device_array;
using rescan_bench::time_iterations;

void rescan_kendall_tau(benchmark::State& state) {
  const index_t n = state.range(0);
  const auto [x_host, y_host] = correlated(n);
  const device_array<double> x(x_host), y(y_host);
  double tau = 0;
  time_iterations(state, [&] {
    tau = rescan::kendall_tau(rescan::cuda, rescan::make_view(static_cast<const double*>(x.data), n),
                              rescan::make_view(static_cast<const double*>(y.data), n))
              .tau;
  });
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["tau"] = tau;
}
BENCHMARK(rescan_kendall_tau)
    ->Arg(10000)->Arg(100000)->Arg(1000000)->Arg(10000000)
    ->ArgNames({"n"})->UseManualTime()->Unit(benchmark::kMicrosecond);

template <index_t GroupSize>
void rescan_kendall_tau_batched(benchmark::State& state) {
  const index_t groups = state.range(0);
  const auto [x_host, y_host] = correlated(groups * GroupSize);
  const device_array<double> x(x_host), y(y_host), tau(groups, 0.0);
  time_iterations(state, [&] {
    rescan::kendall_tau_batched(rescan::cuda, rescan::make_view(static_cast<const double*>(x.data), {groups, GroupSize}),
                                rescan::make_view(static_cast<const double*>(y.data), {groups, GroupSize}),
                                rescan::make_view(tau.data, groups));
  });
  state.SetItemsProcessed(state.iterations() * groups);
}
BENCHMARK(rescan_kendall_tau_batched<5>)->Name("rescan_kendall_tau_batched_5")
    ->Arg(100000)->ArgNames({"rows"})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(rescan_kendall_tau_batched<16>)->Name("rescan_kendall_tau_batched_16")
    ->Arg(100000)->ArgNames({"rows"})->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
