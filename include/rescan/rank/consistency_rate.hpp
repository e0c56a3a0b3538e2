// CREAM's consistency rate (DESIGN.md §5): per group C_j = (tau_j + 1) / 2 from the Kendall tau of
// two rankings of the group's responses ("dyn", sample-level), and its mean over the groups
// ("avg", set-level). Groups whose tau is NaN (too few responses, all rewards equal, NaN rewards)
// are skipped in the mean and counted; their C_j is NaN. The mean is summed in double, in group
// order on the CPU and in a fixed order on CUDA (run to run identical on each).
#pragma once

#include <limits>
#include <type_traits>

#include "rescan/core/checks.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan {

// tau: (groups) float or double, e.g. from kendall_tau_batched; per_group: (groups) of the same
// type, or an empty view when only the mean is wanted. Returns the mean and the group counts
// (synchronous on every backend).
template <class Backend, class T>
consistency_summary consistency_rate(const Backend& backend, const strided_view<T, 1>& tau,
                                     const strided_view<std::remove_const_t<T>, 1>& per_group = {}) {
  constexpr const char* function = "consistency_rate";
  static_assert(std::is_floating_point_v<std::remove_const_t<T>>,
                "rescan::consistency_rate: tau needs a floating-point element type");
  detail::check_extents(function, "tau", tau);
  detail::check_optional_extent(function, "per_group", per_group, 0, "tau", tau, 0);
  if (tau.empty()) return {std::numeric_limits<double>::quiet_NaN(), 0, 0};
  return detail::rank_kernels<Backend>::consistency_rate(backend, strided_view<const std::remove_const_t<T>, 1>(tau),
                                                         per_group);
}

}  // namespace rescan
