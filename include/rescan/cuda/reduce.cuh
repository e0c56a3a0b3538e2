// CUDA backend of reduce, argmax, logsumexp and softmax (reduce/dispatch.hpp contract). Every fold
// goes through cuda/device/device_row_reduce.cuh (order-preserving, one block per row or per chunk
// of a long row); they differ in what they fold and where the result goes:
//   reduce     in(row, t) under the user's operator                         -> out(row)
//   argmax     (in(row, t), t) under argmax_op (NaN largest, lower index)   -> out(row) = index
//   logsumexp  max under rescan::maximum -> m[row]; Σ exp(x - m) -> out(row) = m + log(sum), or m
//              itself when it is not finite (NaN, +inf, all -inf), as the CPU backend does
//   softmax    m[row], sums[row] as above, then out = exp(x - m) * (1 / sum) element-wise
// All asynchronous on backend.stream; scratch is stream-ordered (cudaMallocAsync).
#pragma once

#include <limits>
#include <type_traits>

#include "rescan/core/error.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/cpu/reduce.hpp"  // detail::has_identity and the CPU's message for an empty row
#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/detail/elements.cuh"
#include "rescan/cuda/device/device_row_reduce.cuh"
#include "rescan/reduce/dispatch.hpp"

namespace rescan::cuda_detail {

// ---- sources: (row, t) -> the value folded ----
template <class T>
struct element_source {
  strided_view<const T, 2> in;
  __device__ T operator()(index_t row, index_t t) const { return in(row, t); }
};

template <class T>
struct indexed_source {
  strided_view<const T, 2> in;
  __device__ indexed<T> operator()(index_t row, index_t t) const { return indexed<T>{in(row, t), t}; }
};

template <class T>
struct shifted_exp_source {
  strided_view<const T, 2> in;
  const T* maxima;
  __device__ T operator()(index_t row, index_t t) const { return exp_of(in(row, t) - maxima[row]); }
};

// ---- sinks: (row, fold) -> wherever the result goes ----
template <class T>
struct view_sink {
  strided_view<T, 1> out;
  __device__ void operator()(index_t row, const T& value) const { out(row) = value; }
};

template <class T>
struct buffer_sink {
  T* data;
  __device__ void operator()(index_t row, const T& value) const { data[row] = value; }
};

template <class T>
struct index_sink {
  strided_view<index_t, 1> out;
  __device__ void operator()(index_t row, const indexed<T>& value) const { out(row) = value.index; }
};

template <class T>
struct logsumexp_sink {
  strided_view<T, 1> out;
  const T* maxima;
  __device__ void operator()(index_t row, const T& sum) const {
    const T m = maxima[row];
    out(row) = is_finite(m) ? m + log_of(sum) : m;
  }
};

template <class T>
void fill_rows(const strided_view<T, 1>& out, const T& value, cudaStream_t stream, const char* function) {
  fill_rows_kernel<<<grid_for_elements(out.extent(0), tuning::elementwise_threads), tuning::elementwise_threads, 0,
                     stream>>>(out, value);
  check_launch(function, "fill_rows_kernel");
}

// maxima[row] = the row maximum under rescan::maximum (NaN propagates), for rows of length >= 1.
template <class T>
void row_maxima(const strided_view<const T, 2>& in, T* maxima, cudaStream_t stream, const char* function) {
  reduce_rows<T>(element_source<T>{in}, maximum{}, buffer_sink<T>{maxima}, in.extent(0), in.extent(1), stream,
                 function);
}

}  // namespace rescan::cuda_detail

namespace rescan::detail {

template <>
struct reduce_kernels<cuda_t> {
  template <class T, class Op>
  static void reduce(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 1>& out,
                     const Op& op) {
    constexpr const char* function = "reduce";
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "out", out);
    if (in.extent(1) == 0) {
      if constexpr (has_identity<Op, T>::value) {
        cuda_detail::fill_rows(out, Op::template identity<T>(), stream, function);
        return;
      } else {
        raise<value_error>("reduce: in.extent(1) = 0 but the operator has no identity() to return for an empty row");
      }
    }
    cuda_detail::reduce_rows<T>(cuda_detail::element_source<T>{in}, op, cuda_detail::view_sink<T>{out}, in.extent(0),
                                in.extent(1), stream, function);
  }

  template <class T>
  static void argmax(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<index_t, 1>& out) {
    constexpr const char* function = "argmax";
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "out", out);
    cuda_detail::reduce_rows<cuda_detail::indexed<T>>(cuda_detail::indexed_source<T>{in}, cuda_detail::argmax_op{},
                                                      cuda_detail::index_sink<T>{out}, in.extent(0), in.extent(1),
                                                      stream, function);
  }

  template <class T>
  static void logsumexp(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 1>& out) {
    constexpr const char* function = "logsumexp";
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "out", out);
    const index_t rows = in.extent(0), length = in.extent(1);
    if (length == 0) {
      cuda_detail::fill_rows(out, -std::numeric_limits<T>::infinity(), stream, function);
      return;
    }
    cuda_detail::device_scratch maxima_storage(static_cast<std::size_t>(rows) * sizeof(T), stream, function);
    T* maxima = static_cast<T*>(maxima_storage.data());
    cuda_detail::row_maxima(in, maxima, stream, function);
    cuda_detail::reduce_rows<T>(cuda_detail::shifted_exp_source<T>{in, maxima}, plus{},
                                cuda_detail::logsumexp_sink<T>{out, maxima}, rows, length, stream, function);
  }

  template <class T>
  static void softmax(const cuda_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& out) {
    constexpr const char* function = "softmax";
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "out", out);
    const index_t rows = in.extent(0), length = in.extent(1);
    cuda_detail::device_scratch storage(2 * static_cast<std::size_t>(rows) * sizeof(T), stream, function);
    T* maxima = static_cast<T*>(storage.data());
    T* sums = maxima + rows;
    cuda_detail::row_maxima(in, maxima, stream, function);
    cuda_detail::reduce_rows<T>(cuda_detail::shifted_exp_source<T>{in, maxima}, plus{},
                                cuda_detail::buffer_sink<T>{sums}, rows, length, stream, function);
    cuda_detail::softmax_write_kernel<<<cuda_detail::grid_for_elements(rows * length, cuda_detail::tuning::elementwise_threads),
                                        cuda_detail::tuning::elementwise_threads, 0, stream>>>(in, out, maxima, sums);
    cuda_detail::check_launch(function, "softmax_write_kernel");
  }
};

}  // namespace rescan::detail
