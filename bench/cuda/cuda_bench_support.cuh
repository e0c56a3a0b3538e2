// What the CUDA benchmarks share: error checks, device arrays and timing with CUDA events.
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

// Device memory for the benchmark's lifetime, filled from a host value.
template <class T>
struct device_array {
  T* data = nullptr;
  index_t count = 0;
  device_array(index_t n, T value) : count(n) {
    if (n == 0) return;
    check(cudaMalloc(&data, static_cast<std::size_t>(n) * sizeof(T)), "cudaMalloc");
    const std::vector<T> host(static_cast<std::size_t>(n), value);
    check(cudaMemcpy(data, host.data(), static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
  ~device_array() { (void)cudaFree(data); }
};

// Times each iteration of `body` (work queued on the default stream) with CUDA events.
template <class Body>
void time_iterations(benchmark::State& state, const Body& body) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  body();  // warm-up: first-launch costs, memory pool growth
  check(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : state) {
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
