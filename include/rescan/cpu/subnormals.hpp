// Flush-to-zero for the duration of a scope, on the calling thread (x86 SSE/AVX: the MXCSR FTZ bit).
// Results that would be subnormal become zero; subnormal INPUTS are left alone (no DAZ), so
// comparisons (argmax, top_k, min/max) still order them exactly. The previous mode is restored when
// the scope ends. Elsewhere it does nothing.
#pragma once

#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
#define RESCAN_HAS_MXCSR 1
#else
#define RESCAN_HAS_MXCSR 0
#endif

namespace rescan::detail {

class subnormal_mode {
 public:
  explicit subnormal_mode(bool flush) {
#if RESCAN_HAS_MXCSR
    if (flush) {
      saved_ = _mm_getcsr();
      _mm_setcsr(saved_ | flush_to_zero);
      changed_ = true;
    }
#else
    (void)flush;
#endif
  }
  ~subnormal_mode() {
#if RESCAN_HAS_MXCSR
    if (changed_) _mm_setcsr(saved_);
#endif
  }
  subnormal_mode(const subnormal_mode&) = delete;
  subnormal_mode& operator=(const subnormal_mode&) = delete;

 private:
#if RESCAN_HAS_MXCSR
  static constexpr unsigned flush_to_zero = 0x8000;
  unsigned saved_ = 0;
#endif
  bool changed_ = false;
};

}  // namespace rescan::detail
