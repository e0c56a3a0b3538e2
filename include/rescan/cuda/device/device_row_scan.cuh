// Device-wide level of the scans: the entry points the backend calls for a scan_problem, choosing
// between
//   - the block path: row_scan_kernel, one block per row (many rows), and
//   - the device path: cub::DeviceScan per row (few long rows), whose decoupled look-back spreads one
//     row over the whole GPU. Rows are read and written through iterators built from the same
//     scan_problem (a transform iterator over positions in, a tabulate output iterator out), so
//     strides, reversal, segments and the initial value need nothing special here:
//       inclusive: cub::DeviceScan::InclusiveScan, the row's prefix folded into element 0;
//       exclusive: cub::DeviceScan::ExclusiveScan, seeded by a cub::FutureValue that points at the
//                  row's prefix, materialized on the device first (it may be options.initial(row)).
//
// Caller-owned temporary storage, as in CUB: call with temp == nullptr to get temp_bytes, then
// again with that much device memory. run_row_scan() above it allocates (stream-ordered).
#pragma once

#include <cub/device/device_scan.cuh>
#include <cuda/std/functional>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/tabulate_output_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cstddef>

#include "rescan/core/config.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/cuda/detail/error.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/memory.cuh"
#include "rescan/cuda/detail/tuning.cuh"
#include "rescan/cuda/kernels/scan_kernel.cuh"

namespace rescan::cuda_detail {

// Position s of one row -> the scan element; the row's prefix folded into position 0 when asked.
template <class Problem>
struct row_element_loader {
  Problem problem;
  index_t row;
  bool fold_prefix;

  RESCAN_HOST_DEVICE typename Problem::element_type operator()(index_t s) const {
    typename Problem::element_type x = problem.load(row, s);
    if (fold_prefix && s == 0) x = problem.element_op()(problem.prefix_element(row), x);
    return x;
  }
};

// (position s, scan result) -> the row's output.
template <class Problem>
struct row_result_storer {
  Problem problem;
  index_t row;

  template <class Element>
  RESCAN_HOST_DEVICE void operator()(index_t s, const Element& result) const {
    problem.store(row, s, static_cast<typename Problem::element_type>(result));
  }
};

template <class Problem>
using row_input_iterator =
    thrust::transform_iterator<row_element_loader<Problem>, thrust::counting_iterator<index_t>,
                               typename Problem::element_type, typename Problem::element_type>;
template <class Problem>
using row_output_iterator = thrust::tabulate_output_iterator<row_result_storer<Problem>>;

template <class Problem>
row_input_iterator<Problem> row_input(const Problem& problem, index_t row) {
  return row_input_iterator<Problem>(thrust::counting_iterator<index_t>(0),
                                     row_element_loader<Problem>{problem, row, !Problem::exclusive && problem.has_prefix()});
}

template <class Problem>
row_output_iterator<Problem> row_output(const Problem& problem, index_t row) {
  return row_output_iterator<Problem>(row_result_storer<Problem>{problem, row});
}

// The operator handed to cub::DeviceScan. CUB picks its tuned policies (threads, items a thread,
// look-back delays) by operator type and only knows its own: with rescan::plus it falls back to
// its generic policy, so a sum of Element goes to CUB as ::cuda::std::plus<Element>, which adds
// the same two values in the same order (earlier + later) and in the same type (not promoted, as
// the transparent plus<> would promote narrow integers to int). Every other operator goes as it is.
template <class Element, class Op>
struct cub_scan_operator {
  static Op of(const Op& op) { return op; }
};
template <class Element>
struct cub_scan_operator<Element, rescan::plus> {
  static ::cuda::std::plus<Element> of(const rescan::plus&) { return {}; }
};
template <class Problem>
auto cub_operator_of(const Problem& problem) {
  return cub_scan_operator<typename Problem::element_type, typename Problem::element_op_type>::of(problem.element_op());
}

// cub::DeviceScan on one row (temp == nullptr: size query only).
template <class Problem>
cudaError_t device_scan_one_row(void* temp, std::size_t& temp_bytes, const Problem& problem,
                                const typename Problem::element_type* prefix, index_t row, index_t length,
                                cudaStream_t stream) {
  if constexpr (Problem::exclusive) {
    return cub::DeviceScan::ExclusiveScan(temp, temp_bytes, row_input(problem, row), row_output(problem, row),
                                          cub_operator_of(problem),
                                          cub::FutureValue<typename Problem::element_type>(
                                              const_cast<typename Problem::element_type*>(prefix)),
                                          length, stream);
  } else {
    (void)prefix;
    return cub::DeviceScan::InclusiveScan(temp, temp_bytes, row_input(problem, row), row_output(problem, row),
                                          cub_operator_of(problem), length, stream);
  }
}

// The device path: one cub::DeviceScan per row. Scratch layout: [row prefixes (exclusive only)][cub's].
template <class Problem>
void device_row_scan(void* temp, std::size_t& temp_bytes, const Problem& problem, index_t rows, index_t length,
                     cudaStream_t stream, const char* function) {
  using element_type = typename Problem::element_type;
  const std::size_t prefix_bytes =
      Problem::exclusive ? align_up(static_cast<std::size_t>(rows) * sizeof(element_type)) : 0;
  std::size_t cub_bytes = 0;
  check_status(device_scan_one_row(nullptr, cub_bytes, problem, nullptr, 0, length, stream), function,
               "cub::DeviceScan (temporary storage size)");
  if (temp == nullptr) {
    temp_bytes = prefix_bytes + cub_bytes;
    return;
  }
  auto* prefixes = static_cast<element_type*>(temp);
  void* cub_temp = static_cast<char*>(temp) + prefix_bytes;
  if constexpr (Problem::exclusive) {
    row_prefix_kernel<<<grid_for_elements(rows, tuning::elementwise_threads), tuning::elementwise_threads, 0,
                        stream>>>(problem, prefixes, rows);
    check_launch(function, "row_prefix_kernel");
  }
  for (index_t row = 0; row < rows; ++row) {
    check_status(device_scan_one_row(cub_temp, cub_bytes, problem, prefixes + row, row, length, stream), function,
                 Problem::exclusive ? "cub::DeviceScan::ExclusiveScan" : "cub::DeviceScan::InclusiveScan");
  }
}

// The block path: row_scan_kernel, one block per row.
template <class Problem>
void block_row_scan_launch(const Problem& problem, index_t rows, index_t length, cudaStream_t stream,
                           const char* function) {
  constexpr int threads = tuning::scan_threads;
  constexpr int items = tuning::scan_items<typename Problem::element_type>;
  row_scan_kernel<Problem, threads, items><<<grid_for_items(rows), threads, 0, stream>>>(problem, rows, length);
  check_launch(function, "row_scan_kernel");
}

// Whether a call of this shape takes the device path.
inline bool use_device_scan(index_t rows, index_t length) {
  return rows <= tuning::device_scan_max_rows && length >= tuning::device_scan_length_per_row * rows;
}

// Convenience level: picks the path and allocates the device path's temporary storage itself.
template <class Problem>
void run_row_scan(const Problem& problem, index_t rows, index_t length, cudaStream_t stream, const char* function) {
  if (!use_device_scan(rows, length)) {
    block_row_scan_launch(problem, rows, length, stream, function);
    return;
  }
  std::size_t bytes = 0;
  device_row_scan(nullptr, bytes, problem, rows, length, stream, function);
  device_scratch scratch(bytes, stream, function);
  device_row_scan(scratch.data(), bytes, problem, rows, length, stream, function);
}

}  // namespace rescan::cuda_detail
