// Validation of the group offsets of the variable-size ranking forms, shared by every backend
// (the CUDA backend copies the offsets to the host first).
#pragma once

#include "rescan/core/error.hpp"
#include "rescan/core/view.hpp"

namespace rescan::detail {

// offsets (groups + 1): sorted, each in [0, total]; group j is [offsets[j], offsets[j + 1]).
inline void check_group_offsets(const char* function, const strided_view<const index_t, 1>& offsets, index_t total) {
  for (index_t i = 0; i < offsets.extent(0); ++i) {
    if (offsets(i) < 0 || offsets(i) > total) {
      raise<value_error>(function, ": offsets[", i, "] = ", offsets(i), " but must be in [0, ", total,
                         "] (x.extent(0))");
    }
    if (i > 0 && offsets(i) < offsets(i - 1)) {
      raise<value_error>(function, ": offsets[", i, "] = ", offsets(i), " is less than offsets[", i - 1, "] = ",
                         offsets(i - 1), " (offsets must be sorted)");
    }
  }
}

}  // namespace rescan::detail
