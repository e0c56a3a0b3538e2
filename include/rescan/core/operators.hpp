// Scan and reduction operators. Each is a stateless function object combining an EARLIER value
// (left) with a LATER one (right); commutativity is never assumed. `identity()` gives the
// neutral element where one exists (exclusive scans and padding use it).
#pragma once

#include <cmath>
#include <limits>

#include "rescan/core/config.hpp"

namespace rescan {

struct plus {
  template <class T>
  RESCAN_HOST_DEVICE T operator()(const T& earlier, const T& later) const {
    return earlier + later;
  }
  template <class T>
  RESCAN_HOST_DEVICE static T identity() {
    return T(0);
  }
};

struct multiplies {
  template <class T>
  RESCAN_HOST_DEVICE T operator()(const T& earlier, const T& later) const {
    return earlier * later;
  }
  template <class T>
  RESCAN_HOST_DEVICE static T identity() {
    return T(1);
  }
};

// Running minimum / maximum. Ties keep the earlier value; a NaN, once seen, stays.
struct minimum {
  template <class T>
  RESCAN_HOST_DEVICE T operator()(const T& earlier, const T& later) const {
    if (earlier != earlier) return earlier;
    return (later < earlier || later != later) ? later : earlier;
  }
  template <class T>
  RESCAN_HOST_DEVICE static T identity() {
    return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::max();
  }
};

struct maximum {
  template <class T>
  RESCAN_HOST_DEVICE T operator()(const T& earlier, const T& later) const {
    if (earlier != earlier) return earlier;
    return (later > earlier || later != later) ? later : earlier;
  }
  template <class T>
  RESCAN_HOST_DEVICE static T identity() {
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::lowest();
  }
};

// The map x -> a*x + b. Composing the earlier map (a0, b0) with the later (a1, b1) gives
// x -> a1*(a0*x + b0) + b1 = (a1*a0, a1*b0 + b1). A scan of these pairs solves h_t = a_t h_{t-1} + b_t.
template <class T>
struct affine_pair {
  using value_type = T;
  T a;
  T b;
};

struct affine_compose {
  template <class T>
  RESCAN_HOST_DEVICE affine_pair<T> operator()(const affine_pair<T>& earlier, const affine_pair<T>& later) const {
    return {later.a * earlier.a, later.a * earlier.b + later.b};
  }
  template <class Pair>
  RESCAN_HOST_DEVICE static Pair identity() {
    return {1, 0};
  }
};

// A 2x2 matrix, row-major: [[m00, m01], [m10, m11]].
template <class T>
struct mat2 {
  T m00, m01, m10, m11;
};

// Matrix product earlier * later (the prefix of M0, M1, ... is M0 M1 ... Mt).
struct mat2_product {
  template <class T>
  RESCAN_HOST_DEVICE mat2<T> operator()(const mat2<T>& x, const mat2<T>& y) const {
    return {x.m00 * y.m00 + x.m01 * y.m10, x.m00 * y.m01 + x.m01 * y.m11,
            x.m10 * y.m00 + x.m11 * y.m10, x.m10 * y.m01 + x.m11 * y.m11};
  }
  template <class Matrix>
  RESCAN_HOST_DEVICE static Matrix identity() {
    return {1, 0, 0, 1};
  }
};

}  // namespace rescan
