// CPU backend of top_k: per row, the values are copied once into per-thread scratch (so the
// comparisons read contiguous memory), then the first k positions are selected (select_first).
// The NaN-aware comparison is used only for rows that hold a NaN.
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "rescan/core/view.hpp"
#include "rescan/cpu/parallel.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan::detail {

// Does position i come before position j in descending order? Larger first, lower index first on
// ties; with WithNaN, NaN before everything.
template <bool WithNaN, class T>
struct descending_order {
  const T* x;
  bool operator()(index_t i, index_t j) const {
    if constexpr (WithNaN) {
      const bool i_nan = x[i] != x[i], j_nan = x[j] != x[j];
      if (i_nan || j_nan) return i_nan && (!j_nan || i < j);
    }
    return x[i] > x[j] || (x[i] == x[j] && i < j);
  }
};

// order[0, k) := the first k positions by `before`, in that order. Small k: one pass that keeps
// the best k sorted and tests each position against the k-th best (most fail that one test).
// Otherwise heap selection (partial_sort, O(L log k)) or nth_element + sort (O(L + k log k)).
template <class Order>
void select_first(index_t* order, index_t length, index_t k, const Order& before) {
  if (k <= 16) {
    index_t kept = 0;
    for (; kept < k; ++kept) {  // the first k positions, insertion-sorted
      index_t j = kept;
      for (; j > 0 && before(kept, order[j - 1]); --j) order[j] = order[j - 1];
      order[j] = kept;
    }
    index_t kth = order[k - 1];
    for (index_t t = k; t < length; ++t) {
      if (!before(t, kth)) continue;
      index_t j = k - 1;
      for (; j > 0 && before(t, order[j - 1]); --j) order[j] = order[j - 1];
      order[j] = t;
      kth = order[k - 1];
    }
    return;
  }
  std::iota(order, order + length, index_t(0));
  if (k * 8 <= length) {
    std::partial_sort(order, order + k, order + length, before);
  } else {
    if (k < length) std::nth_element(order, order + k, order + length, before);
    std::sort(order, order + k, before);
  }
}

template <>
struct top_k_kernels<cpu_t> {
  template <class T>
  static void top_k(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& values,
                    const strided_view<index_t, 2>& indices) {
    const index_t length = in.extent(1);
    const index_t k = values.extent(1);
    const cpu_team team = team_of(backend);
    const auto per_thread = static_cast<std::size_t>(length);
    const auto scratch_threads = static_cast<std::size_t>(std::min<index_t>(team.threads, in.extent(0)));
    std::vector<index_t> order_scratch(scratch_threads * per_thread);
    std::vector<T> value_scratch(scratch_threads * per_thread);
    parallel_for(team, in.extent(0), [&](index_t row, int thread) {
      index_t* order = order_scratch.data() + static_cast<std::size_t>(thread) * per_thread;
      T* x = value_scratch.data() + static_cast<std::size_t>(thread) * per_thread;
      const auto source = in[row];
      if (source.stride(0) == 1) {
        std::copy(source.data(), source.data() + length, x);
      } else {
        for (index_t t = 0; t < length; ++t) x[t] = source(t);
      }
      bool has_nan = false;
      for (index_t t = 0; t < length; ++t) has_nan |= x[t] != x[t];
      if (has_nan) {
        select_first(order, length, k, descending_order<true, T>{x});
      } else {
        select_first(order, length, k, descending_order<false, T>{x});
      }
      for (index_t j = 0; j < k; ++j) {
        indices(row, j) = order[j];
        values(row, j) = x[order[j]];
      }
    });
  }
};

}  // namespace rescan::detail
