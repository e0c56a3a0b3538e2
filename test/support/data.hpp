// Test data and comparisons: reproducible random inputs, the physical layouts a logical (rows, L)
// matrix is stored in (to exercise strides), and element-wise closeness with atol + rtol*|ref|.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <rescan/rescan.hpp>

namespace rescan::testing {

inline std::mt19937_64& random_engine() {
  static std::mt19937_64 engine(20261126);
  return engine;
}

// Integers in [low, high] as T: sums of them are exact in float up to 2^24.
template <class T>
std::vector<T> random_integers(std::size_t count, int low, int high) {
  std::uniform_int_distribution<int> pick(low, high);
  std::vector<T> values(count);
  for (auto& value : values) value = static_cast<T>(pick(random_engine()));
  return values;
}

// Uniform in [low, high) as T, drawn from `engine` (the shared random_engine() by default).
template <class T>
std::vector<T> random_uniform(std::size_t count, double low, double high, std::mt19937_64& engine) {
  std::uniform_real_distribution<double> pick(low, high);
  std::vector<T> values(count);
  for (auto& value : values) value = static_cast<T>(pick(engine));
  return values;
}
template <class T>
std::vector<T> random_uniform(std::size_t count, double low, double high) {
  return random_uniform<T>(count, low, high, random_engine());
}

// While alive, draws from random_engine() as usual; at its end, the engine is back where it was,
// so a round added to a test does not change the data of the tests after it.
class random_draws_taken_back {
 public:
  random_draws_taken_back() : saved_(random_engine()) {}
  ~random_draws_taken_back() { random_engine() = saved_; }
  random_draws_taken_back(const random_draws_taken_back&) = delete;
  random_draws_taken_back& operator=(const random_draws_taken_back&) = delete;

 private:
  std::mt19937_64 saved_;
};

// Random 2x2 orthogonal matrices, half rotations and half reflections: their products stay
// bounded (no overflow over 2^20 factors) and do not commute (rotations alone would: R(a)R(b) =
// R(a+b)), so an order bug cannot hide.
inline std::vector<mat2<double>> random_orthogonal(std::size_t count) {
  std::vector<mat2<double>> matrices(count);
  const auto angles = random_uniform<double>(count, -3.14159, 3.14159);
  const auto kinds = random_integers<int>(count, 0, 1);
  for (std::size_t i = 0; i < count; ++i) {
    const double c = std::cos(angles[i]), s = std::sin(angles[i]);
    matrices[i] = kinds[i] == 0 ? mat2<double>{c, -s, s, c} : mat2<double>{c, s, s, -c};
  }
  return matrices;
}

// How a logical (rows, L) matrix sits in memory.
enum class layout {
  row_major,       // contiguous rows
  column_major,    // element (r, t) at t * rows + r
  padded_reversed  // rows padded to L + 3, each row stored backwards (negative last-axis stride)
};

inline const char* layout_name(layout kind) {
  switch (kind) {
    case layout::row_major: return "row-major";
    case layout::column_major: return "column-major";
    default: return "padded-reversed";
  }
}

// Storage size and the (rows, L) view of a buffer holding a matrix in `kind` layout.
inline std::size_t storage_size(layout kind, index_t rows, index_t length) {
  return static_cast<std::size_t>(kind == layout::padded_reversed ? rows * (length + 3) : rows * length);
}

template <class T>
strided_view<T, 2> layout_view(T* data, layout kind, index_t rows, index_t length) {
  switch (kind) {
    case layout::row_major: return make_strided_view(data, {rows, length}, {length, 1});
    case layout::column_major: return make_strided_view(data, {rows, length}, {1, rows});
    default: return make_strided_view(data, {rows, length}, {length + 3, 1}).reversed(1);
  }
}

// Logical row-major values -> physical storage in `kind` layout, and back.
template <class T>
std::vector<T> to_storage(const std::vector<T>& logical, layout kind, index_t rows, index_t length) {
  std::vector<T> storage(storage_size(kind, rows, length), logical.empty() ? T{} : logical[0]);
  const auto view = layout_view(storage.data(), kind, rows, length);
  for (index_t r = 0; r < rows; ++r)
    for (index_t t = 0; t < length; ++t) view(r, t) = logical[r * length + t];
  return storage;
}

template <class T>
std::vector<T> from_storage(std::vector<T> storage, layout kind, index_t rows, index_t length) {
  std::vector<T> logical(static_cast<std::size_t>(rows * length));
  const auto view = layout_view(storage.data(), kind, rows, length);
  for (index_t r = 0; r < rows; ++r)
    for (index_t t = 0; t < length; ++t) logical[r * length + t] = view(r, t);
  return logical;
}

// |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN, infinities equal to themselves.
struct tolerance {
  double atol = 0;
  double rtol = 0;

  bool close(double actual, double expected) const {
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    return std::fabs(actual - expected) <= atol + rtol * std::fabs(expected);
  }
  template <class T>
  bool close(const affine_pair<T>& actual, const affine_pair<T>& expected) const {
    return close(actual.a, expected.a) && close(actual.b, expected.b);
  }
  template <class T>
  bool close(const mat2<T>& actual, const mat2<T>& expected) const {
    return close(actual.m00, expected.m00) && close(actual.m01, expected.m01) && close(actual.m10, expected.m10) &&
           close(actual.m11, expected.m11);
  }
};

inline std::string describe(double value) { return std::to_string(value); }
template <class T>
std::string describe(const affine_pair<T>& p) {
  return "(" + std::to_string(p.a) + ", " + std::to_string(p.b) + ")";
}
template <class T>
std::string describe(const mat2<T>& m) {
  return "[" + std::to_string(m.m00) + " " + std::to_string(m.m01) + "; " + std::to_string(m.m10) + " " +
         std::to_string(m.m11) + "]";
}

// Checks every element; reports the first mismatch (index, values) and how many there were.
template <class T>
void check_all_close(const std::vector<T>& actual, const std::vector<T>& expected, tolerance tol) {
  REQUIRE(actual.size() == expected.size());
  std::size_t mismatches = 0, first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!tol.close(actual[i], expected[i])) {
      if (mismatches++ == 0) first = i;
    }
  }
  if (mismatches > 0) {
    FAIL_CHECK(mismatches << " of " << actual.size() << " elements differ; first at " << first << ": got "
                          << describe(actual[first]) << ", expected " << describe(expected[first]));
  }
}

// The exception's message contains `fragment`.
#define RESCAN_CHECK_THROWS_WITH_FRAGMENT(expression, error_type, fragment)                    \
  do {                                                                                         \
    bool rescan_thrown = false;                                                                \
    try {                                                                                      \
      expression;                                                                              \
    } catch (const error_type& rescan_error) {                                                 \
      rescan_thrown = true;                                                                    \
      CHECK_MESSAGE(std::string(rescan_error.what()).find(fragment) != std::string::npos,      \
                    "message: " << rescan_error.what());                                       \
    }                                                                                          \
    CHECK_MESSAGE(rescan_thrown, #expression " did not throw " #error_type);                   \
  } while (false)

}  // namespace rescan::testing
