// The vector fast path of the scans: a plus-scan of contiguous float or double rows with no
// segments. Every other case takes the generic loop in row_scan.hpp.
#pragma once

#include <type_traits>

#include "rescan/core/operators.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cpu/detail/chunked_scan.hpp"
#include "rescan/cpu/detail/row_scan.hpp"
#include "rescan/cpu/detail/simd_prefix.hpp"

namespace rescan::detail {

// Sum of x[begin, end), several vector accumulators wide so the adds do not wait on each other.
template <class T>
T simd_sum(const T* x, index_t begin, index_t end) {
  using lanes = simd_lanes<T>;
  constexpr int width = lanes::width;
  typename lanes::vector sums[4] = {lanes::broadcast(T(0)), lanes::broadcast(T(0)), lanes::broadcast(T(0)),
                                    lanes::broadcast(T(0))};
  index_t s = begin;
  for (; s + 4 * width <= end; s += 4 * width) {
    for (int k = 0; k < 4; ++k) sums[k] = lanes::add(sums[k], lanes::load(x + s + k * width));
  }
  alignas(64) T lane_values[width];
  lanes::store(lane_values, lanes::add(lanes::add(sums[0], sums[1]), lanes::add(sums[2], sums[3])));
  T total = T(0);
  for (int k = 0; k < width; ++k) total += lane_values[k];
  for (; s < end; ++s) total += x[s];
  return total;
}

// out[s] = carry + x[begin] + ... + x[s] for s in [begin, end); returns the carry after end.
template <class T>
T simd_inclusive_sum(const T* x, T* out, index_t begin, index_t end, T carry) {
  using lanes = simd_lanes<T>;
  constexpr int width = lanes::width;
  auto running = lanes::broadcast(carry);
  index_t s = begin;
  for (; s + width <= end; s += width) {
    const auto sums = lanes::add(lanes::prefix(lanes::load(x + s)), running);
    lanes::store(out + s, sums);
    running = lanes::last(sums);
  }
  alignas(64) T lane_values[width];
  lanes::store(lane_values, running);
  carry = lane_values[0];
  for (; s < end; ++s) out[s] = carry = carry + x[s];
  return carry;
}

template <class T, class Op>
struct simd_scan {
  static constexpr bool enabled = std::is_same_v<Op, plus> && std::is_floating_point_v<T> && simd_lanes<T>::available;

  // Rows given in scan order; both must be unit-stride.
  static bool applies(const strided_view<const T, 1>& in, const strided_view<T, 1>& out) {
    if constexpr (enabled) {
      return in.stride(0) == 1 && out.stride(0) == 1;
    } else {
      (void)in, (void)out;
      return false;
    }
  }

  static void inclusive_row(const cpu_team& team, index_t length, const carry<T>& initial, const T* in, T* out) {
    if constexpr (enabled) {
      chunked_row_scan(
          team, length, scan_chunk_length<T>(), initial.present ? initial.value : T(0),
          [&](index_t begin, index_t end) { return simd_sum(in, begin, end); },
          [](T before, T chunk_sum) { return before + chunk_sum; },
          [&](index_t begin, index_t end, T before) { return simd_inclusive_sum(in, out, begin, end, before); });
    } else {
      (void)team, (void)length, (void)initial, (void)in, (void)out;
    }
  }
};

}  // namespace rescan::detail
