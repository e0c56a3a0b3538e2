// Options shared by the scans and the linear recurrence.
#pragma once

#include <cstdint>

#include "rescan/core/view.hpp"

namespace rescan {

enum class scan_direction { forward, reverse };

// Every field is optional; a default-constructed view means "not given".
//
// Segments split each row into independent scans. They are given by position in the row's own
// (memory) order, whatever the direction, by ONE of (both at once is a value_error):
//   segment_flags    a segment starts at t when segment_flags(row, t) != 0;
//   segment_offsets  a segment starts at each offset (sorted, each in [0, L]; 0 and L are allowed
//                    and change nothing, so mamba_ssm's cu_seqlens can be passed as they are).
// A reverse scan runs inside each segment from its last element to its first.
//
// `initial` is the value entering each row before its first element in scan order (the last
// element for a reverse scan); it applies to the first segment only. Later segments start fresh.
template <class T>
struct scan_options {
  scan_direction direction = scan_direction::forward;
  strided_view<const T, 1> initial{};                     // (rows)
  strided_view<const std::uint8_t, 2> segment_flags{};    // (rows, L); a zero row stride broadcasts one row
  strided_view<const index_t, 1> segment_offsets{};       // (S), shared by all rows
};

}  // namespace rescan
