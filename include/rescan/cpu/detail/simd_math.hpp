// exp, softplus and sigmoid on whole vectors (and on scalars, with the same code), for kernels
// that would otherwise call std::exp once per element. One source for every vector width: the
// operations are those of GCC/Clang vector extensions, which plain float and double also have.
//
// exp: range reduction x = k ln2 + r (|r| <= ln2/2, ln2 split in two parts), a polynomial of
// exp(r) (within 2 ulp), scaled by 2^k: with AVX-512's vscalef, else built in the exponent bits.
// Results below the smallest normal number are 0 (or subnormal with vscalef, which the scoped
// flush-to-zero mode of rescan's CPU calls turns into 0); above the largest, +inf; NaN stays NaN.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "rescan/cpu/detail/simd_vector.hpp"

namespace rescan::detail {

// The vector the math kernels compute with: the widest SIMD vector of T, or T itself where the
// compiler has no vector extensions.
template <class T>
struct math_lanes {
#if RESCAN_HAS_VECTOR_EXTENSIONS
  using vector = typename simd<T>::vector;
  static constexpr int width = simd<T>::width;
#else
  using vector = T;
  static constexpr int width = 1;
#endif
#if RESCAN_HAS_VECTOR_EXTENSIONS
  // Unaligned access typed as T (not memcpy, whose byte-wise access the compiler must assume
  // aliases every local, which kept loop-carried vectors in memory instead of registers).
  typedef T unaligned_vector __attribute__((vector_size(sizeof(vector)), aligned(alignof(T))));
  static vector load(const T* p) { return *reinterpret_cast<const unaligned_vector*>(p); }
  static void store(T* p, const vector& v) { *reinterpret_cast<unaligned_vector*>(p) = v; }
#else
  static vector load(const T* p) { return *p; }
  static void store(T* p, const vector& v) { *p = v; }
#endif
  // p[0, count) in the first lanes (count < width), zeros in the others; nothing past p + count
  // is read. With AVX-512 one masked load, so that the vector comes whole from memory rather than
  // from a chain of narrower stores that a later load could not take its data from.
  static vector load_first(const T* p, int count) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
#if defined(__AVX512F__)
    if constexpr (sizeof(vector) == 64 && std::is_same_v<T, float>) {
      return reinterpret_cast<vector>(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p));
    } else if constexpr (sizeof(vector) == 64 && std::is_same_v<T, double>) {
      return reinterpret_cast<vector>(_mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1), p));
    }
#endif
    vector v{};
    for (int i = 0; i < count; ++i) v[i] = p[i];
    return v;
#else
    (void)p;
    (void)count;
    return T(0);
#endif
  }

  // The lanes in reverse order.
  static vector reversed(const vector& v) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
    return reversed(v, std::make_integer_sequence<int, width>{});
#else
    return v;
#endif
  }

  // Every lane := x (not `vector{} + x`, which the compiler must compute as 0 + x for x = -0).
  static vector broadcast(T x) { return splat(x, std::make_integer_sequence<int, width>{}); }

  // sums[j] := sum(vectors[j]) for the W vectors at `vectors` (W x W values), by the same tree as
  // sum() (so each result has the same bits), in about three operations per vector instead of
  // 2 log2(W): pairs of vectors are folded together, half of each from each (see fold_pairs).
  static void sum_each(const T* vectors, T* sums) {
    vector v[width];
    for (int m = 0; m < width; ++m) v[m] = load(vectors + m * width);
    store(sums, sum_each(v));
  }
  // The same for W vectors the caller holds (in registers, when it indexes them with constants):
  // lane j of the result := sum(vectors[j]).
  static vector sum_each(const vector (&vectors)[width]) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
    vector v[width];
    // Folding pairs leaves lane L holding the sum of input bit_reversed(L): feed them reversed.
    for (int m = 0; m < width; ++m) v[m] = vectors[bit_reversed(m)];
    fold_pairs<width>(v, width);
    return v[0];
#else
    return vectors[0];
#endif
  }

#if RESCAN_HAS_VECTOR_EXTENSIONS
  template <int... I>
  static vector reversed(const vector& v, std::integer_sequence<int, I...>) {
    return __builtin_shufflevector(v, v, (width - 1 - I)...);
  }
#endif

  template <int... I>
  static vector splat(T x, std::integer_sequence<int, I...>) {
    return vector{((void)I, x)...};
  }

  // The sum of the lanes, always in the same tree order: lane i + lane i + W/2, then the same on
  // the half-width vector, down to one lane.
  static T sum(const vector& v) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
    return fold_halves<sizeof(vector)>(v);
#else
    return v;
#endif
  }

 private:
#if RESCAN_HAS_VECTOR_EXTENSIONS
  template <std::size_t Bytes, class Vector>
  static T fold_halves(const Vector& v) {
    if constexpr (Bytes == sizeof(T)) {
      return v[0];
    } else {
      typedef T half __attribute__((vector_size(Bytes / 2)));
      constexpr int n = int(Bytes / sizeof(T));
      const half low = shuffled<half>(v, std::make_integer_sequence<int, n / 2>{}, 0);
      const half high = shuffled<half>(v, std::make_integer_sequence<int, n / 2>{}, n / 2);
      return fold_halves<Bytes / 2>(low + high);
    }
  }
  static constexpr int bit_reversed(int m) {
    int r = 0;
    for (int bit = 1; bit < width; bit <<= 1) r = (r << 1) | ((m & bit) ? 1 : 0);
    return r;
  }
  // Lanes hold groups of G partial sums. Folding a with b: each group keeps its lower half's and
  // upper half's sum, the first half of the lanes from a's group, the second from b's.
  static constexpr int fold_index(int lane, int G, bool upper) {
    const int group = lane / G * G, j = lane % G, half = G / 2;
    const int from_b = j < half ? 0 : width, k = j < half ? j : j - half;
    return from_b + group + k + (upper ? half : 0);
  }
  template <int G, int... L>
  static vector fold(const vector& a, const vector& b, std::integer_sequence<int, L...>) {
    const vector low = __builtin_shufflevector(a, b, fold_index(L, G, false)...);
    const vector high = __builtin_shufflevector(a, b, fold_index(L, G, true)...);
    return low + high;
  }
  template <int G>
  static void fold_pairs(vector* v, int count) {
    if constexpr (G > 1) {
      for (int k = 0; k < count / 2; ++k) {
        v[k] = fold<G>(v[2 * k], v[2 * k + 1], std::make_integer_sequence<int, width>{});
      }
      fold_pairs<G / 2>(v, count / 2);
    }
  }
  template <class Half, class Vector, int... I>
  static Half shuffled(const Vector& v, std::integer_sequence<int, I...>, int offset) {
    Half result;
    if (offset == 0) {
      result = __builtin_shufflevector(v, v, I...);
    } else {
      result = __builtin_shufflevector(v, v, (I + int(sizeof...(I)))...);
    }
    return result;
  }
#endif
};

template <class T>
struct exp_constants;

template <>
struct exp_constants<float> {
  using bits = std::int32_t;
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_high = 0.693359375f;        // few significant bits: k * ln2_high is exact
  static constexpr float ln2_low = -2.12194440e-4f;
  static constexpr float round_magic = 12582912.0f;      // 1.5 * 2^23: adding it rounds to an integer
  static constexpr float lowest = -87.33654f;            // exp(lowest) is the smallest normal float
  static constexpr float highest = 88.72283f;
  static constexpr int mantissa_bits = 23, exponent_bias = 127, degree = 5;
};

template <>
struct exp_constants<double> {
  using bits = std::int64_t;
  static constexpr double log2e = 1.4426950408889634074;
  static constexpr double ln2_high = 0.693145751953125;
  static constexpr double ln2_low = 1.42860682030941723212e-6;
  static constexpr double round_magic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double lowest = -708.3964185322641;
  static constexpr double highest = 709.782712893384;
  static constexpr int mantissa_bits = 52, exponent_bias = 1023, degree = 12;
};

// 2^k for integral-valued k in the normal exponent range.
template <class T, class V>
V power_of_two(const V& k) {
  using c = exp_constants<T>;
  using bits = typename c::bits;
#if RESCAN_HAS_VECTOR_EXTENSIONS
  if constexpr (!std::is_same_v<V, T>) {
    typedef bits bit_vector __attribute__((vector_size(sizeof(V))));
    const bit_vector exponent = (__builtin_convertvector(k, bit_vector) + bits(c::exponent_bias)) << c::mantissa_bits;
    V result;
    std::memcpy(&result, &exponent, sizeof result);
    return result;
  }
#endif
  if constexpr (std::is_same_v<V, T>) {
    const bits exponent = (bits(k) + bits(c::exponent_bias)) << c::mantissa_bits;
    T result;
    std::memcpy(&result, &exponent, sizeof result);
    return result;
  }
}

// c[0] x^(K-1) + ... + c[K-1] by Horner's rule (coefficients from the highest power down).
template <class V, class T, std::size_t K>
V horner(const V& x, const T (&c)[K]) {
  V p = V{} + c[0];
  for (std::size_t i = 1; i < K; ++i) p = p * x + c[i];
  return p;
}

// exp(r) for |r| <= ln2 / 2. float: a degree-5 polynomial fitted for relative error on that
// interval (7.5e-8 in exact arithmetic, about one float ulp); double: Taylor to degree 12.
template <class T, class V>
V exp_polynomial(const V& r) {
  if constexpr (std::is_same_v<T, float>) {
    static constexpr float fitted[] = {0.008297651843026476f, 0.04191538181319761f, 0.16667574776855634f,
                                       0.4999889485335128f,   0.9999996919773669f,  1.0000000716543669f};
    return horner(r, fitted);
  } else {
    using c = exp_constants<T>;
    double coefficient = 1.0;
    for (int i = 2; i <= c::degree; ++i) coefficient /= i;
    V p = V{} + T(coefficient);  // 1 / degree!
    for (int i = c::degree - 1; i >= 0; --i) {
      coefficient *= (i + 1);
      p = p * r + T(coefficient);
    }
    return p;
  }
}

// 2^f for |f| <= 1/2: the exp polynomial of f ln 2 (float: its coefficients scaled by ln2^i).
template <class T, class V>
V exp2_polynomial(const V& f) {
  if constexpr (std::is_same_v<T, float>) {
    static constexpr float fitted[] = {0.0013276466799337517f, 0.009675541292997053f, 0.05550713289561806f,
                                       0.24022119724871868f,   0.6931469670549256f,   1.0000000716543669f};
    return horner(f, fitted);
  } else {
    return exp_polynomial<T>(f * T(0.6931471805599453));
  }
}

// The pieces vector_exp and vector_exp2 share. With AVX-512 the maskz_ forms of the intrinsics
// with every lane set are used: the plain ones start from _mm512_undefined, which GCC 12 reports
// as maybe-uninitialized.
// x rounded to the nearest integer (ties to even), for |x| < 2^22.
template <class T, class V>
V round_to_integer(const V& x) {
#if RESCAN_HAS_VECTOR_EXTENSIONS && defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {
    constexpr int mode = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    if constexpr (std::is_same_v<T, float>) {
      return reinterpret_cast<V>(_mm512_maskz_roundscale_ps(__mmask16(0xFFFF), reinterpret_cast<__m512>(x), mode));
    } else {
      return reinterpret_cast<V>(_mm512_maskz_roundscale_pd(__mmask8(0xFF), reinterpret_cast<__m512d>(x), mode));
    }
  }
#endif
  return (x + T(exp_constants<T>::round_magic)) - T(exp_constants<T>::round_magic);
}

// exp (or 2^x) from a range reduction reduce(x) -> {k, p} with x = k ln2 + r (or k + f) and
// p = exp(r) (or 2^f): p 2^k. lowest / highest: the arguments whose result is the smallest normal
// and the largest finite number. Below lowest the result is 0, above highest +inf, NaN stays NaN.
template <class T, class V, class Reduce>
V exp_by_reduction(V x, T lowest, T highest, const Reduce& reduce) {
#if RESCAN_HAS_VECTOR_EXTENSIONS && defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {
    // vscalef overflows to inf and underflows to 0 (or a subnormal) by itself; the clamp only keeps
    // k finite, and low enough (60 under the smallest normal's argument) that a clamped x still
    // gives 0 in double too (min/max return their second operand for NaN, so NaN stays).
    if constexpr (std::is_same_v<T, float>) {
      x = reinterpret_cast<V>(_mm512_maskz_min_ps(__mmask16(0xFFFF), _mm512_set1_ps(highest + 1), reinterpret_cast<__m512>(x)));
      x = reinterpret_cast<V>(_mm512_maskz_max_ps(__mmask16(0xFFFF), _mm512_set1_ps(lowest - 60), reinterpret_cast<__m512>(x)));
      const auto [k, p] = reduce(x);
      return reinterpret_cast<V>(_mm512_maskz_scalef_ps(__mmask16(0xFFFF), reinterpret_cast<__m512>(p), reinterpret_cast<__m512>(k)));
    } else {
      x = reinterpret_cast<V>(_mm512_maskz_min_pd(__mmask8(0xFF), _mm512_set1_pd(highest + 1), reinterpret_cast<__m512d>(x)));
      x = reinterpret_cast<V>(_mm512_maskz_max_pd(__mmask8(0xFF), _mm512_set1_pd(lowest - 60), reinterpret_cast<__m512d>(x)));
      const auto [k, p] = reduce(x);
      return reinterpret_cast<V>(_mm512_maskz_scalef_pd(__mmask8(0xFF), reinterpret_cast<__m512d>(p), reinterpret_cast<__m512d>(k)));
    }
  }
#endif
  const V input = x;
  x = x > highest ? V{} + highest : x;  // NaN fails both tests and stays NaN
  x = x < lowest ? V{} + lowest : x;
  const auto [k, p] = reduce(x);
  const V top = k > T(0) ? V{} + T(1) : V{};  // 2^k = 2^(k - 1) * 2 keeps k = 128 (1024) in range
  V result = (p * power_of_two<T>(k - top)) * (top + T(1));
  result = input < lowest ? V{} : result;
  return input > highest ? V{} + T(INFINITY) : result;
}

template <class T, class V>
struct exp_reduction {
  V k, p;
};

template <class T, class V>
V vector_exp(V x) {
  using c = exp_constants<T>;
  return exp_by_reduction<T>(x, T(c::lowest), T(c::highest), [](const V& v) {
    const V k = round_to_integer<T>(v * T(c::log2e));
    const V r = (v - k * T(c::ln2_high)) - k * T(c::ln2_low);
    return exp_reduction<T, V>{k, exp_polynomial<T>(r)};
  });
}

// 2^x, the same way as vector_exp without the multiplication by log2(e) and the two-part ln 2:
// x = k + f with |f| <= 1/2, 2^f by a polynomial, scaled by 2^k. Kernels that can fold log2(e)
// into a constant they multiply by anyway (the selective scan's A) save three operations per
// vector; the price is the rounding of that product, a relative error of |x| * 4e-8 in the result.
// This is the form through the shared range reduction (x clamped first); vector_exp2 below.
template <class T, class V>
V vector_exp2_by_reduction(V x) {
  using c = exp_constants<T>;
  // 2^(1 - bias) is the smallest normal number exactly (c::lowest * log2 e rounds to either side of it)
  return exp_by_reduction<T>(x, T(1 - c::exponent_bias), T(c::highest * c::log2e), [](const V& v) {
    const V k = round_to_integer<T>(v);
    return exp_reduction<T, V>{k, exp2_polynomial<T>(v - k)};
  });
}

// 2^x. With AVX-512: k = round(x) and f = x - k come from two independent instructions (vrndscale,
// vreduce), and vreduce gives f = 0 for ±inf, so vscalef(2^0, ±inf) is inf or 0 with no clamp of x
// (NaN stays NaN): the same bits as vector_exp2_by_reduction for every x, two instructions fewer
// and one less step of latency. Elsewhere vector_exp2_by_reduction.
template <class T, class V>
V vector_exp2(V x) {
#if RESCAN_HAS_VECTOR_EXTENSIONS && defined(__AVX512F__) && defined(__AVX512DQ__)
  if constexpr (sizeof(V) == 64) {
    constexpr int mode = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    if constexpr (std::is_same_v<T, float>) {
      const __m512 v = reinterpret_cast<__m512>(x);
      const __m512 k = _mm512_maskz_roundscale_ps(__mmask16(0xFFFF), v, mode);
      const V f = reinterpret_cast<V>(_mm512_maskz_reduce_ps(__mmask16(0xFFFF), v, mode));
      return reinterpret_cast<V>(
          _mm512_maskz_scalef_ps(__mmask16(0xFFFF), reinterpret_cast<__m512>(exp2_polynomial<T>(f)), k));
    } else {
      const __m512d v = reinterpret_cast<__m512d>(x);
      const __m512d k = _mm512_maskz_roundscale_pd(__mmask8(0xFF), v, mode);
      const V f = reinterpret_cast<V>(_mm512_maskz_reduce_pd(__mmask8(0xFF), v, mode));
      return reinterpret_cast<V>(
          _mm512_maskz_scalef_pd(__mmask8(0xFF), reinterpret_cast<__m512d>(exp2_polynomial<T>(f)), k));
    }
  }
#endif
  return vector_exp2_by_reduction<T>(x);
}

// 1 / x, for x >= 1 (where the kernels divide): with AVX-512, the 14-bit
// reciprocal estimate refined by Newton's method (within 1 ulp; a division is several times
// slower); elsewhere a division. x = +inf gives 0.
template <class T, class V>
V vector_reciprocal(const V& x) {
#if RESCAN_HAS_VECTOR_EXTENSIONS && defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {
    constexpr T largest = std::numeric_limits<T>::max();
    V r, bounded = x > largest ? V{} + largest : x;  // rcp14(inf) = 0 would give 0 * inf = NaN below
    if constexpr (std::is_same_v<T, float>) {
      r = reinterpret_cast<V>(_mm512_maskz_rcp14_ps(__mmask16(0xFFFF), reinterpret_cast<__m512>(bounded)));
    } else {
      r = reinterpret_cast<V>(_mm512_maskz_rcp14_pd(__mmask8(0xFF), reinterpret_cast<__m512d>(bounded)));
      r = r + r * (T(1) - bounded * r);
    }
    return r + r * (T(1) - bounded * r);
  }
#endif
  return T(1) / x;
}

// log1p(w) for 0 <= w <= 1: 2 atanh(s) with s = w / (2 + w), or ln 2 + 2 atanh((w - 1) / (w + 3))
// above sqrt(2) - 1, so that |s| <= 0.172 and the odd series converges fast in both: with s^2 <=
// 0.0296, the terms after s^(2 terms) / (2 terms + 1) add at most s2^(terms + 1) / (2 terms + 3)
// relative to the sum, 2e-9 for float (4 terms; an ulp is 6e-8) and 8e-19 for double (10 terms).
template <class T, class V>
V vector_log1p_unit(const V& w) {
  const auto upper = w > T(0.41421356237309515);
  // One reciprocal: the branch is picked per lane before it (the same operations, so the same bits).
  const V s = (upper ? w - T(1) : w) * vector_reciprocal<T>(upper ? w + T(3) : w + T(2));
  const V s2 = s * s;
  constexpr int terms = std::is_same_v<T, float> ? 4 : 10;
  V series = V{} + T(1.0 / (2 * terms + 1));
  for (int i = terms - 1; i >= 0; --i) series = series * s2 + T(1.0 / (2 * i + 1));
  const V log = T(2) * s * series;
  return upper ? log + T(0.6931471805599453) : log;
}

// Mamba's softplus, log(1 + exp(x)) and x itself above 20, and, where slope is given, its
// derivative sigmoid(x) (1 above 20), from the one e = exp(-|x|) they share: sigmoid(x) is
// 1 / (1 + e) for x >= 0 and e / (1 + e) below.
template <class T, class V>
V vector_softplus(const V& x, V* slope = nullptr) {
  const V magnitude = x < T(0) ? -x : x;
  const V e = vector_exp<T>(-magnitude);
  const V smooth = (x > T(0) ? x : V{}) + vector_log1p_unit<T>(e);
  if (slope != nullptr) {
    const V sigmoid = (x < T(0) ? e : V{} + T(1)) * vector_reciprocal<T>(T(1) + e);
    *slope = x > T(20) ? V{} + T(1) : sigmoid;
  }
  return x > T(20) ? x : smooth;
}

// 1 / (1 + exp(-x)).
template <class T, class V>
V vector_sigmoid(const V& x) {
  return vector_reciprocal<T>(T(1) + vector_exp<T>(-x));
}

}  // namespace rescan::detail
