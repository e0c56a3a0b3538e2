// Token merging at model shapes: a bipartite-matching plan followed by ToMe's size-weighted merge
// (merge_weighted, sizes summed), against a naive single-threaded implementation of the same
// algorithm (plain loops, full stable sort). Arguments: (shape, threads) with shape
//   0 = Vim-Ti   (batch 128, T 197, C 192,  r 5)
//   1 = Vim-S    (batch 64,  T 197, C 384,  r 11)
//   2 = ViT-L    (batch 32,  T 577, C 1024, r 23)
// The metric is the merged tensor itself. "tome" runs ToMe's settings (class token 0 never a
// source, unmerged A then B), "rmeeto" R-MeeTo's (class token in the middle taken out, original order).
// bench/compare_torch.py times the same "tome" operation in PyTorch.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <rescan/rescan.hpp>

#include "merge_data.hpp"

namespace {

using rescan::index_t;
using rescan_bench::merge_data;
using rescan_bench::merge_shape;
using rescan_bench::rmeeto_options;
using rescan_bench::tome_options;

void shapes_and_threads(benchmark::internal::Benchmark* bench) {
  for (index_t shape : {0, 1, 2}) {
    for (int threads : {1, 2}) bench->Args({shape, threads});
  }
  bench->ArgNames({"shape", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

void shapes_only(benchmark::internal::Benchmark* bench) {
  for (index_t shape : {0, 1, 2}) bench->Args({shape});
  bench->ArgNames({"shape"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

void plan_and_merge(benchmark::State& state, const rescan::matching_options& options, merge_data& data) {
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  const merge_shape s = data.shape;
  for (auto _ : state) {
    const rescan::merge_plan plan = rescan::bipartite_soft_matching(backend, data.x_view(), s.r, options);
    const index_t out_tokens = plan.tokens_out();
    rescan::merge_weighted(backend, plan, data.x_view(), rescan::make_view(data.size.data(), {s.batch, s.tokens}),
                           rescan::make_view(data.out.data(), {s.batch, out_tokens, s.channels}),
                           rescan::make_view(data.size_out.data(), {s.batch, out_tokens}));
    benchmark::DoNotOptimize(data.out.data());
    benchmark::ClobberMemory();
  }
}

void rescan_tome_plan_merge(benchmark::State& state) {
  merge_data data(state.range(0));
  plan_and_merge(state, tome_options(), data);
}
BENCHMARK(rescan_tome_plan_merge)->Apply(shapes_and_threads);

void rescan_rmeeto_plan_merge(benchmark::State& state) {
  merge_data data(state.range(0));
  plan_and_merge(state, rmeeto_options(data.shape.tokens), data);
}
BENCHMARK(rescan_rmeeto_plan_merge)->Apply(shapes_and_threads);

void rescan_plan_only(benchmark::State& state) {
  merge_data data(state.range(0));
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    const rescan::merge_plan plan = rescan::bipartite_soft_matching(backend, data.x_view(), data.shape.r, tome_options());
    benchmark::DoNotOptimize(plan.destination().data());
  }
}
BENCHMARK(rescan_plan_only)->Apply(shapes_and_threads);

void rescan_merge_weighted_only(benchmark::State& state) {
  merge_data data(state.range(0));
  const rescan::cpu_t backend(static_cast<int>(state.range(1)));
  const merge_shape s = data.shape;
  const rescan::merge_plan plan = rescan::bipartite_soft_matching(backend, data.x_view(), s.r, tome_options());
  for (auto _ : state) {
    rescan::merge_weighted(backend, plan, data.x_view(), rescan::make_view(data.size.data(), {s.batch, s.tokens}),
                           rescan::make_view(data.out.data(), {s.batch, plan.tokens_out(), s.channels}),
                           rescan::make_view(data.size_out.data(), {s.batch, plan.tokens_out()}));
    benchmark::DoNotOptimize(data.out.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(rescan_merge_weighted_only)->Apply(shapes_and_threads);

// The same algorithm as a first implementation would write it (ToMe settings): normalized copies,
// every A-B dot product, a full stable sort of set A, then the weighted merge, one batch item at a time.
void naive_plan_and_merge(merge_data& data) {
  const merge_shape s = data.shape;
  const index_t channels = s.channels, tokens = s.tokens, a_count = (tokens + 1) / 2, b_count = tokens / 2;
  const index_t out_tokens = tokens - s.r;
  std::vector<float> normalized(static_cast<std::size_t>(tokens * channels));
  std::vector<float> node_max(static_cast<std::size_t>(a_count));
  std::vector<index_t> node_idx(static_cast<std::size_t>(a_count)), order(static_cast<std::size_t>(a_count));
  std::vector<index_t> slot(static_cast<std::size_t>(tokens));
  for (index_t b = 0; b < s.batch; ++b) {
    const float* x = data.x.data() + b * tokens * channels;
    for (index_t t = 0; t < tokens; ++t) {
      float norm = 0;
      for (index_t c = 0; c < channels; ++c) norm += x[t * channels + c] * x[t * channels + c];
      norm = std::sqrt(norm);
      for (index_t c = 0; c < channels; ++c) normalized[t * channels + c] = x[t * channels + c] / norm;
    }
    for (index_t a = 0; a < a_count; ++a) {
      node_max[a] = -std::numeric_limits<float>::infinity();
      for (index_t j = 0; j < b_count; ++j) {
        float dot = 0;
        for (index_t c = 0; c < channels; ++c) dot += normalized[2 * a * channels + c] * normalized[(2 * j + 1) * channels + c];
        if (dot > node_max[a]) {
          node_max[a] = dot;
          node_idx[a] = j;
        }
      }
    }
    node_max[0] = -std::numeric_limits<float>::infinity();  // the class token
    std::iota(order.begin(), order.end(), index_t(0));
    std::stable_sort(order.begin(), order.end(), [&](index_t i, index_t j) { return node_max[i] > node_max[j]; });
    std::vector<bool> source(static_cast<std::size_t>(a_count), false);
    for (index_t k = 0; k < s.r; ++k) source[order[k]] = true;
    index_t next = 0;
    for (index_t a = 0; a < a_count; ++a)
      if (!source[a]) slot[2 * a] = next++;
    for (index_t j = 0; j < b_count; ++j) slot[2 * j + 1] = next++;
    for (index_t a = 0; a < a_count; ++a)
      if (source[a]) slot[2 * a] = slot[2 * node_idx[a] + 1];
    float* out = data.out.data() + b * out_tokens * channels;
    float* size_out = data.size_out.data() + b * out_tokens;
    const float* size = data.size.data() + b * tokens;
    std::fill(out, out + out_tokens * channels, 0.0f);
    std::fill(size_out, size_out + out_tokens, 0.0f);
    for (index_t t = 0; t < tokens; ++t) {
      for (index_t c = 0; c < channels; ++c) out[slot[t] * channels + c] += x[t * channels + c] * size[t];
      size_out[slot[t]] += size[t];
    }
    for (index_t j = 0; j < out_tokens; ++j)
      for (index_t c = 0; c < channels; ++c) out[j * channels + c] /= size_out[j];
  }
}

void reference_loop_plan_merge(benchmark::State& state) {
  merge_data data(state.range(0));
  for (auto _ : state) {
    naive_plan_and_merge(data);
    benchmark::DoNotOptimize(data.out.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(reference_loop_plan_merge)->Apply(shapes_only);

}  // namespace
