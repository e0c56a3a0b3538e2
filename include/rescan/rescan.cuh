// rescan with its CUDA backend: everything in rescan.hpp plus rescan::cuda (CUB kernels).
// Compile with nvcc; view data passed with rescan::cuda must be device or managed memory.
#pragma once

#if !defined(__CUDACC__)
#error "<rescan/rescan.cuh> needs nvcc; include <rescan/rescan.hpp> for the CPU backend"
#endif

#if !defined(RESCAN_ENABLE_CUDA)
#define RESCAN_ENABLE_CUDA 1
#endif

#include "rescan/rescan.hpp"

#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/scan.cuh"
#include "rescan/cuda/reduce.cuh"
#include "rescan/cuda/top_k.cuh"
#include "rescan/cuda/merge.cuh"
#include "rescan/cuda/selective_scan.cuh"
#include "rescan/cuda/rank.cuh"
