// What every scan front door shares: the backend hook and the shape checks.
#pragma once

#include "rescan/core/backend.hpp"
#include "rescan/core/checks.hpp"
#include "rescan/core/view.hpp"
#include "rescan/scan/scan_options.hpp"

namespace rescan::detail {

// Each backend specializes this with static members
//   inclusive(backend, in, out, op, options), exclusive(backend, in, out, init, op, options),
//   linear_recurrence(backend, a, b, h, options)
// taking already-checked, non-empty (rows, L) views.
template <class Backend>
struct scan_kernels : missing_backend<Backend> {};

// Shape checks every scan shares: in and out (rows, L), initial (rows), flags (rows, L).
template <class T, class U>
void check_scan_arguments(const char* function, const strided_view<const T, 2>& in, const strided_view<U, 2>& out,
                          const scan_options<U>& options) {
  check_same_shape(function, "out", out, "in", in);
  check_optional_extent(function, "options.initial", options.initial, 0, "in", in, 0);
  if (options.segment_flags.data() != nullptr) {
    check_same_shape(function, "options.segment_flags", options.segment_flags, "in", in);
    if (options.segment_offsets.extent(0) > 0) {
      raise<value_error>(function, ": options.segment_flags and options.segment_offsets are both given; segments "
                         "come from one of them");
    }
  }
}

}  // namespace rescan::detail
