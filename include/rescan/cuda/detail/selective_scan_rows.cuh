// Reading one (batch, channel) row of the selective scan's inputs from a kernel: the row's start
// and stride along L made once per row (so the inner loops index with one multiply-add instead of
// the channel's group, a 64-bit division, and a 3-d or 4-d index), and runs of consecutive
// positions loaded and stored 16 bytes at a time where the row is contiguous.
#pragma once

#include <cstdint>
#include <cstring>

#include "rescan/core/config.hpp"
#include "rescan/cuda/detail/selective_scan_problem.cuh"

namespace rescan::cuda_detail {

// Items consecutive positions of a row, data[s * stride] for s = first .. first + Items - 1, the
// first `count` of them real and the rest `fill`. Contiguous, 16-byte aligned full runs are read
// 16 bytes at a time; stride 0 (a constant along the row) reads one element.
template <int Items, class T>
__device__ void ss_load_items(const T* data, index_t stride, index_t first, int count, T fill, T (&out)[Items]) {
  constexpr int per_vector = 16 / int(sizeof(T));
  const T* at = data + first * stride;
  if constexpr (Items % per_vector == 0) {
    if (stride == 1 && count == Items && reinterpret_cast<std::uintptr_t>(at) % 16 == 0) {
#pragma unroll
      for (int v = 0; v < Items / per_vector; ++v) {
        const uint4 word = reinterpret_cast<const uint4*>(at)[v];
        std::memcpy(&out[v * per_vector], &word, sizeof(word));
      }
      return;
    }
  }
  if (stride == 0) {
    const T value = count > 0 ? at[0] : fill;
#pragma unroll
    for (int j = 0; j < Items; ++j) out[j] = j < count ? value : fill;
    return;
  }
#pragma unroll
  for (int j = 0; j < Items; ++j) out[j] = j < count ? at[j * stride] : fill;
}

// The first `count` of Items values to data[s * stride], s = first .. first + Items - 1.
template <int Items, class T>
__device__ void ss_store_items(T* data, index_t stride, index_t first, int count, const T (&values)[Items]) {
  constexpr int per_vector = 16 / int(sizeof(T));
  T* at = data + first * stride;
  if constexpr (Items % per_vector == 0) {
    if (stride == 1 && count == Items && reinterpret_cast<std::uintptr_t>(at) % 16 == 0) {
#pragma unroll
      for (int v = 0; v < Items / per_vector; ++v) {
        uint4 word;
        std::memcpy(&word, &values[v * per_vector], sizeof(word));
        reinterpret_cast<uint4*>(at)[v] = word;
      }
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < Items; ++j) {
    if (j < count) at[j * stride] = values[j];
  }
}

// One (batch, channel) row of a 3-d (batch, dim, L) view: element s at data[s * stride].
template <class T>
struct ss_row_sequence {
  T* data;
  index_t stride;
};

template <class T>
__device__ ss_row_sequence<T> ss_sequence_of(const strided_view<T, 3>& view, index_t b, index_t d) {
  return {view.data() + b * view.stride(0) + d * view.stride(1), view.stride(2)};
}

// B or C along one row: element (n, s) at data[n * n_stride + s * s_stride], s_stride 0 for a
// constant (dim, N) matrix. Made once per row, so that the inner loops index with one multiply-add
// instead of the channel's group (a 64-bit division) and a 4-d index.
template <class T>
struct ss_row_matrix {
  const T* data;
  index_t n_stride, s_stride;

  __device__ T operator()(index_t n, index_t s) const { return data[n * n_stride + s * s_stride]; }
  // Items positions from `first` of state n (see ss_load_items).
  template <int Items>
  __device__ void load(index_t n, index_t first, int count, T (&out)[Items]) const {
    ss_load_items<Items>(data + n * n_stride, s_stride, first, count, T(0), out);
  }
};

template <class T>
__device__ ss_row_matrix<T> ss_row_of(const ss_input_matrix<T>& m, index_t b, index_t d) {
  if (m.is_variable) {
    const index_t group = d / m.channels_per_group;
    const auto& v = m.variable;
    return {v.data() + b * v.stride(0) + group * v.stride(1), v.stride(2), v.stride(3)};
  }
  return {m.constant.data() + d * m.constant.stride(0), m.constant.stride(1), index_t(0)};
}

// B and C as a block running rows first_row .. first_row + count - 1 (those below batch * dim)
// stages them: a matrix is staged when it varies along L and every row of the block reads the same
// rows of it (one batch item and group: every channel of Mamba's B and C), once for all of them; C
// only with an output. B and C are the first row's, which the staged copies read.
template <class T>
struct ss_block_inputs {
  bool stage_B, stage_C;
  ss_row_matrix<T> B, C;
};

template <class T>
__device__ ss_block_inputs<T> ss_block_inputs_of(const ss_params<T>& p, index_t first_row, index_t count,
                                                 bool write_out) {
  const index_t rows = p.batch * p.dim;
  const index_t last_row = (first_row + count < rows ? first_row + count : rows) - 1;
  const index_t first_b = first_row / p.dim, first_d = first_row % p.dim;
  const index_t last_b = last_row / p.dim, last_d = last_row % p.dim;
  const auto shared_by_block = [&](const ss_input_matrix<T>& m) {
    return m.is_variable && first_b == last_b && m.group_of(first_d) == m.group_of(last_d);
  };
  return {shared_by_block(p.B), write_out && shared_by_block(p.C), ss_row_of(p.B, first_b, first_d),
          ss_row_of(p.C, first_b, first_d)};
}

}  // namespace rescan::cuda_detail
