// Row-major Eigen maps over plain buffers, so every GEMM of the layers is one Eigen product
// (Eigen spreads large products over the OpenMP threads). No copies: the caller owns the memory.
#pragma once

#include <type_traits>

#include <Eigen/Core>

#include "common/nn/index.hpp"

namespace rescan_examples::detail {

template <class T>
using row_major_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// data: (rows, cols) row-major, contiguous. Scalar may be const (a read-only map).
template <class Scalar>
auto as_matrix(Scalar* data, index_t rows, index_t cols) {
  using matrix = row_major_matrix<std::remove_const_t<Scalar>>;
  return Eigen::Map<std::conditional_t<std::is_const_v<Scalar>, const matrix, matrix>>(data, rows, cols);
}

}  // namespace rescan_examples::detail
