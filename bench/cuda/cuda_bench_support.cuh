// What the CUDA benchmarks share: error checks, device arrays and timing with CUDA events, the L2
// cache flushed before every timed iteration (so each call reads its inputs from HBM, as it would
// between the layers of a model).
#pragma once

#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_bench {

using rescan::index_t;

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

template <class T>
__global__ void fill_kernel(T* data, index_t count, T value) {
  for (index_t i = index_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += index_t(gridDim.x) * blockDim.x) {
    data[i] = value;
  }
}

// Device memory for the benchmark's lifetime, filled with one value (on the device: arrays of 2^28
// elements need no host copy) or uploaded from host values.
template <class T>
struct device_array {
  T* data = nullptr;
  index_t count = 0;
  device_array(index_t n, T value) : count(n) {
    if (n == 0) return;
    check(cudaMalloc(&data, static_cast<std::size_t>(n) * sizeof(T)), "cudaMalloc");
    fill_kernel<<<1024, 256>>>(data, n, value);
    check(cudaDeviceSynchronize(), "fill_kernel");
  }
  explicit device_array(const std::vector<T>& host) : count(static_cast<index_t>(host.size())) {
    if (count == 0) return;
    check(cudaMalloc(&data, host.size() * sizeof(T)), "cudaMalloc");
    check(cudaMemcpy(data, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
  ~device_array() { (void)cudaFree(data); }
};

// Overwrites a buffer larger than any L2 (H100 50 MB, H200 60 MB), so the next kernel finds none of
// its inputs in the cache.
inline void flush_l2() {
  constexpr std::size_t bytes = std::size_t(256) << 20;
  static void* buffer = [] {
    void* p = nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc (L2 flush buffer)");
    return p;
  }();
  check(cudaMemsetAsync(buffer, 0, bytes, nullptr), "cudaMemsetAsync (L2 flush)");
}

// Times each iteration of `body` (work queued on the default stream) with CUDA events, the L2
// flushed before each one (outside the timed interval).
template <class Body>
void time_iterations(benchmark::State& state, const Body& body) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  body();  // warm-up: first-launch costs, memory pool growth
  check(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : state) {
    flush_l2();
    check(cudaEventRecord(start, nullptr), "cudaEventRecord");
    body();
    check(cudaEventRecord(stop, nullptr), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float milliseconds = 0;
    check(cudaEventElapsedTime(&milliseconds, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(milliseconds / 1000.0);
  }
  check(cudaEventDestroy(start), "cudaEventDestroy");
  check(cudaEventDestroy(stop), "cudaEventDestroy");
}

}  // namespace rescan_bench
