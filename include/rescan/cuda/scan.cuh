// CUDA backend of inclusive_scan, exclusive_scan and linear_recurrence (scan/dispatch.hpp contract).
//
// Each call: checks that every view is device (or managed) memory; validates segment offsets on the
// host (a small copy, the only synchronization); builds one scan_problem (cuda/detail/
// scan_problem.cuh) from views already in scan order; then cuda/device/device_row_scan.cuh picks
//   - many rows (or short ones): row_scan_kernel, one block per row, cub::BlockScan with a carry
//     from tile to tile (cuda/block/block_row_scan.cuh);
//   - few long rows (tuning::device_scan_max_rows, tuning::device_scan_length_per_row):
//     cub::DeviceScan per row.
// Segments become flagged elements under the lifted operator on both paths. Asynchronous on
// backend.stream otherwise.
#pragma once

#include <cstdint>
#include <type_traits>

#include "rescan/core/operators.hpp"
#include "rescan/cpu/scan.hpp"  // detail::check_segment_offsets: the same validation and messages as the CPU
#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/detail/scan_problem.cuh"
#include "rescan/cuda/device/device_row_scan.cuh"
#include "rescan/scan/dispatch.hpp"

namespace rescan::cuda_detail {

template <class View>
View in_scan_order(const View& view, scan_direction direction) {
  return direction == scan_direction::reverse ? view.reversed(1) : view;
}

// Checks the optional views of the options and describes the segments. Flags win over offsets (as
// on the CPU, where offsets are then neither used nor validated); offsets are copied to the host
// and validated with the CPU backend's check, so both backends throw the same value_error.
template <class T>
segment_starts make_segment_starts(const char* function, const scan_options<T>& options, index_t length,
                                   cudaStream_t stream) {
  check_device_view(function, "options.initial", options.initial);
  segment_starts starts;
  starts.length = length;
  starts.reverse = options.direction == scan_direction::reverse;
  if (options.segment_flags.data() != nullptr) {
    check_device_view(function, "options.segment_flags", options.segment_flags);
    starts.flags = options.segment_flags;
  } else if (options.segment_offsets.extent(0) > 0) {
    check_device_view(function, "options.segment_offsets", options.segment_offsets);
    const auto host = copy_to_host(options.segment_offsets, stream, function, "options.segment_offsets");
    detail::check_segment_offsets(function, make_view(host.data(), static_cast<index_t>(host.size())), length);
    starts.offsets = options.segment_offsets;
  }
  return starts;
}

// Instantiates the problem with or without segments and runs it.
template <bool Exclusive, class Elements, class Op>
void scan_rows(const Elements& elements, const Op& op, const segment_starts& starts,
               const typename Elements::value_type& init, index_t rows, index_t length, cudaStream_t stream,
               const char* function) {
  if (starts.any()) {
    const scan_problem<Elements, Op, true, Exclusive> problem{elements, op, starts, init};
    run_row_scan(problem, rows, length, stream, function);
  } else {
    const scan_problem<Elements, Op, false, Exclusive> problem{elements, op, starts, init};
    run_row_scan(problem, rows, length, stream, function);
  }
}

}  // namespace rescan::cuda_detail

namespace rescan::detail {

template <>
struct scan_kernels<cuda_t> {
  template <class T, class Op>
  static void inclusive(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& out,
                        const Op& op, const scan_options<T>& options) {
    scan<false>("inclusive_scan", backend, in, out, T{}, op, options);
  }

  template <class T, class Op>
  static void exclusive(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& out,
                        const T& init, const Op& op, const scan_options<T>& options) {
    scan<true>("exclusive_scan", backend, in, out, init, op, options);
  }

  template <class T>
  static void linear_recurrence(const cuda_t& backend, const strided_view<const T, 2>& a,
                                const strided_view<const T, 2>& b, const strided_view<T, 2>& h,
                                const scan_options<T>& options) {
    constexpr const char* function = "linear_recurrence";
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "a", a);
    cuda_detail::check_device_view(function, "b", b);
    cuda_detail::check_device_view(function, "h", h);
    const index_t rows = a.extent(0), length = a.extent(1);
    const auto starts = cuda_detail::make_segment_starts(function, options, length, stream);
    const cuda_detail::recurrence_elements<T> elements{cuda_detail::in_scan_order(a, options.direction),
                                                       cuda_detail::in_scan_order(b, options.direction),
                                                       cuda_detail::in_scan_order(h, options.direction),
                                                       options.initial};
    cuda_detail::scan_rows<false>(elements, affine_compose{}, starts, affine_pair<T>{T(1), T(0)}, rows, length,
                                  stream, function);
  }

 private:
  // Both scans: init is used only by the exclusive one.
  template <bool Exclusive, class T, class Op>
  static void scan(const char* function, const cuda_t& backend, const strided_view<const T, 2>& in,
                   const strided_view<T, 2>& out, const T& init, const Op& op, const scan_options<T>& options) {
    static_assert(std::is_trivially_copyable_v<T>, "rescan::cuda scans need a trivially copyable element type");
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "out", out);
    const index_t rows = in.extent(0), length = in.extent(1);
    const auto starts = cuda_detail::make_segment_starts(function, options, length, stream);
    const cuda_detail::scan_elements<T> elements{cuda_detail::in_scan_order(in, options.direction),
                                                 cuda_detail::in_scan_order(out, options.direction), options.initial,
                                                 init, Exclusive};
    cuda_detail::scan_rows<Exclusive>(elements, op, starts, init, rows, length, stream, function);
  }
};

}  // namespace rescan::detail
