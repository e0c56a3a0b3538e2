// In-register inclusive prefix sums of one SIMD vector, for the widest instruction set the compiler
// targets (AVX-512, AVX2, SSE2) and float or double. Each `lanes` type gives:
//   load(p), store(p, v), add(v, w), broadcast(x),
//   prefix(v)      lane i := v_0 + ... + v_i (log2(width) shift-and-add steps)
//   last(v)        every lane := v_{width-1}
// simd_lanes<T>::available is false where no vector path exists (the scalar loop then runs).
// The AVX-512 code uses the zero-masked intrinsics with full masks: GCC 12 warns about the unmasked
// forms' undefined pass-through register in user code built with -Wall.
#pragma once

#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace rescan::detail {

template <class T>
struct simd_lanes {
  static constexpr bool available = false;
};

#if defined(__AVX512F__)

template <>
struct simd_lanes<float> {
  static constexpr bool available = true;
  static constexpr int width = 16;
  using vector = __m512;
  static vector load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, vector v) { _mm512_storeu_ps(p, v); }
  static vector add(vector v, vector w) { return _mm512_add_ps(v, w); }
  static vector broadcast(float x) { return _mm512_set1_ps(x); }
  template <int Shift>
  static vector shifted(vector v) {  // lane i := v_{i - Shift}, 0 below
    return _mm512_castsi512_ps(
        _mm512_maskz_alignr_epi32(0xFFFF, _mm512_castps_si512(v), _mm512_setzero_si512(), 16 - Shift));
  }
  static vector prefix(vector v) {
    v = add(v, shifted<1>(v));
    v = add(v, shifted<2>(v));
    v = add(v, shifted<4>(v));
    return add(v, shifted<8>(v));
  }
  static vector last(vector v) { return _mm512_maskz_permutexvar_ps(0xFFFF, _mm512_set1_epi32(15), v); }
};

template <>
struct simd_lanes<double> {
  static constexpr bool available = true;
  static constexpr int width = 8;
  using vector = __m512d;
  static vector load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, vector v) { _mm512_storeu_pd(p, v); }
  static vector add(vector v, vector w) { return _mm512_add_pd(v, w); }
  static vector broadcast(double x) { return _mm512_set1_pd(x); }
  template <int Shift>
  static vector shifted(vector v) {
    return _mm512_castsi512_pd(
        _mm512_maskz_alignr_epi64(0xFF, _mm512_castpd_si512(v), _mm512_setzero_si512(), 8 - Shift));
  }
  static vector prefix(vector v) {
    v = add(v, shifted<1>(v));
    v = add(v, shifted<2>(v));
    return add(v, shifted<4>(v));
  }
  static vector last(vector v) { return _mm512_maskz_permutexvar_pd(0xFF, _mm512_set1_epi64(7), v); }
};

#elif defined(__AVX2__)

template <>
struct simd_lanes<float> {
  static constexpr bool available = true;
  static constexpr int width = 8;
  using vector = __m256;
  static vector load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, vector v) { _mm256_storeu_ps(p, v); }
  static vector add(vector v, vector w) { return _mm256_add_ps(v, w); }
  static vector broadcast(float x) { return _mm256_set1_ps(x); }
  template <int Bytes>
  static vector shifted_in_halves(vector v) {  // shifts each 128-bit half on its own
    return _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(v), Bytes));
  }
  static vector prefix(vector v) {
    v = add(v, shifted_in_halves<4>(v));
    v = add(v, shifted_in_halves<8>(v));
    const vector low_total = _mm256_permute_ps(v, 0xFF);                  // lane 3 of each half
    return add(v, _mm256_permute2f128_ps(low_total, low_total, 0x08));    // (0, low half's total)
  }
  static vector last(vector v) { return _mm256_permute_ps(_mm256_permute2f128_ps(v, v, 0x11), 0xFF); }
};

template <>
struct simd_lanes<double> {
  static constexpr bool available = true;
  static constexpr int width = 4;
  using vector = __m256d;
  static vector load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, vector v) { _mm256_storeu_pd(p, v); }
  static vector add(vector v, vector w) { return _mm256_add_pd(v, w); }
  static vector broadcast(double x) { return _mm256_set1_pd(x); }
  static vector prefix(vector v) {
    v = add(v, _mm256_castsi256_pd(_mm256_slli_si256(_mm256_castpd_si256(v), 8)));
    const vector low_total = _mm256_permute_pd(v, 0xF);                   // lane 1 of each half
    return add(v, _mm256_permute2f128_pd(low_total, low_total, 0x08));
  }
  static vector last(vector v) { return _mm256_permute_pd(_mm256_permute2f128_pd(v, v, 0x11), 0xF); }
};

#elif defined(__SSE2__) || defined(_M_X64)

template <>
struct simd_lanes<float> {
  static constexpr bool available = true;
  static constexpr int width = 4;
  using vector = __m128;
  static vector load(const float* p) { return _mm_loadu_ps(p); }
  static void store(float* p, vector v) { _mm_storeu_ps(p, v); }
  static vector add(vector v, vector w) { return _mm_add_ps(v, w); }
  static vector broadcast(float x) { return _mm_set1_ps(x); }
  static vector prefix(vector v) {
    v = add(v, _mm_castsi128_ps(_mm_slli_si128(_mm_castps_si128(v), 4)));
    return add(v, _mm_castsi128_ps(_mm_slli_si128(_mm_castps_si128(v), 8)));
  }
  static vector last(vector v) { return _mm_shuffle_ps(v, v, 0xFF); }
};

template <>
struct simd_lanes<double> {
  static constexpr bool available = true;
  static constexpr int width = 2;
  using vector = __m128d;
  static vector load(const double* p) { return _mm_loadu_pd(p); }
  static void store(double* p, vector v) { _mm_storeu_pd(p, v); }
  static vector add(vector v, vector w) { return _mm_add_pd(v, w); }
  static vector broadcast(double x) { return _mm_set1_pd(x); }
  static vector prefix(vector v) { return add(v, _mm_castsi128_pd(_mm_slli_si128(_mm_castpd_si128(v), 8))); }
  static vector last(vector v) { return _mm_unpackhi_pd(v, v); }
};

#endif

// Which instruction set the vector path was compiled for (reported by the benchmarks).
constexpr const char* simd_instruction_set() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__SSE2__) || defined(_M_X64)
  return "sse2";
#else
  return "scalar";
#endif
}

}  // namespace rescan::detail
