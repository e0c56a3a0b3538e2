// Plain sequential loops: the oracles every backend is checked against. Written for clarity, on
// logical row-major host data, with the semantics spelled out as directly as possible.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <rescan/rescan.hpp>

namespace rescan::testing {

// Segment starts in memory order for one row: flags (rows * L, may be empty) or offsets.
struct reference_segments {
  std::vector<std::uint8_t> flags;   // logical (rows, L), empty if not used
  std::vector<index_t> offsets;      // shared by all rows, empty if not used

  bool starts_at(index_t row, index_t t, index_t length) const {
    if (t <= 0 || t >= length) return false;
    if (!flags.empty()) return flags[row * length + t] != 0;
    return std::find(offsets.begin(), offsets.end(), t) != offsets.end();
  }
};

// The positions of one row in scan order (forward or backward) and whether each begins a segment.
inline std::vector<index_t> scan_positions(index_t length, bool reverse) {
  std::vector<index_t> order(static_cast<std::size_t>(length));
  std::iota(order.begin(), order.end(), index_t(0));
  if (reverse) std::reverse(order.begin(), order.end());
  return order;
}

// In scan order, position t restarts the scan: forward when a segment starts at t; backward when
// one starts at t + 1 (t is the last element of its segment).
inline bool restarts(const reference_segments& segments, index_t row, index_t t, index_t length, bool reverse) {
  return reverse ? segments.starts_at(row, t + 1, length) : segments.starts_at(row, t, length);
}

template <class T, class Op>
std::vector<T> reference_inclusive_scan(const std::vector<T>& x, index_t rows, index_t length, Op op, bool reverse,
                                        const std::vector<T>& initial, const reference_segments& segments) {
  std::vector<T> out(x.size());
  for (index_t r = 0; r < rows; ++r) {
    bool have = !initial.empty();
    T running = have ? initial[r] : T{};
    for (index_t t : scan_positions(length, reverse)) {
      const T value = x[r * length + t];
      if (restarts(segments, r, t, length, reverse)) have = false;
      running = have ? op(running, value) : value;
      have = true;
      out[r * length + t] = running;
    }
  }
  return out;
}

template <class T, class Op>
std::vector<T> reference_exclusive_scan(const std::vector<T>& x, index_t rows, index_t length, const T& init, Op op,
                                        bool reverse, const std::vector<T>& initial,
                                        const reference_segments& segments) {
  std::vector<T> out(x.size());
  for (index_t r = 0; r < rows; ++r) {
    T running = initial.empty() ? init : initial[r];
    for (index_t t : scan_positions(length, reverse)) {
      if (restarts(segments, r, t, length, reverse)) running = init;
      out[r * length + t] = running;
      running = op(running, x[r * length + t]);
    }
  }
  return out;
}

// h_t = a_t h_prev + b_t from h_prev = initial; with no previous state (no initial, or at a segment
// start) h_t = b_t.
template <class T>
std::vector<T> reference_linear_recurrence(const std::vector<T>& a, const std::vector<T>& b, index_t rows,
                                           index_t length, bool reverse, const std::vector<T>& initial,
                                           const reference_segments& segments) {
  std::vector<T> h(a.size());
  for (index_t r = 0; r < rows; ++r) {
    bool have = !initial.empty();
    T previous = have ? initial[r] : T(0);
    for (index_t t : scan_positions(length, reverse)) {
      if (restarts(segments, r, t, length, reverse)) have = false;
      previous = have ? a[r * length + t] * previous + b[r * length + t] : b[r * length + t];
      have = true;
      h[r * length + t] = previous;
    }
  }
  return h;
}

template <class T, class Op>
std::vector<T> reference_reduce(const std::vector<T>& x, index_t rows, index_t length, Op op, T empty_value) {
  std::vector<T> out(static_cast<std::size_t>(rows), empty_value);
  for (index_t r = 0; r < rows; ++r) {
    for (index_t t = 0; t < length; ++t) out[r] = t == 0 ? x[r * length] : op(out[r], x[r * length + t]);
  }
  return out;
}

// Position of each row's largest value: first NaN if any, else the first maximum.
template <class T>
std::vector<index_t> reference_argmax(const std::vector<T>& x, index_t rows, index_t length) {
  std::vector<index_t> out(static_cast<std::size_t>(rows), 0);
  for (index_t r = 0; r < rows; ++r) {
    for (index_t t = length - 1; t >= 0; --t) {
      const T v = x[r * length + t], best = x[r * length + out[r]];
      if (std::isnan(v) || (!std::isnan(best) && v >= best)) out[r] = t;
    }
  }
  return out;
}

// log Σ exp in long double, directly (no max shift): valid for the moderate inputs it is given.
template <class T>
std::vector<T> reference_logsumexp(const std::vector<T>& x, index_t rows, index_t length) {
  std::vector<T> out(static_cast<std::size_t>(rows));
  for (index_t r = 0; r < rows; ++r) {
    long double sum = 0;
    for (index_t t = 0; t < length; ++t) sum += std::exp(static_cast<long double>(x[r * length + t]));
    out[r] = static_cast<T>(std::log(sum));
  }
  return out;
}

template <class T>
std::vector<T> reference_softmax(const std::vector<T>& x, index_t rows, index_t length) {
  std::vector<T> out(x.size());
  for (index_t r = 0; r < rows; ++r) {
    long double sum = 0;
    for (index_t t = 0; t < length; ++t) sum += std::exp(static_cast<long double>(x[r * length + t]));
    for (index_t t = 0; t < length; ++t)
      out[r * length + t] = static_cast<T>(std::exp(static_cast<long double>(x[r * length + t])) / sum);
  }
  return out;
}

// The first k of a stable sort by descending value (NaN first).
template <class T>
void reference_top_k(const std::vector<T>& x, index_t rows, index_t length, index_t k, std::vector<T>& values,
                     std::vector<index_t>& indices) {
  values.assign(static_cast<std::size_t>(rows * k), T{});
  indices.assign(static_cast<std::size_t>(rows * k), 0);
  for (index_t r = 0; r < rows; ++r) {
    std::vector<index_t> order(static_cast<std::size_t>(length));
    std::iota(order.begin(), order.end(), index_t(0));
    const auto key = [&](index_t t) { return x[r * length + t]; };
    std::stable_sort(order.begin(), order.end(), [&](index_t i, index_t j) {
      if (std::isnan(key(i)) != std::isnan(key(j))) return std::isnan(key(i));
      return key(i) > key(j);
    });
    for (index_t j = 0; j < k; ++j) {
      indices[r * k + j] = order[j];
      values[r * k + j] = key(order[j]);
    }
  }
}

}  // namespace rescan::testing
