// CPU backend of top_k: per row, a partial selection of index order (nth_element), then a sort of
// the k selected; O(L + k log k) per row, scratch allocated once per call, not per row.
#pragma once

#include <algorithm>
#include <vector>

#include "rescan/core/view.hpp"
#include "rescan/cpu/parallel.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan::detail {

// Does index i come before index j in descending order? NaN first, larger first, lower index first.
template <class T>
struct descending_order {
  strided_view<const T, 1> x;
  bool operator()(index_t i, index_t j) const {
    const bool i_nan = x(i) != x(i), j_nan = x(j) != x(j);
    if (i_nan != j_nan) return i_nan;
    if (!i_nan && x(i) != x(j)) return x(i) > x(j);
    return i < j;
  }
};

template <>
struct top_k_kernels<cpu_t> {
  template <class T>
  static void top_k(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& values,
                    const strided_view<index_t, 2>& indices) {
    const index_t length = in.extent(1);
    const index_t k = values.extent(1);
    const cpu_team team = team_of(backend);
    std::vector<index_t> scratch(static_cast<std::size_t>(team.threads) * static_cast<std::size_t>(length));
    parallel_for(team, in.extent(0), [&](index_t row) {
      index_t* order = scratch.data() + static_cast<std::size_t>(current_thread()) * static_cast<std::size_t>(length);
      for (index_t t = 0; t < length; ++t) order[t] = t;
      const descending_order<T> before{in[row]};
      if (k < length) std::nth_element(order, order + k, order + length, before);
      std::sort(order, order + k, before);
      for (index_t j = 0; j < k; ++j) {
        indices(row, j) = order[j];
        values(row, j) = in(row, order[j]);
      }
    });
  }
};

}  // namespace rescan::detail
