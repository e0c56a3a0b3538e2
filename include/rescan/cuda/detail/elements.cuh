// Element types and operators the CUDA kernels scan and reduce internally: the segmented lift of
// an operator, (value, index) pairs for argmax, and order-preserving integer sort keys for top_k.
#pragma once

#include <cstdint>
#include <cstring>
#include <cuda/std/limits>
#include <type_traits>

#include "rescan/core/config.hpp"

namespace rescan::cuda_detail {

// ---------------------------------------------------------------------------------------------
// Segmented scans as plain scans: a value with a flag "a segment starts here". Lifting op gives
//   (f0, v0) ∘ (f1, v1) = (f0 | f1, f1 ? v1 : v0 ∘ v1),
// which is associative whenever op is (commutative or not), so any scan algorithm (cub::BlockScan,
// cub::DeviceScan) computes the segmented scan of the values.
template <class V>
struct flagged {
  V value;
  int starts;  // 0 or 1
};

template <class Op>
struct segmented_op {
  Op op;

  template <class V>
  RESCAN_HOST_DEVICE flagged<V> operator()(const flagged<V>& earlier, const flagged<V>& later) const {
    flagged<V> result;
    result.value = later.starts ? later.value : op(earlier.value, later.value);
    result.starts = earlier.starts | later.starts;
    return result;
  }
};

// ---------------------------------------------------------------------------------------------
// argmax: the largest value with its position. NaN counts as larger than any number; between equal
// values (or two NaNs) the lower index wins. That makes the operator commutative as well as
// associative, so the result never depends on how a block or a grid splits the row.
template <class T>
struct indexed {
  T value;
  index_t index;
};

struct argmax_op {
  template <class T>
  RESCAN_HOST_DEVICE indexed<T> operator()(const indexed<T>& x, const indexed<T>& y) const {
    const bool x_nan = x.value != x.value;
    const bool y_nan = y.value != y.value;
    if (x_nan != y_nan) return x_nan ? x : y;
    if (!x_nan && x.value != y.value) return y.value > x.value ? y : x;
    return y.index < x.index ? y : x;
  }
};

// ---------------------------------------------------------------------------------------------
// Sort keys for top_k: an unsigned integer whose ascending order is the DESCENDING order of the
// values, with NaN before everything (every NaN the same key) and -0.0 equal to +0.0, so a stable
// ascending sort of (key, position) gives "larger first, NaN first, lower index first on ties".
template <class T, class = void>
struct descending_key;

template <class T>
struct descending_key<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "rescan::cuda top_k: float or double");
  using type = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

  RESCAN_HOST_DEVICE static type of(T x) {
    constexpr type sign = type(1) << (8 * sizeof(T) - 1);
    if (x != x) return type(0);  // NaN: first
    if (x == T(0)) x = T(0);     // -0.0 ties with +0.0
    type bits;
    memcpy(&bits, &x, sizeof(T));
    const type ascending = (bits & sign) ? ~bits : (bits | sign);  // monotone in x, never all ones here
    return ~ascending;
  }
};

template <class T>
struct descending_key<T, std::enable_if_t<std::is_integral_v<T>>> {
  using type = std::conditional_t<(sizeof(T) <= 4), std::uint32_t, std::uint64_t>;

  RESCAN_HOST_DEVICE static type of(T x) {
    constexpr type sign = type(1) << (8 * sizeof(type) - 1);
    if constexpr (std::is_signed_v<T>) {
      using wide = std::conditional_t<(sizeof(T) <= 4), std::int32_t, std::int64_t>;
      const type ascending = static_cast<type>(static_cast<wide>(x)) ^ sign;
      return ~ascending;
    } else {
      return ~static_cast<type>(x);
    }
  }
};

// The largest key: sorts after every real element (ties with at most the smallest integer, and a
// stable sort keeps real elements, which come first, ahead of padding).
template <class Key>
RESCAN_HOST_DEVICE constexpr Key padding_key() {
  return ~Key(0);
}

// ---------------------------------------------------------------------------------------------
// Floating-point helpers with explicit float / double overloads (device math, no std:: on device).
RESCAN_HOST_DEVICE inline float exp_of(float x) { return expf(x); }
RESCAN_HOST_DEVICE inline double exp_of(double x) { return exp(x); }
RESCAN_HOST_DEVICE inline float log_of(float x) { return logf(x); }
RESCAN_HOST_DEVICE inline double log_of(double x) { return log(x); }

template <class T>
RESCAN_HOST_DEVICE bool is_finite(T x) {
  return x == x && x != ::cuda::std::numeric_limits<T>::infinity() && x != -::cuda::std::numeric_limits<T>::infinity();
}

}  // namespace rescan::cuda_detail
