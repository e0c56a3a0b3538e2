// Inclusive scan of one affine pair (a, b) a lane over the 32 lanes of a warp, lane order being
// sequence order: afterwards lane i's b is the b of pair_0 ∘ pair_1 ∘ ... ∘ pair_i under
// affine_compose ((a, b) then (a', b') = (a a', a' b + b')). Five shuffle steps; the a left in a
// lane is the product over the last steps' span only (lanes i-15 .. i), which the scan does not
// need after its last step, so the caller must not use it.
//
// Float: each step is one inline-assembly block whose shuffle also says whether the source lane
// exists (lane >= offset), and predicates the update on it, instead of a lane comparison and a
// select a step. Double: the same in C++, with a fifth product of a (the whole prefix), unused.
#pragma once

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail {

__device__ inline void warp_inclusive_affine_scan_b(float& a, float& b) {
#if defined(__CUDA_ARCH__)
#pragma unroll
  for (int offset = 1; offset < 16; offset *= 2) {
    asm volatile("{\n"
        "  .reg .f32 earlier_a, earlier_b;\n"
        "  .reg .pred exists;\n"
        "  shfl.sync.up.b32 earlier_b|exists, %1, %2, 0, 0xffffffff;\n"
        "  shfl.sync.up.b32 earlier_a, %0, %2, 0, 0xffffffff;\n"
        "  @exists fma.rn.f32 %1, %0, earlier_b, %1;\n"
        "  @exists mul.rn.f32 %0, %0, earlier_a;\n"
        "}\n"
        : "+f"(a), "+f"(b)
        : "r"(offset));
  }
  asm volatile("{\n"
      "  .reg .f32 earlier_b;\n"
      "  .reg .pred exists;\n"
      "  shfl.sync.up.b32 earlier_b|exists, %1, 16, 0, 0xffffffff;\n"
      "  @exists fma.rn.f32 %1, %0, earlier_b, %1;\n"
      "}\n"
      : "+f"(a), "+f"(b));
#else
  (void)a;
  (void)b;
#endif
}

__device__ inline void warp_inclusive_affine_scan_b(double& a, double& b) {
  const int lane = static_cast<int>(threadIdx.x % 32);
#pragma unroll
  for (int offset = 1; offset < 32; offset *= 2) {
    const double earlier_a = __shfl_up_sync(0xffffffffu, a, offset);
    const double earlier_b = __shfl_up_sync(0xffffffffu, b, offset);
    if (lane >= offset) {
      b = a * earlier_b + b;
      a = a * earlier_a;
    }
  }
}

}  // namespace rescan::cuda_detail
