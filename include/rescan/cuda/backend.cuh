// The CUDA backend's shared host-side glue: the stream of a rescan::cuda_t, argument checks that
// every CUDA algorithm makes (device pointers), and the detail layers below the algorithms:
//   cuda/detail/   errors, memory, tuning constants, launch geometry, element types
//   cuda/block/    block-level primitives (a block scans / reduces / sorts one row)
//   cuda/warp/     warp-level primitives (a warp scans one row: the selective scan's forward pass)
//   cuda/kernels/  __global__ kernels built from the block and warp primitives
//   cuda/device/   device-wide entry points (caller-owned temporary storage + a convenience layer
//                  that allocates with cudaMallocAsync on the call's stream)
//   cuda/scan.cuh, cuda/reduce.cuh, cuda/top_k.cuh   the backend hooks the front doors dispatch to.
#pragma once

#if !defined(__CUDACC__)
#error "rescan/cuda/*.cuh needs nvcc; include <rescan/rescan.cuh>"
#endif

#include <cuda_runtime_api.h>

#include "rescan/core/backend.hpp"
#include "rescan/core/error.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/error.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/memory.cuh"
#include "rescan/cuda/detail/tuning.cuh"

namespace rescan::cuda_detail {

// The stream a call queues its work on (cudaStream_t is CUstream_st*; nullptr = the default stream).
inline cudaStream_t stream_of(const cuda_t& backend) { return backend.stream; }

}  // namespace rescan::cuda_detail
