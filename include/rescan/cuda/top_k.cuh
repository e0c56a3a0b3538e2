// CUDA backend of top_k (reduce/dispatch.hpp contract): see cuda/device/device_row_top_k.cuh for
// the two paths (block radix sort of short rows, segmented stable sort of long ones). Asynchronous
// on backend.stream.
#pragma once

#include <type_traits>

#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/device/device_row_top_k.cuh"
#include "rescan/reduce/dispatch.hpp"

namespace rescan::detail {

template <>
struct top_k_kernels<cuda_t> {
  template <class T>
  static void top_k(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& values,
                    const strided_view<index_t, 2>& indices) {
    static_assert(std::is_arithmetic_v<T>, "rescan::cuda top_k: needs an arithmetic element type");
    constexpr const char* function = "top_k";
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "values", values);
    cuda_detail::check_device_view(function, "indices", indices);
    cuda_detail::run_top_k(in, values, indices, cuda_detail::stream_of(backend), function);
  }
};

}  // namespace rescan::detail
