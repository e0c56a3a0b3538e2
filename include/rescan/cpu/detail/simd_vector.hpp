// Portable SIMD vectors (GCC >= 12 / Clang vector extensions): the compiler lowers the same code to
// AVX-512, AVX2, SSE2 or NEON, whichever it targets. The vector is as wide as the widest registers
// the target has. Where the extensions are missing (MSVC, nvcc's host pass) simd<T>::available is
// false and the scalar loops run instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#if (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)) && !defined(__CUDACC__)
#define RESCAN_HAS_VECTOR_EXTENSIONS 1
#else
#define RESCAN_HAS_VECTOR_EXTENSIONS 0
#endif

namespace rescan::detail {

// Which registers the vector path was compiled for (reported by the benchmarks).
constexpr const char* simd_instruction_set() {
#if !RESCAN_HAS_VECTOR_EXTENSIONS
  return "scalar";
#elif defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX__)
  return "avx2";
#elif defined(__SSE2__)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "generic";
#endif
}

#if RESCAN_HAS_VECTOR_EXTENSIONS

#if defined(__AVX512F__)
inline constexpr int simd_bytes = 64;
#elif defined(__AVX__)
inline constexpr int simd_bytes = 32;
#else
inline constexpr int simd_bytes = 16;
#endif

template <class T>
struct simd {
  static constexpr bool available = std::is_same_v<T, float> || std::is_same_v<T, double>;
  static constexpr int width = simd_bytes / int(sizeof(T));
  typedef T vector __attribute__((vector_size(simd_bytes)));
  using lanes = std::make_index_sequence<static_cast<std::size_t>(width)>;

  static vector load(const T* p) {
    vector v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, const vector& v) { std::memcpy(p, &v, sizeof v); }
  static vector broadcast(T x) { return vector{} + x; }

  // Non-temporal store to a simd_bytes-aligned p: the line goes to memory without being read
  // first and without evicting useful data, which is what a large output wants. stream_fence()
  // orders these stores before any later store; call it before other threads read the output.
  static void stream(T* p, const vector& v) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) _mm512_stream_ps(p, (__m512)v); else _mm512_stream_pd(p, (__m512d)v);
#elif defined(__AVX__)
    if constexpr (std::is_same_v<T, float>) _mm256_stream_ps(p, (__m256)v); else _mm256_stream_pd(p, (__m256d)v);
#elif defined(__SSE2__)
    if constexpr (std::is_same_v<T, float>) _mm_stream_ps(p, (__m128)v); else _mm_stream_pd(p, (__m128d)v);
#else
    store(p, v);
#endif
  }
  static void stream_fence() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
  }
  static bool stream_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % simd_bytes == 0; }
  // store or stream, chosen at compile time.
  template <bool Stream>
  static void put(T* p, const vector& v) {
    if constexpr (Stream) stream(p, v); else store(p, v);
  }

  // Lane i := v_{i-K}, 0 in the lowest K lanes.
  template <int K>
  static vector shifted(const vector& v) {
    return shifted<K>(v, lanes{});
  }
  // Every lane := the last lane.
  static vector last(const vector& v) { return last(v, lanes{}); }
  // Lane i := 1 for i < K, else 0.
  template <int K>
  static vector ones_below() {
    return ones_below<K>(lanes{});
  }

  // Lane i := v_0 + ... + v_i.
  static vector prefix_sum(vector v) {
    if constexpr (width > 1) v += shifted<1>(v);
    if constexpr (width > 2) v += shifted<2>(v);
    if constexpr (width > 4) v += shifted<4>(v);
    if constexpr (width > 8) v += shifted<8>(v);
    return v;
  }

  // Lane i of (a, b) := (a_0, b_0) ∘ ... ∘ (a_i, b_i) under affine composition
  // (earlier (a', b'), later (a, b)) -> (a a', a b' + b).
  static void prefix_affine(vector& a, vector& b) {
    if constexpr (width > 1) compose_shifted<1>(a, b);
    if constexpr (width > 2) compose_shifted<2>(a, b);
    if constexpr (width > 4) compose_shifted<4>(a, b);
    if constexpr (width > 8) compose_shifted<8>(a, b);
  }

  // Interleaved pairs (a0 b0 a1 b1 ...) in two vectors <-> one vector of a's and one of b's.
  static void deinterleave(const vector& low, const vector& high, vector& a, vector& b) {
    a = pick<0>(low, high, lanes{});
    b = pick<1>(low, high, lanes{});
  }
  static void interleave(const vector& a, const vector& b, vector& low, vector& high) {
    low = zip<0>(a, b, lanes{});
    high = zip<width / 2>(a, b, lanes{});
  }

 private:
  // The lowest K lanes have no earlier lane at this distance: they keep (a, b) as they are (a
  // select, not a product with the identity, which would turn an infinite a into NaN).
  template <int K>
  static void compose_shifted(vector& a, vector& b) {
    const vector below = ones_below<K>();
    b = below != 0 ? b : a * shifted<K>(b) + b;
    a = a * (shifted<K>(a) + below);
  }
  template <int K, std::size_t... I>
  static vector shifted(const vector& v, std::index_sequence<I...>) {
    return __builtin_shufflevector(vector{}, v, (I < K ? 0 : int(sizeof...(I) + I) - K)...);
  }
  template <std::size_t... I>
  static vector last(const vector& v, std::index_sequence<I...>) {
    return __builtin_shufflevector(v, v, (int(I) * 0 + int(sizeof...(I)) - 1)...);
  }
  template <int K, std::size_t... I>
  static vector ones_below(std::index_sequence<I...>) {
    return vector{(I < K ? T(1) : T(0))...};
  }
  template <int Parity, std::size_t... I>  // lanes 2i + Parity of low:high
  static vector pick(const vector& low, const vector& high, std::index_sequence<I...>) {
    return __builtin_shufflevector(low, high, int(2 * I) + Parity...);
  }
  template <int First, std::size_t... I>  // a_{First}, b_{First}, a_{First+1}, b_{First+1}, ...
  static vector zip(const vector& a, const vector& b, std::index_sequence<I...>) {
    return __builtin_shufflevector(a, b, (First + int(I / 2) + (I % 2 ? int(sizeof...(I)) : 0))...);
  }
};

#else

template <class T>
struct simd {
  static constexpr bool available = false;
};

#endif

}  // namespace rescan::detail
