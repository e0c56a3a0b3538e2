// CUDA token merging at the model shapes of bench/bench_merge.cpp (Vim-Ti, Vim-S, ViT-L): ToMe's
// bipartite soft matching (the plan) followed by the size-weighted merge, both on the device, and
// each of the two alone. Inputs live on the device; a plan is made and freed each iteration, as a
// model's forward pass does. bench/cuda/compare_torch_gpu.py times the same operation in PyTorch.
#include <benchmark/benchmark.h>

#include <rescan/rescan.cuh>

#include "../merge_data.hpp"
#include "cuda_bench_support.cuh"

namespace {

using rescan::index_t;
using rescan_bench::device_array;
using rescan_bench::merge_data;
using rescan_bench::merge_shape;
using rescan_bench::time_iterations;
using rescan_bench::tome_options;

// One shape's tensors on the device.
struct device_merge_data {
  merge_shape shape;
  device_array<float> x, size, out, size_out;

  explicit device_merge_data(const merge_data& host)
      : shape(host.shape), x(host.x), size(host.size), out(host.out), size_out(host.size_out) {}

  rescan::strided_view<const float, 3> x_view() const {
    return rescan::make_view(static_cast<const float*>(x.data), {shape.batch, shape.tokens, shape.channels});
  }
  // size -> out, size_out: ToMe's x <- merge(x * size) / merge(size), sizes summed.
  void merge(const rescan::merge_plan& plan) {
    const index_t tokens_out = plan.tokens_out();
    rescan::merge_weighted(rescan::cuda, plan, x_view(),
                           rescan::make_view(static_cast<const float*>(size.data), {shape.batch, shape.tokens}),
                           rescan::make_view(out.data, {shape.batch, tokens_out, shape.channels}),
                           rescan::make_view(size_out.data, {shape.batch, tokens_out}));
  }
};

void shapes(benchmark::internal::Benchmark* bench) {
  for (index_t shape : {0, 1, 2}) bench->Args({shape});
  bench->ArgNames({"shape"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

void rescan_tome_plan_merge(benchmark::State& state) {
  device_merge_data data{merge_data(state.range(0))};
  time_iterations(state, [&] {
    const rescan::merge_plan plan = rescan::bipartite_soft_matching(rescan::cuda, data.x_view(), data.shape.r, tome_options());
    data.merge(plan);
  });
}
BENCHMARK(rescan_tome_plan_merge)->Apply(shapes);

void rescan_plan_only(benchmark::State& state) {
  device_merge_data data{merge_data(state.range(0))};
  time_iterations(state, [&] {
    const rescan::merge_plan plan = rescan::bipartite_soft_matching(rescan::cuda, data.x_view(), data.shape.r, tome_options());
    benchmark::DoNotOptimize(plan.tokens_out());
  });
}
BENCHMARK(rescan_plan_only)->Apply(shapes);

void rescan_merge_weighted_only(benchmark::State& state) {
  device_merge_data data{merge_data(state.range(0))};
  const rescan::merge_plan plan = rescan::bipartite_soft_matching(rescan::cuda, data.x_view(), data.shape.r, tome_options());
  time_iterations(state, [&] { data.merge(plan); });
}
BENCHMARK(rescan_merge_weighted_only)->Apply(shapes);

}  // namespace
