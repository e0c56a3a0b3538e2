// main() of rescan_cuda_bench: Google Benchmark's, plus the context that says which GPU produced
// the numbers (compare timings only between runs on the same card).
#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include <rescan/version.hpp>

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("rescan_version", RESCAN_VERSION_STRING);
  int device = 0;
  cudaDeviceProp properties{};
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&properties, device) == cudaSuccess) {
    benchmark::AddCustomContext("cuda_device", properties.name);
    benchmark::AddCustomContext("cuda_sm_count", std::to_string(properties.multiProcessorCount));
  } else {
    benchmark::AddCustomContext("cuda_device", "none visible");
  }
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) benchmark::AddCustomContext("cuda_runtime", std::to_string(runtime));
  // Stream-ordered allocations (cudaMallocAsync: token-merging plans, scratch) come from the default
  // pool; by default it hands freed memory back to the driver at every synchronization, and each
  // timed iteration synchronizes. A model keeps the memory, as PyTorch's caching allocator does:
  // so do the benchmarks.
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
    std::uint64_t keep_all = ~std::uint64_t(0);
    (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
