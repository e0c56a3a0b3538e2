// Test bodies of the row reductions (reduce, sums/min/max, argmax, logsumexp, softmax, top_k),
// templated over a backend harness like the scan bodies.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "support/data.hpp"
#include "support/reference.hpp"

namespace rescan::testing {

// Row lengths for reductions: empty, tiny, odd, and past a block or tile of the backend.
// (Callers that need an element skip 0.)
template <class Harness>
std::vector<index_t> reduction_lengths() {
  return {0, 1, 2, 3, 17, 255, 256, 257, 1023, 4099};
}

template <class Harness, class T, class Op, class Call>
void check_fold(Op op, T empty_value, const Call& call) {
  auto lengths = reduction_lengths<Harness>();
  lengths.push_back((index_t(1) << 17) + 3);  // one row long enough to be split across threads
  for (index_t length : lengths) {
    for (index_t rows : {index_t(1), index_t(7)}) {
      if (rows > 1 && length > 4099) continue;
      for (layout storage : {layout::row_major, layout::column_major, layout::padded_reversed}) {
        INFO(Harness::name << ": rows " << rows << ", L " << length << ", " << layout_name(storage));
        const auto x = random_integers<T>(static_cast<std::size_t>(rows * length), -100, 100);
        auto in = Harness::upload(to_storage(x, storage, rows, length));
        auto out = Harness::template allocate<T>(static_cast<std::size_t>(rows));
        call(layout_view(in.data(), storage, rows, length), make_view(out.data(), rows));
        check_all_close(Harness::download(out), reference_reduce(x, rows, length, op, empty_value), tolerance{});
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("reduce_sum, reduce_min, reduce_max and a generic reduce match the loop", Harness,
                          reduce_folds) {
  const auto backend = Harness::backend();
  check_fold<Harness, float>(plus{}, 0.0f, [&](auto in, auto out) { reduce_sum(backend, in, out); });
  check_fold<Harness, double>(plus{}, 0.0, [&](auto in, auto out) { reduce_sum(backend, in, out); });
  const double inf = std::numeric_limits<double>::infinity();
  check_fold<Harness, float>(minimum{}, float(inf), [&](auto in, auto out) { reduce_min(backend, in, out); });
  check_fold<Harness, double>(maximum{}, -inf, [&](auto in, auto out) { reduce_max(backend, in, out); });
  // A non-commutative fold: products of orthogonal matrices, in order (one row split across threads too).
  auto lengths = reduction_lengths<Harness>();
  lengths.push_back((index_t(1) << 17) + 3);
  for (index_t length : lengths) {
    if (length == 0) continue;
    INFO(Harness::name << ": mat2 product, L " << length);
    const index_t rows = length > 4099 ? 1 : 3;
    const auto x = random_orthogonal(static_cast<std::size_t>(rows * length));
    auto in = Harness::upload(x);
    auto out = Harness::template allocate<mat2<double>>(static_cast<std::size_t>(rows));
    reduce(backend, make_view(in.data(), {rows, length}), make_view(out.data(), rows), mat2_product{});
    check_all_close(Harness::download(out), reference_reduce(x, rows, length, mat2_product{}, mat2<double>{}),
                    tolerance{1e-9, 1e-9});
  }
}

TEST_CASE_TEMPLATE_DEFINE("empty rows reduce to the identity; no rows is a no-op", Harness, reduce_empty) {
  auto in = Harness::upload(std::vector<float>{1.0f});
  auto out = Harness::upload(std::vector<float>{7, 7, 7});
  reduce_sum(Harness::backend(), make_view(in.data(), {3, 0}), make_view(out.data(), index_t(3)));
  CHECK(Harness::download(out) == std::vector<float>{0, 0, 0});
  reduce_max(Harness::backend(), make_view(in.data(), {3, 0}), make_view(out.data(), index_t(3)));
  CHECK(Harness::download(out) == std::vector<float>(3, -std::numeric_limits<float>::infinity()));
  logsumexp(Harness::backend(), make_view(in.data(), {3, 0}), make_view(out.data(), index_t(3)));
  CHECK(Harness::download(out) == std::vector<float>(3, -std::numeric_limits<float>::infinity()));
  reduce_sum(Harness::backend(), make_view(in.data(), {0, 4}), make_view(out.data(), index_t(0)));
  CHECK(Harness::download(in) == std::vector<float>{1.0f});
}

TEST_CASE_TEMPLATE_DEFINE("argmax returns the first maximum, and the first NaN when there is one", Harness,
                          reduce_argmax) {
  for (index_t length : reduction_lengths<Harness>()) {
    if (length == 0) continue;
    const index_t rows = 5;
    INFO(Harness::name << ": L " << length);
    auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -3, 3);  // many ties
    if (length > 2) {
      x[static_cast<std::size_t>(3 * length + length / 2)] = std::numeric_limits<float>::quiet_NaN();
      x[static_cast<std::size_t>(3 * length + length - 1)] = std::numeric_limits<float>::quiet_NaN();
    }
    auto in = Harness::upload(to_storage(x, layout::column_major, rows, length));
    auto out = Harness::template allocate<index_t>(static_cast<std::size_t>(rows));
    argmax(Harness::backend(), layout_view(in.data(), layout::column_major, rows, length), make_view(out.data(), rows));
    CHECK(Harness::download(out) == reference_argmax(x, rows, length));
  }
}

TEST_CASE_TEMPLATE_DEFINE("logsumexp and softmax match the direct formulas and do not overflow", Harness,
                          reduce_softmax) {
  for (index_t length : reduction_lengths<Harness>()) {
    if (length == 0) continue;
    const index_t rows = 4;
    INFO(Harness::name << ": L " << length);
    const auto x = random_uniform<double>(static_cast<std::size_t>(rows * length), -20, 20);
    auto in = Harness::upload(x);
    auto sums = Harness::template allocate<double>(static_cast<std::size_t>(rows));
    auto probabilities = Harness::template allocate<double>(x.size());
    logsumexp(Harness::backend(), make_view(in.data(), {rows, length}), make_view(sums.data(), rows));
    softmax(Harness::backend(), make_view(in.data(), {rows, length}), make_view(probabilities.data(), {rows, length}));
    check_all_close(Harness::download(sums), reference_logsumexp(x, rows, length), tolerance{1e-12, 1e-12});
    check_all_close(Harness::download(probabilities), reference_softmax(x, rows, length), tolerance{1e-15, 1e-12});
    // In place, in float.
    std::vector<float> xf(x.begin(), x.end());
    auto in_place = Harness::upload(xf);
    softmax(Harness::backend(), make_view(in_place.data(), {rows, length}), make_view(in_place.data(), {rows, length}));
    check_all_close(Harness::download(in_place), reference_softmax(xf, rows, length), tolerance{1e-7, 1e-5});
  }
  // Shifting by 1000 would overflow exp: the results shift and stay finite.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  auto big = Harness::upload(std::vector<float>{1000, 1000, 999, 1, -inf, -inf, 2, inf, 0, nan, 1, 2});
  auto sums = Harness::template allocate<float>(4);
  auto probabilities = Harness::template allocate<float>(12);
  logsumexp(Harness::backend(), make_view(big.data(), {4, 3}), make_view(sums.data(), index_t(4)));
  softmax(Harness::backend(), make_view(big.data(), {4, 3}), make_view(probabilities.data(), {4, 3}));
  const auto s = Harness::download(sums);
  CHECK(s[0] == doctest::Approx(1000.0 + std::log(2.0 + std::exp(-1.0))).epsilon(1e-6));
  CHECK(s[1] == doctest::Approx(1.0).epsilon(1e-6));  // exp(-inf) adds nothing
  CHECK(s[2] == inf);
  CHECK(std::isnan(s[3]));
  const auto p = Harness::download(probabilities);
  CHECK(p[0] == doctest::Approx(1.0 / (2.0 + std::exp(-1.0))).epsilon(1e-6));
  CHECK(p[2] == doctest::Approx(std::exp(-1.0) / (2.0 + std::exp(-1.0))).epsilon(1e-6));
  CHECK(p[3] == 1.0f);
  CHECK(p[4] == 0.0f);
  CHECK(std::isnan(p[9]));
}

TEST_CASE_TEMPLATE_DEFINE("top_k matches a stable descending sort (ties: lower index first; NaN largest)", Harness,
                          reduce_top_k) {
  for (index_t length : reduction_lengths<Harness>()) {
    for (index_t k : {index_t(1), index_t(2), length / 2, length}) {
      if (k < 1 || k > length) continue;
      const index_t rows = 6;
      INFO(Harness::name << ": L " << length << ", k " << k);
      auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -5, 5);  // many ties
      x[static_cast<std::size_t>(length - 1)] = std::numeric_limits<float>::quiet_NaN();
      auto in = Harness::upload(to_storage(x, layout::padded_reversed, rows, length));
      auto values = Harness::template allocate<float>(static_cast<std::size_t>(rows * k));
      auto indices = Harness::template allocate<index_t>(static_cast<std::size_t>(rows * k));
      top_k(Harness::backend(), layout_view(in.data(), layout::padded_reversed, rows, length),
            make_view(values.data(), {rows, k}), make_view(indices.data(), {rows, k}));
      std::vector<float> expected_values;
      std::vector<index_t> expected_indices;
      reference_top_k(x, rows, length, k, expected_values, expected_indices);
      CHECK(Harness::download(indices) == expected_indices);
      check_all_close(Harness::download(values), expected_values, tolerance{});
    }
  }
}

// An associative operator with no identity(): the leftmost element.
struct leftmost {
  template <class T>
  RESCAN_HOST_DEVICE T operator()(const T& earlier, const T&) const {
    return earlier;
  }
};

TEST_CASE_TEMPLATE_DEFINE("reductions reject bad shapes and k out of range with clear errors", Harness,
                          reduce_errors) {
  auto in = Harness::upload(std::vector<float>(12, 1.0f));
  auto out = Harness::template allocate<float>(12);
  auto indices = Harness::template allocate<index_t>(12);
  const auto x = make_view(in.data(), {3, 4});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(reduce_sum(Harness::backend(), x, make_view(out.data(), index_t(2))), shape_error,
                                    "reduce: out.extent(0) = 2 but in.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(argmax(Harness::backend(), x, make_view(indices.data(), index_t(4))), shape_error,
                                    "argmax: out.extent(0) = 4 but in.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(argmax(Harness::backend(), make_view(in.data(), {3, 0}), make_view(indices.data(), index_t(3))),
                                    value_error, "argmax: in.extent(1) = 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(logsumexp(Harness::backend(), x, make_view(out.data(), index_t(4))), shape_error,
                                    "logsumexp: out.extent(0) = 4 but in.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(softmax(Harness::backend(), x, make_view(out.data(), {3, 3})), shape_error,
                                    "softmax: out.extent(1) = 3 but in.extent(1) = 4");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      top_k(Harness::backend(), x, make_view(out.data(), {3, 5}), make_view(indices.data(), {3, 5})), value_error,
      "top_k: k = 5 but must be in [0, 4] (in.extent(1))");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      top_k(Harness::backend(), x, make_view(out.data(), {3, 2}), make_view(indices.data(), {3, 3})), shape_error,
      "top_k: indices.extent(1) = 3 but values.extent(1) = 2");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      top_k(Harness::backend(), x, make_view(out.data(), {2, 2}), make_view(indices.data(), {2, 2})), shape_error,
      "top_k: values.extent(0) = 2 but in.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      reduce(Harness::backend(), make_view(in.data(), {3, 0}), make_view(out.data(), index_t(3)), leftmost{}),
      value_error, "reduce: in.extent(1) = 0 but the operator has no identity()");
  reduce(Harness::backend(), x, make_view(out.data(), index_t(3)), leftmost{});  // fine when rows are not empty
  CHECK(Harness::download(out)[2] == 1.0f);
  const auto negative = make_strided_view(in.data(), {3, -2}, {4, 1});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(reduce_sum(Harness::backend(), negative, make_view(out.data(), index_t(3))),
                                    shape_error, "reduce: in.extent(1) = -2 but extents must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(softmax(Harness::backend(), negative, negative), shape_error,
                                    "softmax: in.extent(1) = -2 but extents must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(argmax(Harness::backend(), negative, make_view(indices.data(), index_t(3))),
                                    shape_error, "argmax: in.extent(1) = -2 but extents must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(logsumexp(Harness::backend(), negative, make_view(out.data(), index_t(3))),
                                    shape_error, "logsumexp: in.extent(1) = -2 but extents must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      top_k(Harness::backend(), negative, make_view(out.data(), {3, 0}), make_view(indices.data(), {3, 0})),
      shape_error, "top_k: in.extent(1) = -2 but extents must be >= 0");
}

}  // namespace rescan::testing
