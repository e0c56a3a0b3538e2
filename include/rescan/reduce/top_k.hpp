// The k largest elements of each row with their indices, sorted descending. Ties keep the lower
// index first (a stable descending sort would give the same), and NaN counts as the largest value.
#pragma once

#include "rescan/core/checks.hpp"
#include "rescan/reduce/dispatch.hpp"

namespace rescan {

// in: (rows, L); values, indices: (rows, k) with 0 <= k <= L.
template <class Backend, class In, class T>
void top_k(const Backend& backend, const strided_view<In, 2>& in, const strided_view<T, 2>& values,
           const strided_view<index_t, 2>& indices) {
  static_assert(std::is_same_v<std::remove_const_t<In>, T>, "rescan::top_k: in and values element types differ");
  detail::check_extents("top_k", "in", in);
  detail::check_same_extent("top_k", "values", values, 0, "in", in, 0);
  detail::check_same_shape("top_k", "indices", indices, "values", values);
  detail::check_range("top_k", "k", values.extent(1), 0, in.extent(1), "in.extent(1)");
  if (values.empty()) return;
  detail::top_k_kernels<Backend>::top_k(backend, strided_view<const T, 2>(in), values, indices);
}

}  // namespace rescan
