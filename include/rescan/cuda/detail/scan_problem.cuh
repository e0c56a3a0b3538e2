// One description of a row-wise scan that every CUDA path shares (cub::BlockScan per row,
// cub::DeviceScan per row): where a row's elements come from and go to, in SCAN order, which
// positions restart a segment, and the value entering each row. Writing the semantics once here
// keeps the paths identical by construction; they differ only in how they parallelize.
//
// Positions: a row is scanned at s = 0 .. L-1 of its scan-order view (the row itself, or the row
// reversed for scan_direction::reverse; the views given here are already in scan order).
#pragma once

#include <cstdint>
#include <type_traits>

#include "rescan/core/operators.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/elements.cuh"

namespace rescan::cuda_detail {

// Where segments start, answered per (row, scan position). Segment flags and offsets are given in
// MEMORY order whatever the direction (scan_options.hpp). Forward: a segment starts at s when
// flags(row, s) != 0 or s is an offset. Reverse: scan position s is memory position L-1-s, and it
// begins a reversed segment when a memory segment starts just after it, at L-s. Position 0 always
// begins the first segment, so it never reports a (re)start.
struct segment_starts {
  strided_view<const std::uint8_t, 2> flags{};  // (rows, L) in memory order, or no data
  strided_view<const index_t, 1> offsets{};     // validated, sorted; used only when flags are absent
  index_t length = 0;
  bool reverse = false;

  RESCAN_HOST_DEVICE bool any() const { return flags.data() != nullptr || offsets.extent(0) > 0; }

  RESCAN_HOST_DEVICE bool operator()(index_t row, index_t s) const {
    if (s <= 0) return false;
    const index_t t = reverse ? length - s : s;  // memory position of the segment start, in (0, L)
    if (flags.data() != nullptr) return flags(row, t) != 0;
    // Binary search of the sorted offsets for t.
    index_t low = 0, high = offsets.extent(0);
    while (low < high) {
      const index_t middle = low + (high - low) / 2;
      if (offsets(middle) < t) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low < offsets.extent(0) && offsets(low) == t;
  }
};

// Element access of inclusive_scan / exclusive_scan: values T read from `in`, written to `out`.
// The value entering a row is options.initial(row) when given, else `fallback` when has_fallback
// (exclusive scans: init), else nothing (an inclusive scan needs no identity).
template <class T>
struct scan_elements {
  using value_type = T;
  strided_view<const T, 2> in;
  strided_view<T, 2> out;
  strided_view<const T, 1> initial;
  T fallback;
  bool has_fallback;

  RESCAN_HOST_DEVICE T load(index_t row, index_t s) const { return in(row, s); }
  RESCAN_HOST_DEVICE void store(index_t row, index_t s, const T& value) const { out(row, s) = value; }
  RESCAN_HOST_DEVICE bool has_prefix() const { return initial.data() != nullptr || has_fallback; }
  RESCAN_HOST_DEVICE T prefix(index_t row) const { return initial.data() != nullptr ? initial(row) : fallback; }
};

// Element access of linear_recurrence: affine pairs (a_t, b_t) read from two arrays, only the
// pair's b (= h_t) written. The state entering a row, h_{-1} = initial(row), is the pair (1, h_{-1}):
// composed with (a_0, b_0) it gives (a_0, a_0 h_{-1} + b_0). h may alias b: each element is read
// before it is written, by the same block, within the same tile.
template <class T>
struct recurrence_elements {
  using value_type = affine_pair<T>;
  strided_view<const T, 2> a;
  strided_view<const T, 2> b;
  strided_view<T, 2> h;
  strided_view<const T, 1> initial;

  RESCAN_HOST_DEVICE value_type load(index_t row, index_t s) const { return value_type{a(row, s), b(row, s)}; }
  RESCAN_HOST_DEVICE void store(index_t row, index_t s, const value_type& value) const { h(row, s) = value.b; }
  RESCAN_HOST_DEVICE bool has_prefix() const { return initial.data() != nullptr; }
  RESCAN_HOST_DEVICE value_type prefix(index_t row) const { return value_type{T(1), initial(row)}; }
};

// The scan actually run: elements of type element_type under element_op(). Without segments these
// are the values and the user's operator. With segments they are flagged values under the lifted
// operator (elements.cuh), and for an exclusive scan a restarting element x_s becomes init ∘ x_s
// and its output is init, so that later segments start again from init.
//
// Inclusive: out_s = P ∘ x_0 ∘ ... ∘ x_s with P the row's prefix when has_prefix() (else no P).
// Exclusive: out_s = P ∘ x_0 ∘ ... ∘ x_{s-1} (P always present), then store() replaces restarts by init.
template <class Elements, class Op, bool Segmented, bool Exclusive>
struct scan_problem {
  using value_type = typename Elements::value_type;
  using element_type = std::conditional_t<Segmented, flagged<value_type>, value_type>;
  using element_op_type = std::conditional_t<Segmented, segmented_op<Op>, Op>;
  static constexpr bool segmented = Segmented;
  static constexpr bool exclusive = Exclusive;

  Elements elements;
  Op op;
  segment_starts starts;
  value_type init;  // exclusive scans: the value a later segment starts from

  RESCAN_HOST_DEVICE element_op_type element_op() const {
    if constexpr (Segmented) {
      return element_op_type{op};
    } else {
      return op;
    }
  }

  RESCAN_HOST_DEVICE bool has_prefix() const { return Exclusive || elements.has_prefix(); }

  RESCAN_HOST_DEVICE element_type prefix_element(index_t row) const {
    if constexpr (Segmented) {
      return element_type{elements.prefix(row), 0};
    } else {
      return elements.prefix(row);
    }
  }

  RESCAN_HOST_DEVICE element_type load(index_t row, index_t s) const {
    value_type x = elements.load(row, s);
    if constexpr (Segmented) {
      const bool restart = starts(row, s);
      if constexpr (Exclusive) {
        if (restart) x = op(init, x);
      }
      return element_type{x, restart ? 1 : 0};
    } else {
      return x;
    }
  }

  RESCAN_HOST_DEVICE void store(index_t row, index_t s, const element_type& result) const {
    if constexpr (Segmented) {
      if constexpr (Exclusive) {
        if (starts(row, s)) {
          elements.store(row, s, init);
          return;
        }
      }
      elements.store(row, s, result.value);
    } else {
      elements.store(row, s, result);
    }
  }
};

}  // namespace rescan::cuda_detail
