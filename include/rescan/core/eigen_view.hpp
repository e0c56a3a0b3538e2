// Bridges between Eigen objects and rescan views. Any dense Eigen expression with direct access
// (Matrix, Array, Map, Ref, Block) becomes a view of the same memory; a view becomes an Eigen::Map.
#pragma once

#include <Eigen/Core>
#include <type_traits>

#include "rescan/core/view.hpp"

namespace rescan {
namespace detail {

template <class Scalar, class Object>
strided_view<Scalar, 2> eigen_matrix_view(Scalar* data, const Object& object) {
  const index_t inner = object.innerStride();
  const index_t outer = object.outerStride();
  if (Object::IsRowMajor) return strided_view<Scalar, 2>(data, {object.rows(), object.cols()}, {outer, inner});
  return strided_view<Scalar, 2>(data, {object.rows(), object.cols()}, {inner, outer});
}

template <class Object>
using eigen_scalar_t = std::conditional_t<
    std::is_const_v<std::remove_reference_t<Object>> ||
        !bool(std::remove_reference_t<Object>::Flags & Eigen::LvalueBit),
    const typename std::decay_t<Object>::Scalar, typename std::decay_t<Object>::Scalar>;

}  // namespace detail

// (rows, cols) view over any Eigen object with direct access. Const objects give const views.
template <class Object>
auto as_view(Object&& object) -> strided_view<detail::eigen_scalar_t<Object>, 2> {
  using scalar = detail::eigen_scalar_t<Object>;
  return detail::eigen_matrix_view<scalar>(const_cast<scalar*>(object.data()), object);
}

// (n) view over an Eigen vector (row or column) with direct access.
template <class Object>
auto as_vector_view(Object&& object) -> strided_view<detail::eigen_scalar_t<Object>, 1> {
  using scalar = detail::eigen_scalar_t<Object>;
  static_assert(std::decay_t<Object>::IsVectorAtCompileTime,
                "rescan::as_vector_view: needs an Eigen vector; use as_view for matrices");
  return strided_view<scalar, 1>(const_cast<scalar*>(object.data()), {object.size()}, {object.innerStride()});
}

// Eigen::Map over a rank-2 view with non-negative strides (read or write in place with Eigen).
template <class T>
auto eigen_map(const strided_view<T, 2>& view) {
  using matrix = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using map = Eigen::Map<std::conditional_t<std::is_const_v<T>, const matrix, matrix>, Eigen::Unaligned,
                         Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  return map(view.data(), view.extent(0), view.extent(1),
             Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(view.stride(0), view.stride(1)));
}

}  // namespace rescan
