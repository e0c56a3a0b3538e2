// Non-owning strided views of rank 1 to 4 over user memory: a pointer, extents and strides
// (in elements; any sign, zero allowed for broadcasting). Row-major by default. No copies, no
// ownership: the caller keeps the memory alive.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <type_traits>

#include "rescan/core/config.hpp"

namespace rescan {

template <class T, int Rank>
class strided_view {
  static_assert(Rank >= 1 && Rank <= 4, "rescan::strided_view: rank must be 1, 2, 3 or 4");

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  static constexpr int rank = Rank;
  using index_array = std::array<index_t, Rank>;

  // An empty view: no data, every extent 0. Optional arguments use it to mean "not given".
  constexpr strided_view() = default;

  // Explicit extents and strides (in elements).
  RESCAN_HOST_DEVICE strided_view(T* data, const index_array& extents, const index_array& strides)
      : data_(data) {
    for (int axis = 0; axis < Rank; ++axis) {
      extents_[axis] = extents[axis];
      strides_[axis] = strides[axis];
    }
  }

  // Contiguous, row-major (the last axis has stride 1).
  RESCAN_HOST_DEVICE strided_view(T* data, const index_array& extents) : data_(data) {
    index_t stride = 1;
    for (int axis = Rank - 1; axis >= 0; --axis) {
      extents_[axis] = extents[axis];
      strides_[axis] = stride;
      stride *= extents[axis];
    }
  }

  // A view of T converts to a view of const T.
  template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]> &&
                                              !std::is_same_v<U, T>>>
  RESCAN_HOST_DEVICE strided_view(const strided_view<U, Rank>& other) : data_(other.data()) {
    for (int axis = 0; axis < Rank; ++axis) {
      extents_[axis] = other.extent(axis);
      strides_[axis] = other.stride(axis);
    }
  }

  RESCAN_HOST_DEVICE T* data() const { return data_; }
  RESCAN_HOST_DEVICE index_t extent(int axis) const { return extents_[axis]; }
  RESCAN_HOST_DEVICE index_t stride(int axis) const { return strides_[axis]; }
  index_array extents() const { return to_array(extents_); }
  index_array strides() const { return to_array(strides_); }

  // Number of elements (the product of the extents).
  RESCAN_HOST_DEVICE index_t size() const {
    index_t count = 1;
    for (int axis = 0; axis < Rank; ++axis) count *= extents_[axis];
    return count;
  }
  RESCAN_HOST_DEVICE bool empty() const { return size() == 0; }

  // True when the elements are packed row-major with no gaps (the memcpy-able layout).
  RESCAN_HOST_DEVICE bool is_contiguous() const {
    index_t expected = 1;
    for (int axis = Rank - 1; axis >= 0; --axis) {
      if (extents_[axis] != 1 && strides_[axis] != expected) return false;
      expected *= extents_[axis];
    }
    return true;
  }

  // Element access; checks bounds on the host in debug builds (see RESCAN_BOUNDS_CHECK).
  template <class... Indices>
  RESCAN_HOST_DEVICE T& operator()(Indices... indices) const {
    static_assert(sizeof...(Indices) == Rank, "rescan::strided_view: one index per axis");
    const index_t index[Rank] = {static_cast<index_t>(indices)...};
    index_t offset = 0;
    for (int axis = 0; axis < Rank; ++axis) {
#if RESCAN_BOUNDS_CHECK && !defined(__CUDA_ARCH__)
      assert(index[axis] >= 0 && index[axis] < extents_[axis] && "rescan::strided_view: index out of bounds");
#endif
      offset += index[axis] * strides_[axis];
    }
    return data_[offset];
  }

  // The sub-view at index i of axis 0: (e0, e1, ...) -> (e1, ...).
  template <int R = Rank, class = std::enable_if_t<(R > 1)>>
  RESCAN_HOST_DEVICE strided_view<T, Rank - 1> operator[](index_t i) const {
#if RESCAN_BOUNDS_CHECK && !defined(__CUDA_ARCH__)
    assert(i >= 0 && i < extents_[0] && "rescan::strided_view: index out of bounds");
#endif
    std::array<index_t, Rank - 1> extents{}, strides{};
    for (int axis = 1; axis < Rank; ++axis) {
      extents[axis - 1] = extents_[axis];
      strides[axis - 1] = strides_[axis];
    }
    return strided_view<T, Rank - 1>(data_ + i * strides_[0], extents, strides);
  }

  // The same elements with one axis running backwards (no copy).
  RESCAN_HOST_DEVICE strided_view reversed(int axis) const {
    strided_view result = *this;
    if (extents_[axis] > 0) result.data_ = data_ + (extents_[axis] - 1) * strides_[axis];
    result.strides_[axis] = -strides_[axis];
    return result;
  }

  // Elements [begin, begin + count) of one axis (no copy).
  RESCAN_HOST_DEVICE strided_view slice(int axis, index_t begin, index_t count) const {
    strided_view result = *this;
    result.data_ = data_ + begin * strides_[axis];
    result.extents_[axis] = count;
    return result;
  }

 private:
  static index_array to_array(const index_t (&values)[Rank]) {
    index_array result{};
    for (int axis = 0; axis < Rank; ++axis) result[axis] = values[axis];
    return result;
  }

  T* data_ = nullptr;
  index_t extents_[Rank] = {};
  index_t strides_[Rank] = {};
};

// Convenience aliases for the ranks the algorithms take.
template <class T>
using view1 = strided_view<T, 1>;
template <class T>
using view2 = strided_view<T, 2>;
template <class T>
using view3 = strided_view<T, 3>;
template <class T>
using view4 = strided_view<T, 4>;

// make_view(p, {rows, cols}): a contiguous row-major view.
template <class T, std::size_t Rank>
strided_view<T, static_cast<int>(Rank)> make_view(T* data, const index_t (&extents)[Rank]) {
  std::array<index_t, Rank> e{};
  for (std::size_t axis = 0; axis < Rank; ++axis) e[axis] = extents[axis];
  return strided_view<T, static_cast<int>(Rank)>(data, e);
}

// make_view(p, n): a contiguous rank-1 view.
template <class T>
strided_view<T, 1> make_view(T* data, index_t size) {
  return strided_view<T, 1>(data, {size});
}

// make_strided_view(p, {rows, cols}, {row_stride, col_stride}): any layout, strides in elements.
template <class T, std::size_t Rank>
strided_view<T, static_cast<int>(Rank)> make_strided_view(T* data, const index_t (&extents)[Rank],
                                                          const index_t (&strides)[Rank]) {
  std::array<index_t, Rank> e{}, s{};
  for (std::size_t axis = 0; axis < Rank; ++axis) {
    e[axis] = extents[axis];
    s[axis] = strides[axis];
  }
  return strided_view<T, static_cast<int>(Rank)>(data, e, s);
}

// Views a rank-1 view as a (1, n) matrix, so one long row goes through the row-wise algorithms.
template <class T>
RESCAN_HOST_DEVICE strided_view<T, 2> as_row(const strided_view<T, 1>& vector) {
  return strided_view<T, 2>(vector.data(), {1, vector.extent(0)}, {0, vector.stride(0)});
}

}  // namespace rescan
