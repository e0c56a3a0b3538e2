// Turning CUDA runtime failures into rescan::cuda_error. Every message names the rescan function,
// the CUDA call that failed and the runtime's own words for the error, e.g.
// "inclusive_scan: cudaMallocAsync(scratch) failed: cudaErrorMemoryAllocation (out of memory)".
#pragma once

#include <cuda_runtime_api.h>

#include "rescan/core/error.hpp"

namespace rescan::cuda_detail {

// Throws rescan::cuda_error when status is not cudaSuccess. `function` is the rescan algorithm
// ("inclusive_scan"), `call` what was attempted ("cudaMemcpyAsync(options.segment_offsets)").
inline void check_status(cudaError_t status, const char* function, const char* call) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error so later calls do not report it again
  detail::raise<cuda_error>(function, ": ", call, " failed: ", cudaGetErrorName(status), " (",
                            cudaGetErrorString(status), ")");
}

// After a <<<...>>> launch: a bad configuration or a missing kernel image shows up here.
inline void check_launch(const char* function, const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess) return;
  detail::raise<cuda_error>(function, ": launch of ", kernel, " failed: ", cudaGetErrorName(status), " (",
                            cudaGetErrorString(status), ")");
}

}  // namespace rescan::cuda_detail
