// Test bodies of the scans and the linear recurrence, templated over a backend harness
// (test/support/cpu_harness.hpp) so every backend runs the same assertions. Each backend's test
// file instantiates them with TEST_CASE_TEMPLATE_INVOKE(<id>, <harness>...).
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "bodies/scan_cases.hpp"

namespace rescan::testing {

// Contracting affine maps: a in [0.5, 1], b in [-1, 1] (the shape of a discretized SSM step).
inline std::vector<affine_pair<float>> random_affine_pairs(std::size_t count) {
  const auto a = random_uniform<float>(count, 0.5, 1.0);
  const auto b = random_uniform<float>(count, -1.0, 1.0);
  std::vector<affine_pair<float>> pairs(count);
  for (std::size_t i = 0; i < count; ++i) pairs[i] = {a[i], b[i]};
  return pairs;
}

// Inclusive and exclusive plus-scans of small integers are exact in float and double: any
// difference from the loop is a bug, never rounding. Every layout, both directions.
template <class Harness, class T>
void check_integer_sums() {
  for (index_t length : awkward_lengths<Harness, T>()) {
    const bool long_row = length > 2048;
    for (index_t rows : long_row ? std::vector<index_t>{1, 2, 3} : std::vector<index_t>{1, 5}) {
      for (layout storage : {layout::row_major, layout::column_major, layout::padded_reversed}) {
        if (long_row && storage == layout::column_major && rows > 1) continue;
        for (bool reverse : {false, true}) {
          const scan_setup setup{rows, length, storage, reverse};
          const auto x = random_integers<T>(static_cast<std::size_t>(rows * length), -8, 8);
          check_scan<Harness>(setup, x, {}, plus{}, tolerance{});
          const T init = 3;
          check_scan<Harness>(setup, x, {}, plus{}, tolerance{}, &init);
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("plus scans of integers match the loop exactly (float, double, all layouts)", Harness,
                          scan_integer_sums) {
  check_integer_sums<Harness, float>();
  check_integer_sums<Harness, double>();
}

// Rows past 8 MiB: the CPU backend writes them with non-temporal stores.
TEST_CASE_TEMPLATE_DEFINE("plus and affine scans of rows longer than 2^21 elements match the loop", Harness,
                          scan_long_row) {
  const index_t length = (index_t(1) << 21) + 5;
  const auto x = random_integers<float>(static_cast<std::size_t>(length), 0, 7);  // total < 2^24: exact
  for (bool reverse : {false, true}) {
    check_scan<Harness>(scan_setup{1, length, layout::row_major, reverse}, x, {}, plus{}, tolerance{});
  }
  for (bool in_place : {false, true}) {
    check_scan<Harness>(scan_setup{1, length, layout::row_major, false, segment_kind::none, true, in_place}, x,
                        {1.0f}, plus{}, tolerance{});
  }
  const index_t pair_length = (index_t(1) << 20) + 3;
  const auto pairs = random_affine_pairs(static_cast<std::size_t>(pair_length));
  check_scan<Harness>(scan_setup{1, pair_length, layout::row_major, false, segment_kind::none, false, true}, pairs, {},
                      affine_compose{}, tolerance{1e-5, 1e-4});
}

// Infinities and NaN travel through every path as through the plain loop (NaN stays NaN, inf stays
// inf where the loop keeps it), with no NaN made up by a vector path's padding.
TEST_CASE_TEMPLATE_DEFINE("non-finite values propagate exactly as in the loop", Harness, scan_non_finite) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (index_t length : {index_t(5), index_t(64), index_t(1000)}) {
    for (layout storage : {layout::row_major, layout::padded_reversed}) {
      // a = 0.99 elsewhere: no product of the finite a's underflows over 1000 positions (0.99^1000 is
      // about 4e-5; with 0.5 a parallel backend's partial products reach 0, and 0 * inf = NaN where
      // the loop keeps inf: a limit of reassociation that scan.hpp documents).
      std::vector<float> x(static_cast<std::size_t>(length), 1.0f), a(x.size(), 0.99f), b(x.size(), 1.0f);
      x[1] = inf;
      x[static_cast<std::size_t>(length - 2)] = nan;
      a[0] = inf;
      a[1] = inf;
      a[static_cast<std::size_t>(length / 2)] = inf;
      check_scan<Harness>(scan_setup{1, length, storage}, x, {}, plus{}, tolerance{});
      check_linear_recurrence<Harness>(scan_setup{1, length, storage}, a, b, tolerance{});
      std::vector<affine_pair<float>> pairs(x.size());
      for (std::size_t i = 0; i < pairs.size(); ++i) pairs[i] = {a[i], b[i]};
      check_scan<Harness>(scan_setup{1, length, storage}, pairs, {}, affine_compose{}, tolerance{});
    }
  }
}

// Non-commutative operators: a wrong combination order cannot hide.
TEST_CASE_TEMPLATE_DEFINE("non-commutative scans (2x2 matrix products, affine maps) match the loop", Harness,
                          scan_non_commutative) {
  for (index_t length : awkward_lengths<Harness, mat2<double>>()) {
    for (index_t rows : {index_t(1), index_t(3)}) {
      for (bool reverse : {false, true}) {
        for (bool with_initial : {false, true}) {
          const scan_setup setup{rows, length, layout::row_major, reverse, segment_kind::none, with_initial};
          const auto count = static_cast<std::size_t>(rows * length);
          const auto matrices = random_orthogonal(count);
          const auto matrix_initial = with_initial ? random_orthogonal(rows) : std::vector<mat2<double>>{};
          check_scan<Harness>(setup, matrices, matrix_initial, mat2_product{}, tolerance{1e-9, 1e-9});
          const auto identity = mat2_product::identity<mat2<double>>();
          check_scan<Harness>(setup, matrices, matrix_initial, mat2_product{}, tolerance{1e-9, 1e-9}, &identity);
        }
      }
    }
  }
  // Affine pairs in every layout, contiguous rows included (the vector path of some backends).
  for (index_t length : awkward_lengths<Harness, affine_pair<float>>()) {
    for (layout storage : {layout::row_major, layout::padded_reversed}) {
      for (bool reverse : {false, true}) {
        for (bool with_initial : {false, true}) {
          for (index_t rows : {index_t(1), index_t(3)}) {
            const scan_setup setup{rows, length, storage, reverse, segment_kind::none, with_initial, reverse};
            const auto pairs = random_affine_pairs(static_cast<std::size_t>(rows * length));
            const auto initial = with_initial ? random_affine_pairs(rows) : std::vector<affine_pair<float>>{};
            check_scan<Harness>(setup, pairs, initial, affine_compose{}, tolerance{1e-5, 1e-4});
          }
        }
      }
    }
    std::vector<affine_pair<double>> pairs(static_cast<std::size_t>(length));
    const auto a = random_uniform<double>(pairs.size(), 0.5, 1.0), b = random_uniform<double>(pairs.size(), -1, 1);
    for (std::size_t i = 0; i < pairs.size(); ++i) pairs[i] = {a[i], b[i]};
    check_scan<Harness>(scan_setup{1, length}, pairs, {}, affine_compose{}, tolerance{1e-12, 1e-12});
  }
}

TEST_CASE_TEMPLATE_DEFINE("segmented scans restart at flags and at offsets, in both directions", Harness,
                          scan_segments) {
  for (index_t length : awkward_lengths<Harness, float>()) {
    for (segment_kind segments : {segment_kind::flags, segment_kind::offsets}) {
      for (bool reverse : {false, true}) {
        for (bool with_initial : {false, true}) {
          const index_t rows = length > 2048 ? 1 : 4;
          const scan_setup setup{rows, length, layout::row_major, reverse, segments, with_initial};
          const auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -8, 8);
          const auto initial = with_initial ? random_integers<float>(static_cast<std::size_t>(rows), -8, 8)
                                            : std::vector<float>{};
          check_scan<Harness>(setup, x, initial, plus{}, tolerance{});
          const float init = -2;
          check_scan<Harness>(setup, x, initial, plus{}, tolerance{}, &init);
          const auto matrices = random_orthogonal(static_cast<std::size_t>(rows * length));
          const auto matrix_initial = with_initial ? random_orthogonal(rows) : std::vector<mat2<double>>{};
          check_scan<Harness>(setup, matrices, matrix_initial, mat2_product{}, tolerance{1e-9, 1e-9});
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("scans run in place (out is in)", Harness, scan_in_place) {
  for (index_t length : awkward_lengths<Harness, float>()) {
    for (bool reverse : {false, true}) {
      scan_setup setup{2, length, layout::row_major, reverse, segment_kind::offsets, false, true};
      const auto x = random_integers<float>(static_cast<std::size_t>(2 * length), -8, 8);
      check_scan<Harness>(setup, x, {}, plus{}, tolerance{});
      const float init = 1;
      check_scan<Harness>(setup, x, {}, plus{}, tolerance{}, &init);
      setup.segments = segment_kind::none;  // the vector path of contiguous float rows, in place
      check_scan<Harness>(setup, x, {}, plus{}, tolerance{});
      const auto matrices = random_orthogonal(static_cast<std::size_t>(2 * length));
      check_scan<Harness>(setup, matrices, {}, mat2_product{}, tolerance{1e-9, 1e-9});
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("linear_recurrence matches h_t = a_t h_{t-1} + b_t", Harness, linear_recurrence_cases) {
  for (index_t length : awkward_lengths<Harness, float>()) {
    for (index_t rows : {index_t(1), index_t(4)}) {
      if (rows > 1 && length > 2048) continue;
      for (bool reverse : {false, true}) {
        for (segment_kind segments : {segment_kind::none, segment_kind::flags, segment_kind::offsets}) {
          for (bool with_initial : {false, true}) {
            const auto count = static_cast<std::size_t>(rows * length);
            const auto a = random_uniform<float>(count, 0.5, 1.0);
            const auto b = random_uniform<float>(count, -1.0, 1.0);
            const layout storage = reverse ? layout::column_major : layout::row_major;
            check_linear_recurrence<Harness>(scan_setup{rows, length, storage, reverse, segments, with_initial}, a, b,
                                             tolerance{1e-5, 1e-4});
          }
        }
      }
      const auto a = random_uniform<double>(static_cast<std::size_t>(rows * length), 0.5, 1.0);
      const auto b = random_uniform<double>(static_cast<std::size_t>(rows * length), -1.0, 1.0);
      for (layout storage : {layout::row_major, layout::padded_reversed}) {
        check_linear_recurrence<Harness>(scan_setup{rows, length, storage, false, segment_kind::none, true, true}, a,
                                         b, tolerance{1e-12, 1e-12});
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("scans of empty views are no-ops", Harness, scan_empty) {
  auto buffer = Harness::upload(std::vector<float>{42.0f});
  const auto none = make_view(buffer.data(), {0, 5});
  const auto zero_length = make_view(buffer.data(), {3, 0});
  inclusive_scan(Harness::backend(), none, none);
  exclusive_scan(Harness::backend(), zero_length, zero_length, 0.0f);
  linear_recurrence(Harness::backend(), zero_length, zero_length, zero_length);
  CHECK(Harness::download(buffer) == std::vector<float>{42.0f});
}

TEST_CASE_TEMPLATE_DEFINE("scans reject mismatched shapes and bad segment offsets with clear errors", Harness,
                          scan_errors) {
  auto in_buffer = Harness::upload(std::vector<float>(16, 1.0f));
  auto out_buffer = Harness::template allocate<float>(16);
  const auto in = make_view(in_buffer.data(), {2, 8});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(inclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 7})),
                                    shape_error, "inclusive_scan: out.extent(1) = 7 but in.extent(1) = 8");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(exclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {1, 8}), 0.0f),
                                    shape_error, "exclusive_scan: out.extent(0) = 1 but in.extent(0) = 2");

  auto initial_buffer = Harness::upload(std::vector<float>{1, 2, 3});
  scan_options<float> options;
  options.initial = make_view(static_cast<const float*>(initial_buffer.data()), index_t(3));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      inclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 8}), plus{}, options), shape_error,
      "inclusive_scan: options.initial.extent(0) = 3 but in.extent(0) = 2");

  auto flag_buffer = Harness::upload(std::vector<std::uint8_t>(16, 0));
  scan_options<float> flagged;
  flagged.segment_flags = make_view(static_cast<const std::uint8_t*>(flag_buffer.data()), {2, 7});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      inclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 8}), plus{}, flagged), shape_error,
      "inclusive_scan: options.segment_flags.extent(1) = 7 but in.extent(1) = 8");

  auto outside = Harness::upload(std::vector<index_t>{0, 3, 9});
  scan_options<float> bad_offsets;
  bad_offsets.segment_offsets = make_view(static_cast<const index_t*>(outside.data()), index_t(3));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      inclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 8}), plus{}, bad_offsets), value_error,
      "inclusive_scan: options.segment_offsets[2] = 9 but must be in [0, L = 8]");
  auto unsorted = Harness::upload(std::vector<index_t>{0, 5, 3});
  bad_offsets.segment_offsets = make_view(static_cast<const index_t*>(unsorted.data()), index_t(3));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      exclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 8}), 0.0f, plus{}, bad_offsets),
      value_error, "exclusive_scan: options.segment_offsets[2] = 3 is less than options.segment_offsets[1] = 5");

  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      linear_recurrence(Harness::backend(), in, make_view(in_buffer.data(), {2, 7}), make_view(out_buffer.data(), {2, 8})),
      shape_error, "linear_recurrence: b.extent(1) = 7 but a.extent(1) = 8");
  scan_options<float> both;
  both.segment_flags = make_view(static_cast<const std::uint8_t*>(flag_buffer.data()), {2, 8});
  both.segment_offsets = make_view(static_cast<const index_t*>(outside.data()), index_t(3));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      inclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 8}), plus{}, both), value_error,
      "inclusive_scan: options.segment_flags and options.segment_offsets are both given");
  scan_options<float> one_flag_row;
  one_flag_row.segment_flags = make_view(static_cast<const std::uint8_t*>(flag_buffer.data()), {1, 8});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      inclusive_scan(Harness::backend(), in, make_view(out_buffer.data(), {2, 8}), plus{}, one_flag_row), shape_error,
      "inclusive_scan: options.segment_flags.extent(0) = 1 but in.extent(0) = 2");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      linear_recurrence(Harness::backend(), in, in, make_view(out_buffer.data(), {2, 7})), shape_error,
      "linear_recurrence: out.extent(1) = 7 but in.extent(1) = 8");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      linear_recurrence(Harness::backend(), in, in, make_view(out_buffer.data(), {2, 8}), options), shape_error,
      "linear_recurrence: options.initial.extent(0) = 3 but in.extent(0) = 2");
  const auto negative = make_strided_view(in_buffer.data(), {2, -1}, {8, 1});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(inclusive_scan(Harness::backend(), negative, negative), shape_error,
                                    "inclusive_scan: in.extent(1) = -1 but extents must be >= 0");
  // Nothing was written by any failed call.
  auto untouched = Harness::upload(std::vector<float>(16, 5.0f));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      inclusive_scan(Harness::backend(), in, make_view(untouched.data(), {2, 8}), plus{}, bad_offsets), value_error,
      "segment_offsets");
  CHECK(Harness::download(untouched) == std::vector<float>(16, 5.0f));
}

}  // namespace rescan::testing
