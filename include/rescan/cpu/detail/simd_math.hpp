// exp, softplus and sigmoid on whole vectors (and on scalars, with the same code), for kernels
// that would otherwise call std::exp once per element. One source for every vector width: the
// operations are those of GCC/Clang vector extensions, which plain float and double also have.
//
// exp: range reduction x = k ln2 + r (|r| <= ln2/2, ln2 split in two parts), a Taylor polynomial
// of exp(r) (degree 7 for float, 12 for double: within 2 ulp), scaled by 2^k built in the
// exponent bits. Below the smallest normal result it returns 0; above the largest, +inf; NaN
// stays NaN.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
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
  static vector load(const T* p) {
    vector v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, const vector& v) { std::memcpy(p, &v, sizeof v); }
  static vector broadcast(T x) { return vector{} + x; }

  // The sum of the lanes, always in the same tree order (halves added, then halves of the halves).
  static T sum(const vector& v) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
    return fold_halves<width>(v);
#else
    return v;
#endif
  }

 private:
#if RESCAN_HAS_VECTOR_EXTENSIONS
  template <int Width>
  static T fold_halves(const vector& v) {
    if constexpr (Width == 1) {
      return v[0];
    } else {
      vector folded = v;
      for (int i = 0; i < Width / 2; ++i) folded[i] = v[i] + v[i + Width / 2];
      return fold_halves<Width / 2>(folded);
    }
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
  static constexpr int mantissa_bits = 23, exponent_bias = 127, degree = 7;
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

template <class T, class V>
V vector_exp(V x) {
  using c = exp_constants<T>;
  const V input = x;
  x = x > T(c::highest) ? V{} + T(c::highest) : x;  // NaN fails both tests and stays NaN
  x = x < T(c::lowest) ? V{} + T(c::lowest) : x;
  const V k = (x * T(c::log2e) + T(c::round_magic)) - T(c::round_magic);
  const V r = (x - k * T(c::ln2_high)) - k * T(c::ln2_low);
  V p = V{} + T(1);  // Horner: 1 + r (1 + r/2 (1 + r/3 (...)))
  for (int i = c::degree; i >= 1; --i) p = p * (r * T(1.0 / i)) + T(1);
  const V top = k > T(0) ? V{} + T(1) : V{};  // 2^k = 2^(k - 1) * 2 keeps k = 128 (1024) in range
  V result = (p * power_of_two<T>(k - top)) * (top + T(1));
  result = input < T(c::lowest) ? V{} : result;
  return input > T(c::highest) ? V{} + T(INFINITY) : result;
}

// log1p(w) for 0 <= w <= 1: 2 atanh(s) with s = w / (2 + w), or ln 2 + 2 atanh((w - 1) / (w + 3))
// above sqrt(2) - 1, so that |s| <= 0.172 and the odd series converges fast in both.
template <class T, class V>
V vector_log1p_unit(const V& w) {
  const auto upper = w > T(0.41421356237309515);
  const V s = upper ? (w - T(1)) / (w + T(3)) : w / (w + T(2));
  const V s2 = s * s;
  constexpr int terms = std::is_same_v<T, float> ? 7 : 14;
  V series = V{} + T(1.0 / (2 * terms + 1));
  for (int i = terms - 1; i >= 0; --i) series = series * s2 + T(1.0 / (2 * i + 1));
  const V log = T(2) * s * series;
  return upper ? log + T(0.6931471805599453) : log;
}

// Mamba's softplus: log(1 + exp(x)), and x itself above 20.
template <class T, class V>
V vector_softplus(const V& x) {
  const V magnitude = x < T(0) ? -x : x;
  const V smooth = (x > T(0) ? x : V{}) + vector_log1p_unit<T>(vector_exp<T>(-magnitude));
  return x > T(20) ? x : smooth;
}

// 1 / (1 + exp(-x)).
template <class T, class V>
V vector_sigmoid(const V& x) {
  return T(1) / (T(1) + vector_exp<T>(-x));
}

}  // namespace rescan::detail
