// Core types: strided views (layouts, negative strides, slicing), the Eigen bridges, backend tags,
// errors and version macros.
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <string>
#include <type_traits>
#include <vector>

#include <rescan/rescan.hpp>

namespace rescan::testing {

TEST_CASE("a contiguous view addresses row-major memory") {
  std::vector<int> data(24);
  for (int i = 0; i < 24; ++i) data[i] = i;
  const auto view = make_view(data.data(), {2, 3, 4});
  CHECK(view.extent(0) == 2);
  CHECK(view.extent(2) == 4);
  CHECK(view.stride(0) == 12);
  CHECK(view.stride(1) == 4);
  CHECK(view.stride(2) == 1);
  CHECK(view.size() == 24);
  CHECK(view.is_contiguous());
  CHECK(view(1, 2, 3) == 23);
  CHECK(view[1](0, 1) == 13);
  CHECK(view[1][2](3) == 23);
}

TEST_CASE("reversed and sliced views address the same memory without copies") {
  std::vector<float> data = {0, 1, 2, 3, 4, 5, 6, 7};
  const auto matrix = make_view(data.data(), {2, 4});
  const auto backwards = matrix.reversed(1);
  CHECK(backwards.stride(1) == -1);
  CHECK(backwards(0, 0) == 3);
  CHECK(backwards(1, 3) == 4);
  CHECK_FALSE(backwards.is_contiguous());
  const auto middle = matrix.slice(1, 1, 2);
  CHECK(middle.extent(1) == 2);
  CHECK(middle(1, 0) == 5);
  CHECK_FALSE(middle.is_contiguous());
  const auto transposed = make_strided_view(data.data(), {4, 2}, {1, 4});
  CHECK(transposed(3, 1) == 7);
  backwards(0, 0) = 42;
  CHECK(data[3] == 42);
  const strided_view<const float, 2> read_only = matrix;  // T -> const T converts
  CHECK(read_only(0, 3) == 42);
  static_assert(!std::is_convertible_v<strided_view<const float, 2>, strided_view<float, 2>>,
                "a const view must not convert back to a mutable one");
  const auto empty = strided_view<float, 2>();
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
}

TEST_CASE("as_row broadcasts a vector as a (1, n) matrix") {
  std::vector<double> data = {1, 2, 3};
  const auto row = as_row(make_view(data.data(), index_t(3)));
  CHECK(row.extent(0) == 1);
  CHECK(row.extent(1) == 3);
  CHECK(row(0, 2) == 3);
}

TEST_CASE("Eigen objects become views of the same memory, whatever their storage order") {
  Eigen::MatrixXf column_major(3, 4);
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) column_major(i, j) = row_major(i, j) = float(10 * i + j);
  const auto a = as_view(column_major);
  const auto b = as_view(row_major);
  static_assert(std::is_same_v<decltype(a), const strided_view<float, 2>>);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      CHECK(a(i, j) == column_major(i, j));
      CHECK(b(i, j) == row_major(i, j));
    }
  const auto block = as_view(column_major.block(1, 1, 2, 2));
  CHECK(block(1, 1) == column_major(2, 2));
  const Eigen::MatrixXf& constant = column_major;
  static_assert(std::is_same_v<decltype(as_view(constant)), strided_view<const float, 2>>);
  Eigen::VectorXd vector = Eigen::VectorXd::LinSpaced(5, 0, 4);
  const auto v = as_vector_view(vector);
  CHECK(v.extent(0) == 5);
  CHECK(v(4) == 4);
  const auto row = as_vector_view(column_major.row(2));  // stride = the matrix's outer stride
  CHECK(row.stride(0) == 3);
  CHECK(row(3) == column_major(2, 3));
  auto map = eigen_map(a);
  map(2, 3) = -1;
  CHECK(column_major(2, 3) == -1);
}

TEST_CASE("backend tags carry their state and the default backend is the CPU without nvcc") {
  constexpr cpu_t two_threads(2);
  static_assert(two_threads.threads == 2);
  static_assert(cpu.threads == 0);
  static_assert(std::is_same_v<default_backend_t, cpu_t>);
  static_assert(is_backend_v<cpu_t> && is_backend_v<cuda_t> && !is_backend_v<int>);
  CHECK(cuda.stream == nullptr);
}

TEST_CASE("errors derive from rescan::error and std::runtime_error") {
  static_assert(std::is_base_of_v<std::runtime_error, error>);
  static_assert(std::is_base_of_v<error, shape_error> && std::is_base_of_v<error, value_error> &&
                std::is_base_of_v<error, cuda_error>);
  CHECK_THROWS_AS(detail::raise<shape_error>("f: ", "x = ", 1), error);
  CHECK_THROWS_WITH(detail::raise<value_error>("f: k = ", 3), "f: k = 3");
}

TEST_CASE("version macros agree with RESCAN_VERSION") {
  CHECK(RESCAN_VERSION == RESCAN_VERSION_MAJOR * 10000 + RESCAN_VERSION_MINOR * 100 + RESCAN_VERSION_PATCH);
  CHECK(RESCAN_VERSION_MAJOR == 0);
  CHECK(RESCAN_VERSION_MINOR == 1);
  CHECK(std::string(RESCAN_VERSION_STRING) == std::to_string(RESCAN_VERSION_MAJOR) + "." +
                                                  std::to_string(RESCAN_VERSION_MINOR) + "." +
                                                  std::to_string(RESCAN_VERSION_PATCH));
}

}  // namespace rescan::testing
