// Where segments start, seen in scan order. A row is scanned at positions s = 0 .. L-1 of its
// scan-order view (the row itself, or the row reversed). Each kind of segment description gives a
// `cursor(begin)` that answers "does a segment start at s?" for s = begin, begin + 1, ... in turn.
// Position 0 of a row always starts its first segment; the cursors only report later starts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rescan/core/view.hpp"

namespace rescan::detail {

// No segments: nothing ever restarts.
struct no_segments {
  struct cursor_type {
    constexpr bool operator()(index_t) const { return false; }
  };
  constexpr cursor_type cursor(index_t) const { return {}; }
};

// Flags in memory order. Forward: a segment starts at s when flags(s) != 0. Reverse (the row read
// backwards): the segment that starts at memory position t ends the reversed segment before it, so
// a reversed segment starts at s when the memory flag just after it, flags_reversed(s - 1), is set.
struct flag_segments {
  strided_view<const std::uint8_t, 1> flags_in_scan_order;
  index_t shift = 0;  // 0 forward, 1 reverse

  struct cursor_type {
    strided_view<const std::uint8_t, 1> flags;
    index_t shift;
    bool operator()(index_t s) const { return s > 0 && flags(s - shift) != 0; }
  };
  cursor_type cursor(index_t) const { return {flags_in_scan_order, shift}; }
};

// Offsets shared by every row, converted once to sorted segment starts in scan order, 0 < s < L.
struct offset_segments {
  std::vector<index_t> starts;

  struct cursor_type {
    const index_t* next;
    const index_t* end;
    bool operator()(index_t s) {
      if (next == end || *next != s) return false;
      while (next != end && *next == s) ++next;
      return true;
    }
  };
  cursor_type cursor(index_t begin) const {
    const index_t* first = starts.data();
    const index_t* last = first + starts.size();
    return {std::lower_bound(first, last, begin), last};
  }

  // offsets: positions in memory order (validated: sorted, within [0, L]).
  static offset_segments from_offsets(const strided_view<const index_t, 1>& offsets, index_t length, bool reverse) {
    offset_segments result;
    for (index_t i = 0; i < offsets.extent(0); ++i) {
      const index_t t = offsets(i);
      if (t > 0 && t < length) result.starts.push_back(reverse ? length - t : t);
    }
    if (reverse) std::reverse(result.starts.begin(), result.starts.end());
    return result;
  }
};

}  // namespace rescan::detail
