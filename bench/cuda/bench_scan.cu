// CUDA scans: rescan::cuda against a device-to-device cudaMemcpy (the bandwidth ceiling) and CUB
// called directly (the best alternative a CUDA user has: cub::DeviceScan for one row,
// cub::DeviceScan::InclusiveScanByKey with the row as key for many rows). Every benchmark times
// the GPU with CUDA events (UseManualTime) and counts the bytes it must move: read N + write N
// elements (linear recurrence: 2N read + N written).
//
//   one row:   n = 2^10 .. 2^28 elements           (n >= 4096 takes rescan's cub::DeviceScan path)
//   many rows: rows x L = 4096 x 1024, 256 x 16384  (rescan's block path: one block per row)
//   paths:     each of rescan's two scan paths forced, over rows x L, to calibrate the switch between
//              them (cuda/detail/tuning.cuh: device_scan_max_rows, device_scan_length_per_row)
#include <benchmark/benchmark.h>

#include <cub/device/device_scan.cuh>
#include <cuda_runtime_api.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <rescan/rescan.cuh>

#include "cuda_bench_support.cuh"

namespace {

using rescan::index_t;
using pair = rescan::affine_pair<float>;

using rescan_bench::check;
using rescan_bench::device_array;
using rescan_bench::time_iterations;

void count_bytes(benchmark::State& state, index_t elements, std::size_t bytes_per_element) {
  state.SetBytesProcessed(state.iterations() * elements * static_cast<index_t>(bytes_per_element));
  state.counters["elements"] = static_cast<double>(elements);
}

void one_row(benchmark::internal::Benchmark* bench) {
  for (int log2 = 10; log2 <= 28; log2 += 2) bench->Args({index_t(1) << log2});
  bench->ArgNames({"n"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

void many_rows(benchmark::internal::Benchmark* bench) {
  bench->Args({4096, 1024})->Args({256, 16384})->ArgNames({"rows", "L"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

// The row of element i in a contiguous (rows, L) array: the key of a batched scan by key.
struct row_of {
  index_t length;
  __host__ __device__ index_t operator()(index_t i) const { return i / length; }
};

// --- baselines ---------------------------------------------------------------------------------

template <class T>
void memcpy_device_to_device(benchmark::State& state, index_t n) {
  device_array<T> in(n, T{}), out(n, T{});
  time_iterations(state, [&] {
    check(cudaMemcpyAsync(out.data, in.data, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, nullptr),
          "cudaMemcpyAsync");
  });
  count_bytes(state, n, 2 * sizeof(T));
}

void memcpy_float(benchmark::State& state) { memcpy_device_to_device<float>(state, state.range(0)); }
BENCHMARK(memcpy_float)->Apply(one_row);
void memcpy_affine(benchmark::State& state) { memcpy_device_to_device<pair>(state, state.range(0)); }
BENCHMARK(memcpy_affine)->Apply(one_row);
void memcpy_float_rows(benchmark::State& state) { memcpy_device_to_device<float>(state, state.range(0) * state.range(1)); }
BENCHMARK(memcpy_float_rows)->Apply(many_rows);
void memcpy_affine_rows(benchmark::State& state) { memcpy_device_to_device<pair>(state, state.range(0) * state.range(1)); }
BENCHMARK(memcpy_affine_rows)->Apply(many_rows);

// cub::DeviceScan on one row, temporary storage allocated once outside the timed loop.
template <class T, class Op>
void cub_device_scan(benchmark::State& state, T value, Op op) {
  const index_t n = state.range(0);
  device_array<T> in(n, value), out(n, T{});
  std::size_t bytes = 0;
  check(cub::DeviceScan::InclusiveScan(nullptr, bytes, in.data, out.data, op, n), "cub size query");
  void* temp = nullptr;
  check(cudaMalloc(&temp, bytes), "cudaMalloc");
  time_iterations(state, [&] { check(cub::DeviceScan::InclusiveScan(temp, bytes, in.data, out.data, op, n), "cub scan"); });
  (void)cudaFree(temp);
  count_bytes(state, n, 2 * sizeof(T));
}

void cub_inclusive_sum_float(benchmark::State& state) {
  const index_t n = state.range(0);
  device_array<float> in(n, 1.0f), out(n, 0.0f);
  std::size_t bytes = 0;
  check(cub::DeviceScan::InclusiveSum(nullptr, bytes, in.data, out.data, n), "cub size query");
  void* temp = nullptr;
  check(cudaMalloc(&temp, bytes), "cudaMalloc");
  time_iterations(state, [&] { check(cub::DeviceScan::InclusiveSum(temp, bytes, in.data, out.data, n), "cub scan"); });
  (void)cudaFree(temp);
  count_bytes(state, n, 2 * sizeof(float));
}
BENCHMARK(cub_inclusive_sum_float)->Apply(one_row);

// CUB on raw pointers with rescan's operator instead of cuda::std::plus: against
// cub_inclusive_sum_float and rescan_inclusive_scan_float it says whether rescan's float scan trails InclusiveSum for its operator (CUB tunes by operator
// type) or for its iterators (rescan loads and stores rows through thrust iterators).
void cub_inclusive_scan_float_rescan_plus(benchmark::State& state) { cub_device_scan(state, 1.0f, rescan::plus{}); }
BENCHMARK(cub_inclusive_scan_float_rescan_plus)->Apply(one_row);

void cub_inclusive_scan_affine(benchmark::State& state) { cub_device_scan(state, pair{0.999f, 0.5f}, rescan::affine_compose{}); }
BENCHMARK(cub_inclusive_scan_affine)->Apply(one_row);

// Many rows with CUB: one scan by key over the whole array, the key being the row.
template <class T, class Op>
void cub_scan_by_row(benchmark::State& state, T value, Op op) {
  const index_t rows = state.range(0), length = state.range(1), n = rows * length;
  device_array<T> in(n, value), out(n, T{});
  const auto keys = thrust::make_transform_iterator(thrust::counting_iterator<index_t>(0), row_of{length});
  std::size_t bytes = 0;
  check(cub::DeviceScan::InclusiveScanByKey(nullptr, bytes, keys, in.data, out.data, op, n), "cub size query");
  void* temp = nullptr;
  check(cudaMalloc(&temp, bytes), "cudaMalloc");
  time_iterations(state, [&] {
    check(cub::DeviceScan::InclusiveScanByKey(temp, bytes, keys, in.data, out.data, op, n), "cub scan by key");
  });
  (void)cudaFree(temp);
  count_bytes(state, n, 2 * sizeof(T));
}

void cub_scan_by_row_float(benchmark::State& state) { cub_scan_by_row(state, 1.0f, rescan::plus{}); }
BENCHMARK(cub_scan_by_row_float)->Apply(many_rows);
void cub_scan_by_row_affine(benchmark::State& state) { cub_scan_by_row(state, pair{0.999f, 0.5f}, rescan::affine_compose{}); }
BENCHMARK(cub_scan_by_row_affine)->Apply(many_rows);

// --- rescan ------------------------------------------------------------------------------------

template <class T, class Op>
void rescan_scan(benchmark::State& state, index_t rows, index_t length, T value, Op op) {
  device_array<T> in(rows * length, value), out(rows * length, T{});
  const auto in_view = rescan::make_view(static_cast<const T*>(in.data), {rows, length});
  const auto out_view = rescan::make_view(out.data, {rows, length});
  time_iterations(state, [&] { rescan::inclusive_scan(rescan::cuda, in_view, out_view, op); });
  count_bytes(state, rows * length, 2 * sizeof(T));
}

void rescan_inclusive_scan_float(benchmark::State& state) { rescan_scan(state, 1, state.range(0), 1.0f, rescan::plus{}); }
BENCHMARK(rescan_inclusive_scan_float)->Apply(one_row);
void rescan_inclusive_scan_affine(benchmark::State& state) {
  rescan_scan(state, 1, state.range(0), pair{0.999f, 0.5f}, rescan::affine_compose{});
}
BENCHMARK(rescan_inclusive_scan_affine)->Apply(one_row);
void rescan_inclusive_scan_float_rows(benchmark::State& state) {
  rescan_scan(state, state.range(0), state.range(1), 1.0f, rescan::plus{});
}
BENCHMARK(rescan_inclusive_scan_float_rows)->Apply(many_rows);
void rescan_inclusive_scan_affine_rows(benchmark::State& state) {
  rescan_scan(state, state.range(0), state.range(1), pair{0.999f, 0.5f}, rescan::affine_compose{});
}
BENCHMARK(rescan_inclusive_scan_affine_rows)->Apply(many_rows);

// h_t = a_t h_{t-1} + b_t over many rows (the shape of a Mamba scan: batch * dim * state rows).
void rescan_linear_recurrence_rows(benchmark::State& state) {
  const index_t rows = state.range(0), length = state.range(1);
  device_array<float> a(rows * length, 0.999f), b(rows * length, 0.5f), h(rows * length, 0.0f);
  const auto a_view = rescan::make_view(static_cast<const float*>(a.data), {rows, length});
  const auto b_view = rescan::make_view(static_cast<const float*>(b.data), {rows, length});
  const auto h_view = rescan::make_view(h.data, {rows, length});
  time_iterations(state, [&] { rescan::linear_recurrence(rescan::cuda, a_view, b_view, h_view); });
  count_bytes(state, rows * length, 3 * sizeof(float));
}
BENCHMARK(rescan_linear_recurrence_rows)->Apply(many_rows);

// --- the two scan paths, forced (calibration of use_device_scan) --------------------------------

template <bool DevicePath>
void rescan_scan_path_float(benchmark::State& state) {
  const index_t rows = state.range(0), length = state.range(1);
  device_array<float> in(rows * length, 1.0f), out(rows * length, 0.0f);
  using elements_type = rescan::cuda_detail::scan_elements<float>;
  const elements_type elements{rescan::make_view(static_cast<const float*>(in.data), {rows, length}),
                               rescan::make_view(out.data, {rows, length}), {}, 0.0f, false};
  const rescan::cuda_detail::scan_problem<elements_type, rescan::plus, false, false> problem{
      elements, rescan::plus{}, rescan::cuda_detail::segment_starts{}, 0.0f};
  std::size_t bytes = 0;
  rescan::cuda_detail::device_row_scan(nullptr, bytes, problem, rows, length, nullptr, "bench");
  rescan::cuda_detail::device_scratch scratch(bytes, nullptr, "bench");
  time_iterations(state, [&] {
    if constexpr (DevicePath) {
      rescan::cuda_detail::device_row_scan(scratch.data(), bytes, problem, rows, length, nullptr, "bench");
    } else {
      rescan::cuda_detail::block_row_scan_launch(problem, rows, length, nullptr, "bench");
    }
  });
  count_bytes(state, rows * length, 2 * sizeof(float));
}

void path_shapes(benchmark::internal::Benchmark* bench) {
  for (index_t rows : {1, 4, 16, 64}) {
    for (int log2 = 10; log2 <= 18; log2 += 2) bench->Args({rows, index_t(1) << log2});
  }
  bench->ArgNames({"rows", "L"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

void rescan_block_path_float(benchmark::State& state) { rescan_scan_path_float<false>(state); }
BENCHMARK(rescan_block_path_float)->Apply(path_shapes);
void rescan_device_path_float(benchmark::State& state) { rescan_scan_path_float<true>(state); }
BENCHMARK(rescan_device_path_float)->Apply(path_shapes);

}  // namespace
