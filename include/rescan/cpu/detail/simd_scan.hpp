// The vector fast paths of the scans, for unit-stride float or double rows without segments:
// plus-scans, affine-pair scans (affine_compose over affine_pair<T>) and the linear recurrence.
// Each runs through chunked_row_scan like the generic loop, so long rows use every thread.
#pragma once

#include <type_traits>

#include "rescan/core/operators.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cpu/detail/chunked_scan.hpp"
#include "rescan/cpu/detail/row_scan.hpp"
#include "rescan/cpu/detail/simd_vector.hpp"

namespace rescan::detail {

// Is there a vector path for scanning T with Op?
template <class T, class Op>
struct simd_scan_kind {
  static constexpr bool sum = false, affine = false;
};
template <class T>
struct simd_scan_kind<T, plus> {
  static constexpr bool sum = simd<T>::available, affine = false;
};
template <class T>
struct simd_scan_kind<affine_pair<T>, affine_compose> {
  static constexpr bool sum = false, affine = simd<T>::available;
};

#if RESCAN_HAS_VECTOR_EXTENSIONS

// Sum of x[begin, end), four vector accumulators wide so the adds do not wait on each other.
template <class T>
T simd_sum(const T* x, index_t begin, index_t end) {
  using lanes = simd<T>;
  constexpr int width = lanes::width;
  typename lanes::vector sums[4] = {};
  index_t s = begin;
  for (; s + 4 * width <= end; s += 4 * width) {
    for (int k = 0; k < 4; ++k) sums[k] += lanes::load(x + s + k * width);
  }
  const auto total_lanes = (sums[0] + sums[1]) + (sums[2] + sums[3]);
  T total = 0;
  for (int k = 0; k < width; ++k) total += total_lanes[k];
  for (; s < end; ++s) total += x[s];
  return total;
}

// Rows whose output is at least this large are written with non-temporal stores: a store that
// misses the cache would otherwise read the line first, a third of the memory traffic of a scan.
constexpr index_t streaming_store_bytes = index_t(8) << 20;

// out[s] = carry + x[begin] + ... + x[s] for s in [begin, end) (no carry: x[begin] itself starts,
// exactly as the scalar loop does); returns the carry after end. Four vectors per step: their
// prefixes and totals do not depend on the carry, so the only chain from one step to the next is
// one add of the group total. Stream: non-temporal stores (after a scalar head aligning the output).
template <bool Stream, class T>
carry<T> simd_inclusive_sum(const T* x, T* out, index_t begin, index_t end, carry<T> before) {
  using lanes = simd<T>;
  constexpr int width = lanes::width;
  index_t s = begin;
  T total = before.value;
  if (!before.present && s < end) {
    out[s] = total = x[s];
    ++s;
  }
  if constexpr (Stream) {
    for (; s < end && !lanes::stream_aligned(out + s); ++s) out[s] = total = total + x[s];
  }
  auto running = lanes::broadcast(total);
  for (; s + 4 * width <= end; s += 4 * width) {
    typename lanes::vector prefix[4];
    for (int k = 0; k < 4; ++k) prefix[k] = lanes::prefix_sum(lanes::load(x + s + k * width));
    for (int k = 1; k < 4; ++k) prefix[k] += lanes::last(prefix[k - 1]);
    for (int k = 0; k < 4; ++k) lanes::template put<Stream>(out + s + k * width, prefix[k] + running);
    running += lanes::last(prefix[3]);
  }
  total = running[0];
  for (; s < end; ++s) out[s] = total = total + x[s];
  if constexpr (Stream) lanes::stream_fence();
  return {total, before.present || begin < end};
}

// Where the pairs of an affine scan live. Both layouts read (a, b) vectors at s and write results.
template <class T>
struct interleaved_pairs {  // affine_pair<T> arrays in and out
  using lanes = simd<T>;
  using vector = typename lanes::vector;
  const affine_pair<T>* in;
  affine_pair<T>* out;

  void load(index_t s, vector& a, vector& b) const {
    const T* first = &in[s].a;
    lanes::deinterleave(lanes::load(first), lanes::load(first + lanes::width), a, b);
  }
  template <bool Stream>
  void store(index_t s, const vector& a, const vector& b) const {
    vector low, high;
    lanes::interleave(a, b, low, high);
    T* first = &out[s].a;
    lanes::template put<Stream>(first, low);
    lanes::template put<Stream>(first + lanes::width, high);
  }
  const void* store_address(index_t s) const { return out + s; }
  affine_pair<T> load_one(index_t s) const { return in[s]; }
  void store_one(index_t s, const affine_pair<T>& value) const { out[s] = value; }
};

template <class T>
struct recurrence_arrays {  // a and b arrays in, h = the b of each prefix out
  using lanes = simd<T>;
  using vector = typename lanes::vector;
  const T* a;
  const T* b;
  T* h;

  void load(index_t s, vector& a_lanes, vector& b_lanes) const {
    a_lanes = lanes::load(a + s);
    b_lanes = lanes::load(b + s);
  }
  template <bool Stream>
  void store(index_t s, const vector&, const vector& b_lanes) const {
    lanes::template put<Stream>(h + s, b_lanes);
  }
  const void* store_address(index_t s) const { return h + s; }
  affine_pair<T> load_one(index_t s) const { return {a[s], b[s]}; }
  void store_one(index_t s, const affine_pair<T>& value) const { h[s] = value.b; }
};

// Affine scan of [begin, end) from `before` (absent: the first pair starts, as in the scalar loop,
// never composed with an identity that would turn inf into NaN); writes the prefixes when Write
// (non-temporal stores when Stream). Returns the carry after. As for sums, four vectors per step
// are composed among themselves first, so the chain from one step to the next is one composition.
template <bool Write, bool Stream, class T, class Pairs>
carry<affine_pair<T>> simd_affine_stretch(const Pairs& pairs, index_t begin, index_t end,
                                          const carry<affine_pair<T>>& before) {
  static_assert(Write || !Stream, "simd_affine_stretch: streaming needs Write");
  using lanes = simd<T>;
  constexpr int width = lanes::width;
  index_t s = begin;
  if (!before.present && s == end) return before;
  affine_pair<T> total = before.present ? before.value : pairs.load_one(s);
  if (!before.present) {
    if constexpr (Write) pairs.store_one(s, total);
    ++s;
  }
  if constexpr (Stream) {
    for (; s < end && !lanes::stream_aligned(pairs.store_address(s)); ++s) {
      total = affine_compose{}(total, pairs.load_one(s));
      pairs.store_one(s, total);
    }
  }
  auto carry_a = lanes::broadcast(total.a), carry_b = lanes::broadcast(total.b);
  for (; s + 4 * width <= end; s += 4 * width) {
    typename lanes::vector a[4], b[4];
    for (int k = 0; k < 4; ++k) {
      pairs.load(s + k * width, a[k], b[k]);
      lanes::prefix_affine(a[k], b[k]);
    }
    for (int k = 1; k < 4; ++k) {  // compose with the previous vectors' total
      b[k] = a[k] * lanes::last(b[k - 1]) + b[k];
      a[k] = a[k] * lanes::last(a[k - 1]);
    }
    if constexpr (Write) {
      for (int k = 0; k < 4; ++k) pairs.template store<Stream>(s + k * width, a[k] * carry_a, a[k] * carry_b + b[k]);
    }
    carry_b = lanes::last(a[3]) * carry_b + lanes::last(b[3]);
    carry_a = lanes::last(a[3]) * carry_a;
  }
  total = {carry_a[0], carry_b[0]};
  for (; s < end; ++s) {
    total = affine_compose{}(total, pairs.load_one(s));
    if constexpr (Write) pairs.store_one(s, total);
  }
  if constexpr (Stream) lanes::stream_fence();
  return {total, true};
}

// The carry after a stretch whose fold is `fold` (present whenever the stretch is not empty).
template <class T, class Op>
carry<T> carry_then(const carry<T>& before, const carry<T>& fold, const Op& op) {
  return before.present ? carry<T>{op(before.value, fold.value), true} : fold;
}

// A plus-scan of one contiguous row, split across the team when long.
template <class T>
void simd_sum_row(const cpu_team& team, index_t length, const carry<T>& initial, const T* in, T* out) {
  const bool stream = length * index_t(sizeof(T)) >= streaming_store_bytes;
  chunked_row_scan(
      team, length, scan_chunk_length<T>(), initial,
      [&](index_t begin, index_t end) { return carry<T>{simd_sum(in, begin, end), true}; },
      [](const carry<T>& before, const carry<T>& fold) { return carry_then(before, fold, plus{}); },
      [&](index_t begin, index_t end, const carry<T>& before) {
        return stream ? simd_inclusive_sum<true>(in, out, begin, end, before)
                      : simd_inclusive_sum<false>(in, out, begin, end, before);
      });
}

// An affine scan of one row of pairs, split across the team when long.
template <class T, class Pairs>
void simd_affine_row(const cpu_team& team, index_t length, const carry<affine_pair<T>>& initial, const Pairs& pairs) {
  using state = carry<affine_pair<T>>;
  const bool stream = length * index_t(sizeof(affine_pair<T>)) >= streaming_store_bytes;
  chunked_row_scan(
      team, length, scan_chunk_length<affine_pair<T>>(), initial,
      [&](index_t begin, index_t end) { return simd_affine_stretch<false, false>(pairs, begin, end, state{}); },
      [](const state& before, const state& fold) { return carry_then(before, fold, affine_compose{}); },
      [&](index_t begin, index_t end, const state& before) {
        return stream ? simd_affine_stretch<true, true>(pairs, begin, end, before)
                      : simd_affine_stretch<true, false>(pairs, begin, end, before);
      });
}

#endif  // RESCAN_HAS_VECTOR_EXTENSIONS

}  // namespace rescan::detail
