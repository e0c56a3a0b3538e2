// Backend tags. A backend is a type (its value may carry state: a thread count, a CUDA stream);
// every algorithm dispatches on the tag's type. Macros only choose rescan::default_backend.
#pragma once

#include <type_traits>

#include "rescan/core/config.hpp"

struct CUstream_st;  // the CUDA runtime's stream handle type; cudaStream_t is CUstream_st*

namespace rescan {

// The CPU backend: Eigen + OpenMP. threads = 0 uses every thread OpenMP offers.
// flush_subnormals: inside rescan's CPU kernels (and only there: the caller's floating-point mode is
// restored on return), results below the smallest normal number are flushed to zero (inputs are
// read as they are). Long products of factors in (0, 1), as in every SSM scan, otherwise get stuck
// at the smallest subnormal, where each x86 multiply costs about a hundred cycles. Set it to false
// for IEEE gradual underflow.
struct cpu_t {
  int threads = 0;
  bool flush_subnormals = true;

  constexpr cpu_t() = default;
  constexpr explicit cpu_t(int thread_count, bool flush = true) : threads(thread_count), flush_subnormals(flush) {}
};
inline constexpr cpu_t cpu{};

// The CUDA backend: CUB kernels queued on a stream (0 = the default stream). Its algorithms live in
// <rescan/rescan.cuh>, which only nvcc compiles; view data must be device (or managed) memory.
struct cuda_t {
  CUstream_st* stream = nullptr;

  constexpr cuda_t() = default;
  constexpr explicit cuda_t(CUstream_st* on_stream) : stream(on_stream) {}
};
inline constexpr cuda_t cuda{};

template <class T>
inline constexpr bool is_backend_v = std::is_same_v<T, cpu_t> || std::is_same_v<T, cuda_t>;

#if defined(__CUDACC__) && defined(RESCAN_ENABLE_CUDA)
using default_backend_t = cuda_t;
#else
using default_backend_t = cpu_t;
#endif
// Not `inline`: its type differs between nvcc and plain C++ translation units of one program, so it
// must not be one shared entity (internal linkage gives each translation unit its own).
constexpr default_backend_t default_backend{};

namespace detail {

// What to say when an algorithm has no implementation for a backend.
template <class Backend>
struct missing_backend {
  static_assert(always_false<Backend>,
                "rescan: no implementation of this algorithm for this backend is included. For rescan::cpu "
                "include <rescan/rescan.hpp>; for rescan::cuda include <rescan/rescan.cuh>, compile the file "
                "with nvcc and configure rescan with RESCAN_ENABLE_CUDA=ON.");
};

}  // namespace detail
}  // namespace rescan
