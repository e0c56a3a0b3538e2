// Test bodies of the ranking metrics (rankdata, kendall_tau and its batched forms, spearman_rho,
// top_order_agreement, consistency_rate), templated over a backend harness like the other bodies.
// Oracles: support/rank_reference.hpp (every pair once); published scipy values with their source.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "support/data.hpp"
#include "support/rank_reference.hpp"

namespace rescan::testing {

inline constexpr double rank_nan = std::numeric_limits<double>::quiet_NaN();

// Lengths around the backends' switches: CPU pair counting up to 48, the CUDA warp's registers up
// to 64, and merge blocks of 32 / radix digits on the sort paths.
inline std::vector<index_t> kendall_lengths() { return {0, 1, 2, 3, 5, 16, 33, 48, 49, 64, 65, 100, 257, 1000, 4099}; }

// Values with many ties (integers in [0, distinct)) or almost none (uniform doubles).
inline std::vector<double> rank_data(std::size_t count, int distinct) {
  return distinct > 0 ? random_integers<double>(count, 0, distinct - 1) : random_uniform<double>(count, -1e3, 1e3);
}

template <class Harness, class T = double>
kendall_tau_result harness_kendall(const std::vector<double>& x, const std::vector<double>& y,
                                   const kendall_tau_options& options = {}) {
  auto dx = Harness::upload(std::vector<T>(x.begin(), x.end()));
  auto dy = Harness::upload(std::vector<T>(y.begin(), y.end()));
  const auto n = static_cast<index_t>(x.size());
  return kendall_tau(Harness::backend(), make_view(dx.data(), n), make_view(dy.data(), n), options);
}

inline void check_counts(const kendall_tau_result& got, const reference_kendall_result& expected) {
  CHECK(got.counts.concordant == expected.concordant);
  CHECK(got.counts.discordant == expected.discordant);
  CHECK(got.counts.ties_x == expected.ties_x);
  CHECK(got.counts.ties_y == expected.ties_y);
  CHECK(got.counts.ties_xy == expected.ties_xy);
}

TEST_CASE_TEMPLATE_DEFINE("kendall_tau matches pair counting: every variant, with and without ties", Harness,
                          rank_kendall_reference) {
  std::vector<index_t> lengths = kendall_lengths();
  lengths.push_back(100003);  // long enough for the parallel radix sort and merge passes
  for (index_t n : lengths) {
    for (int distinct : {0, 3, 40}) {
      INFO(Harness::name << ": n " << n << ", distinct " << distinct);
      const auto x = rank_data(static_cast<std::size_t>(n), distinct);
      auto y = rank_data(static_cast<std::size_t>(n), distinct);
      for (index_t i = 0; i < n; i += 3) y[i] = x[i] + y[i];  // some association (integers stay integers)
      for (kendall_variant variant : {kendall_variant::a, kendall_variant::b, kendall_variant::c}) {
        kendall_tau_options options;
        options.variant = variant;
        const auto got = harness_kendall<Harness>(x, y, options);
        if (n > 5000 && variant != kendall_variant::b) continue;
        if (n > 5000) {  // the O(n^2) oracle is too slow here: tau-b through counts from a subsample check below
          CHECK(got.counts.n == n);
          CHECK(got.counts.concordant + got.counts.discordant + got.counts.ties_x + got.counts.ties_y -
                    got.counts.ties_xy == n * (n - 1) / 2);
          continue;
        }
        const auto expected = reference_kendall(x, y, variant);
        check_counts(got, expected);
        check_all_close(std::vector<double>{got.tau}, std::vector<double>{expected.tau}, tolerance{1e-14, 1e-13});
      }
      if (n <= 1000) {  // float and integer inputs: the counts of the values as converted
        const std::vector<float> xf(x.begin(), x.end()), yf(y.begin(), y.end());
        check_counts(harness_kendall<Harness, float>(x, y),
                     reference_kendall({xf.begin(), xf.end()}, {yf.begin(), yf.end()}, kendall_variant::b));
        if (distinct > 0) check_counts(harness_kendall<Harness, int>(x, y), reference_kendall(x, y, kendall_variant::b));
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("kendall_tau on a long pair: the same counts as per-block pair counting", Harness,
                          rank_kendall_long) {
  // n = 2^17 + 5 with few distinct values: counts checked against an O(n * distinct^2) tally of the
  // joint histogram (an independent count of the same pairs).
  const index_t n = (index_t(1) << 17) + 5;
  const int distinct = 50;
  const auto x = random_integers<double>(static_cast<std::size_t>(n), 0, distinct - 1);
  auto y = random_integers<double>(static_cast<std::size_t>(n), 0, distinct - 1);
  for (index_t i = 0; i < n; i += 2) y[i] = x[i];
  std::vector<std::int64_t> joint(distinct * distinct, 0);
  for (index_t i = 0; i < n; ++i) ++joint[int(x[i]) * distinct + int(y[i])];
  reference_kendall_result expected;
  for (int a = 0; a < distinct * distinct; ++a) {
    for (int b = a; b < distinct * distinct; ++b) {
      const std::int64_t pairs = a == b ? joint[a] * (joint[a] - 1) / 2 : joint[a] * joint[b];
      const int dx = b / distinct - a / distinct, dy = b % distinct - a % distinct;
      if (dx == 0) expected.ties_x += pairs;
      if (dy == 0) expected.ties_y += pairs;
      if (dx == 0 && dy == 0) expected.ties_xy += pairs;
      if (dx * dy > 0) expected.concordant += pairs;
      if (dx * dy < 0) expected.discordant += pairs;
    }
  }
  INFO(Harness::name);
  const auto got = harness_kendall<Harness>(x, y);
  check_counts(got, expected);
  // Reversed views (negative stride) give the same counts.
  auto dx = Harness::upload(x);
  auto dy = Harness::upload(y);
  const auto reversed = kendall_tau(Harness::backend(), make_view(dx.data(), n).reversed(0), make_view(dy.data(), n).reversed(0));
  check_counts(reversed, expected);
}

TEST_CASE_TEMPLATE_DEFINE("kendall_tau reproduces scipy's published and computed values", Harness, rank_kendall_scipy) {
  INFO(Harness::name);
  // scipy.stats.kendalltau documentation example (SciPy 1.2 - 1.8 reference pages):
  //   x1 = [12, 2, 1, 12, 2], x2 = [1, 4, 7, 1, 0] -> tau = -0.47140452079103173, p = 0.2827454599327748
  auto r = harness_kendall<Harness>({12, 2, 1, 12, 2}, {1, 4, 7, 1, 0});
  CHECK(r.tau == doctest::Approx(-0.47140452079103173).epsilon(1e-14));
  CHECK(r.pvalue == doctest::Approx(0.2827454599327748).epsilon(1e-12));
  // Computed with scipy 1.17.1 (PyPI) scipy.stats.kendalltau, alternative two-sided / less / greater.
  const auto check_three = [](const std::vector<double>& x, const std::vector<double>& y, kendall_tau_options options,
                              double tau, const double (&p)[3]) {
    const alternative_hypothesis alternatives[3] = {alternative_hypothesis::two_sided, alternative_hypothesis::less,
                                                    alternative_hypothesis::greater};
    for (int k = 0; k < 3; ++k) {
      options.alternative = alternatives[k];
      const auto result = harness_kendall<Harness>(x, y, options);
      CHECK(result.tau == doctest::Approx(tau).epsilon(1e-14));
      CHECK(result.pvalue == doctest::Approx(p[k]).epsilon(1e-10));
    }
  };
  // No ties, n = 10: the exact distribution.
  check_three({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {2, 1, 4, 3, 6, 5, 8, 7, 10, 9}, {}, 0.7777777777777777,
              {0.0009463183421516755, 0.9998211529982364, 0.00047315917107583776});
  // Ties: the tie-corrected normal approximation.
  const std::vector<double> tx = {1, 1, 2, 3, 3, 3, 4, 5, 6, 6}, ty = {2, 1, 1, 4, 3, 3, 5, 7, 6, 6};
  check_three(tx, ty, {}, 0.8051175601825398, {0.0022490573909353163, 0.9988754713045324, 0.0011245286954676581});
  // Tie groups of three in both x and y (the variance's triple-tie term).
  check_three({1, 1, 1, 2, 3, 3, 3, 4, 5, 5}, {1, 2, 2, 2, 3, 4, 4, 4, 6, 5}, {}, 0.8831913668924228,
              {0.0012057167227169205, 0.9993971416386416, 0.0006028583613584603});
  kendall_tau_options stuart;
  stuart.variant = kendall_variant::c;
  CHECK(harness_kendall<Harness>(tx, ty, stuart).tau == doctest::Approx(0.792).epsilon(1e-14));
  // n = 40 without ties: automatic uses the normal approximation, exact the exact distribution.
  std::vector<double> a(40);
  std::iota(a.begin(), a.end(), 0.0);
  const std::vector<double> b = {30, 18, 6,  24, 25, 38, 9, 23, 2,  17, 22, 35, 34, 27, 20, 12, 7,  36, 39, 11,
                                 29, 19, 26, 28, 31, 3,  32, 8, 33, 13, 21, 1,  16, 14, 4,  5,  15, 10, 0,  37};
  check_three(a, b, {}, -0.16410256410256413, {0.13587424025509034, 0.06793712012754517, 0.9320628798724548});
  kendall_tau_options exact;
  exact.method = kendall_pvalue_method::exact;
  check_three(a, b, exact, -0.16410256410256413, {0.13967930400774592, 0.06983965200387296, 0.9332555367041238});
  // Reversed order, n = 6: p = 2 / 6! exactly.
  r = harness_kendall<Harness>({1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1});
  CHECK(r.tau == doctest::Approx(-1.0).epsilon(1e-15));
  CHECK(r.pvalue == doctest::Approx(2.0 / 720).epsilon(1e-12));
  // exact where the distribution would take too long is refused with the numbers.
  std::vector<double> long_x(100000), long_y(100000);
  for (std::size_t i = 0; i < long_x.size(); ++i) {
    long_x[i] = double(i);
    long_y[i] = double((i * 7919) % long_x.size());
  }
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(harness_kendall<Harness>(long_x, long_y, exact), value_error,
                                    "kendall_tau: options.method = exact but n = 100000");
  // exact on data with ties is refused, as scipy does.
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(harness_kendall<Harness>(tx, ty, exact), value_error,
                                    "kendall_tau: options.method = exact but the data has ties");
}

TEST_CASE_TEMPLATE_DEFINE("kendall_tau invariants: identity, reversal, symmetry, monotone transforms", Harness,
                          rank_kendall_invariants) {
  for (index_t n : {index_t(2), index_t(7), index_t(48), index_t(65), index_t(3000)}) {
    INFO(std::string(Harness::name) << ": n " << n);
    const auto x = rank_data(static_cast<std::size_t>(n), 0);
    auto y = rank_data(static_cast<std::size_t>(n), 5);
    // A constant y makes tau NaN by definition (as in scipy), and NaN compares unequal to itself, so
    // no invariant below could hold. With n = 2 and 5 values that is one draw in five, and the draw
    // depends on which tests used the shared random stream before: give y a second value.
    if (std::all_of(y.begin(), y.end(), [&](double value) { return value == y[0]; })) y[0] = y[0] == 0 ? 1 : 0;
    std::vector<double> transformed(x.size()), y_cubed(y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      transformed[i] = std::exp(x[i] / 500) * 3 - 7;  // strictly increasing
      y_cubed[i] = y[i] * y[i] * y[i];
    }
    std::vector<double> sorted = x;
    std::sort(sorted.begin(), sorted.end());
    CHECK(harness_kendall<Harness>(x, x).tau == doctest::Approx(1.0).epsilon(1e-15));
    CHECK(harness_kendall<Harness>(sorted, std::vector<double>(sorted.rbegin(), sorted.rend())).tau ==
          doctest::Approx(-1.0).epsilon(1e-15));
    const auto xy = harness_kendall<Harness>(x, y), yx = harness_kendall<Harness>(y, x);
    CHECK(xy.tau == yx.tau);
    CHECK(xy.counts.ties_x == yx.counts.ties_y);
    const auto monotone = harness_kendall<Harness>(transformed, y_cubed);
    CHECK(monotone.tau == xy.tau);
    CHECK(monotone.counts.discordant == xy.counts.discordant);
    // Negating one side swaps concordant and discordant.
    std::vector<double> negated(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) negated[i] = -x[i];
    const auto flipped = harness_kendall<Harness>(negated, y);
    CHECK(flipped.counts.concordant == xy.counts.discordant);
    CHECK(flipped.tau == doctest::Approx(-xy.tau).epsilon(1e-14));
    // Reversing both sequences keeps every pair, so every count.
    const auto reversed = harness_kendall<Harness>({x.rbegin(), x.rend()}, {y.rbegin(), y.rend()});
    check_counts(reversed, reference_kendall_result{xy.counts.concordant, xy.counts.discordant, xy.counts.ties_x,
                                                    xy.counts.ties_y, xy.counts.ties_xy});
    CHECK(reversed.tau == xy.tau);
  }
}

TEST_CASE_TEMPLATE_DEFINE("kendall_tau edge cases: empty, one element, all tied, NaN propagate, -0.0 == +0.0", Harness,
                          rank_kendall_edges) {
  INFO(Harness::name);
  for (kendall_variant variant : {kendall_variant::a, kendall_variant::b, kendall_variant::c}) {
    kendall_tau_options options;
    options.variant = variant;
    CHECK(std::isnan(harness_kendall<Harness>({}, {}, options).tau));
    CHECK(std::isnan(harness_kendall<Harness>({}, {}, options).pvalue));
    CHECK(std::isnan(harness_kendall<Harness>({1}, {2}, options).tau));
    CHECK(std::isnan(harness_kendall<Harness>({3, 3, 3, 3}, {1, 2, 3, 4}, options).tau));
    CHECK(std::isnan(harness_kendall<Harness>(std::vector<double>(100, 2.0), rank_data(100, 0), options).tau));
    CHECK(std::isnan(harness_kendall<Harness>(rank_data(100, 0), std::vector<double>(100, 2.0), options).pvalue));
  }
  for (index_t n : {index_t(4), index_t(200)}) {
    auto x = rank_data(static_cast<std::size_t>(n), 0);
    const auto y = rank_data(static_cast<std::size_t>(n), 0);
    x[static_cast<std::size_t>(n / 2)] = rank_nan;
    const auto r = harness_kendall<Harness>(x, y);
    CHECK(std::isnan(r.tau));
    CHECK(std::isnan(r.pvalue));
    CHECK(std::isnan(harness_kendall<Harness>(y, x).tau));
  }
  const auto zeros = harness_kendall<Harness>({-0.0, 0.0, 1.0}, {1.0, 2.0, 3.0});
  CHECK(zeros.counts.ties_x == 1);
  const auto zeros_long = harness_kendall<Harness>(std::vector<double>(60, -0.0), std::vector<double>(60, 0.0));
  CHECK(zeros_long.counts.ties_xy == 60 * 59 / 2);
}

// (groups, n) data and the per-group oracle.
template <class Harness>
void check_batched(index_t groups, index_t n, int distinct, kendall_variant variant, layout storage) {
  INFO(Harness::name << ": groups " << groups << ", n " << n << ", distinct " << distinct << ", " << layout_name(storage));
  const auto size = static_cast<std::size_t>(groups * n);
  auto x = rank_data(size, distinct);
  auto y = rank_data(size, distinct);
  if (groups > 3 && n > 1) {
    x[static_cast<std::size_t>(2 * n)] = rank_nan;                               // group 2: a NaN
    for (index_t t = 0; t < n; ++t) y[static_cast<std::size_t>(3 * n + t)] = 7;  // group 3: y all tied
  }
  auto dx = Harness::upload(to_storage(x, storage, groups, n));
  auto dy = Harness::upload(to_storage(y, storage, groups, n));
  auto tau = Harness::template allocate<double>(static_cast<std::size_t>(groups));
  kendall_tau_batched(Harness::backend(), layout_view(dx.data(), storage, groups, n),
                      layout_view(dy.data(), storage, groups, n), make_view(tau.data(), groups), variant);
  std::vector<double> expected(static_cast<std::size_t>(groups));
  for (index_t g = 0; g < groups; ++g) {
    const std::vector<double> xg(x.begin() + g * n, x.begin() + (g + 1) * n), yg(y.begin() + g * n, y.begin() + (g + 1) * n);
    expected[static_cast<std::size_t>(g)] = reference_kendall(xg, yg, variant).tau;
  }
  check_all_close(Harness::download(tau), expected, tolerance{1e-14, 1e-13});
}

TEST_CASE_TEMPLATE_DEFINE("kendall_tau_batched equals per-group tau, fixed and variable group sizes", Harness,
                          rank_kendall_batched) {
  for (index_t n : {0, 1, 2, 4, 5, 8, 16, 33, 48, 49, 64, 65, 130}) {
    for (kendall_variant variant : {kendall_variant::a, kendall_variant::b, kendall_variant::c}) {
      check_batched<Harness>(37, n, 4, variant, layout::row_major);
    }
    check_batched<Harness>(37, n, 0, kendall_variant::b, layout::column_major);
    check_batched<Harness>(9, n, 6, kendall_variant::b, layout::padded_reversed);
  }
  check_batched<Harness>(3, 3000, 20, kendall_variant::b, layout::row_major);
  // Variable sizes: empty groups, singletons, short and long ones.
  const std::vector<index_t> sizes = {5, 0, 1, 2, 64, 65, 7, 300, 5, 33, 48, 49, 3};
  std::vector<index_t> offsets = {2};  // data starts after two unused elements
  for (index_t s : sizes) offsets.push_back(offsets.back() + s);
  const index_t total = offsets.back() + 4;
  auto x = rank_data(static_cast<std::size_t>(total), 9);
  auto y = rank_data(static_cast<std::size_t>(total), 9);
  x[static_cast<std::size_t>(offsets[6] + 3)] = rank_nan;  // the group of 7 holds a NaN
  auto dx = Harness::upload(x);
  auto dy = Harness::upload(y);
  auto doffsets = Harness::upload(offsets);
  const auto groups = static_cast<index_t>(sizes.size());
  for (kendall_variant variant : {kendall_variant::a, kendall_variant::b, kendall_variant::c}) {
    INFO(Harness::name << ": offsets, variant " << int(variant));
    auto tau = Harness::template allocate<double>(sizes.size());
    kendall_tau_batched(Harness::backend(), make_view(dx.data(), total), make_view(dy.data(), total),
                        make_view<const index_t>(doffsets.data(), groups + 1), make_view(tau.data(), groups), variant);
    std::vector<double> expected;
    for (index_t g = 0; g < groups; ++g) {
      const std::vector<double> xg(x.begin() + offsets[g], x.begin() + offsets[g + 1]),
          yg(y.begin() + offsets[g], y.begin() + offsets[g + 1]);
      expected.push_back(reference_kendall(xg, yg, variant).tau);
    }
    check_all_close(Harness::download(tau), expected, tolerance{1e-14, 1e-13});
  }
  // float results
  auto tau_float = Harness::template allocate<float>(sizes.size());
  kendall_tau_batched(Harness::backend(), make_view(dx.data(), total), make_view(dy.data(), total),
                      make_view<const index_t>(doffsets.data(), groups + 1), make_view(tau_float.data(), groups));
  const auto got = Harness::download(tau_float);
  const std::vector<double> x0(x.begin() + offsets[0], x.begin() + offsets[1]), y0(y.begin() + offsets[0], y.begin() + offsets[1]);
  CHECK(double(got[0]) == doctest::Approx(reference_kendall(x0, y0, kendall_variant::b).tau).epsilon(1e-6));
}

TEST_CASE_TEMPLATE_DEFINE("rankdata: scipy's five methods, strided rows, NaN rows", Harness, rank_rankdata) {
  // scipy.stats.rankdata documentation examples: [0, 2, 3, 2] ranks
  //   average [1, 2.5, 4, 2.5], min [1, 2, 4, 2], max [1, 3, 4, 3], dense [1, 2, 3, 2], ordinal [1, 2, 4, 3]
  const rank_method methods[5] = {rank_method::average, rank_method::min, rank_method::max, rank_method::dense,
                                  rank_method::ordinal};
  const std::vector<std::vector<double>> published = {
      {1, 2.5, 4, 2.5}, {1, 2, 4, 2}, {1, 3, 4, 3}, {1, 2, 3, 2}, {1, 2, 4, 3}};
  auto doc = Harness::upload(std::vector<double>{0, 2, 3, 2});
  for (int m = 0; m < 5; ++m) {
    auto out = Harness::template allocate<double>(4);
    rankdata(Harness::backend(), make_view(doc.data(), {1, 4}), make_view(out.data(), {1, 4}), methods[m]);
    CHECK(Harness::download(out) == published[static_cast<std::size_t>(m)]);
  }
  for (index_t n : {1, 2, 7, 64, 65, 300}) {
    for (int distinct : {0, 4}) {
      const index_t groups = 5;
      INFO(Harness::name << ": n " << n << ", distinct " << distinct);
      auto x = rank_data(static_cast<std::size_t>(groups * n), distinct);
      x[static_cast<std::size_t>(3 * n)] = rank_nan;  // row 3 is all NaN
      auto dx = Harness::upload(to_storage(x, layout::padded_reversed, groups, n));
      for (int m = 0; m < 5; ++m) {
        auto out = Harness::template allocate<float>(static_cast<std::size_t>(groups * n));
        rankdata(Harness::backend(), layout_view(dx.data(), layout::padded_reversed, groups, n),
                 make_view(out.data(), {groups, n}), methods[m]);
        std::vector<double> expected;
        for (index_t g = 0; g < groups; ++g) {
          const auto row = reference_rankdata(std::vector<double>(x.begin() + g * n, x.begin() + (g + 1) * n), methods[m]);
          expected.insert(expected.end(), row.begin(), row.end());
        }
        const auto got = Harness::download(out);
        check_all_close(std::vector<double>(got.begin(), got.end()), expected, tolerance{});
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("spearman_rho, top_order_agreement and consistency_rate match their definitions", Harness,
                          rank_spearman_agreement) {
  // scipy.stats.spearmanr documentation example: spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).statistic
  //   = 0.8207826816681233
  auto a = Harness::upload(std::vector<double>{1, 2, 3, 4, 5});
  auto b = Harness::upload(std::vector<double>{5, 6, 7, 8, 7});
  auto rho1 = Harness::template allocate<double>(1);
  spearman_rho(Harness::backend(), make_view(a.data(), {1, 5}), make_view(b.data(), {1, 5}), make_view(rho1.data(), index_t(1)));
  CHECK(Harness::download(rho1)[0] == doctest::Approx(0.8207826816681233).epsilon(1e-14));
  for (index_t n : {0, 1, 2, 5, 16, 64, 65, 300}) {
    const index_t groups = 23;
    INFO(Harness::name << ": n " << n);
    auto x = rank_data(static_cast<std::size_t>(groups * n), 5);
    auto y = rank_data(static_cast<std::size_t>(groups * n), 5);
    if (n > 0) {
      x[static_cast<std::size_t>(4 * n)] = rank_nan;
      for (index_t t = 0; t < n; ++t) x[static_cast<std::size_t>(5 * n + t)] = 1;  // constant x: rho NaN
      for (index_t t = 0; t < n; ++t) y[static_cast<std::size_t>(6 * n + t)] = x[static_cast<std::size_t>(6 * n + t)];
    }
    auto dx = Harness::upload(to_storage(x, layout::column_major, groups, n));
    auto dy = Harness::upload(y);
    const auto xv = layout_view(dx.data(), layout::column_major, groups, n);
    const auto yv = make_view(dy.data(), {groups, n});
    auto rho = Harness::template allocate<double>(static_cast<std::size_t>(groups));
    auto best = Harness::template allocate<double>(static_cast<std::size_t>(groups));
    auto worst = Harness::template allocate<double>(static_cast<std::size_t>(groups));
    spearman_rho(Harness::backend(), xv, yv, make_view(rho.data(), groups));
    top_order_agreement(Harness::backend(), xv, yv, make_view(best.data(), groups), make_view(worst.data(), groups));
    std::vector<double> expected_rho, expected_best, expected_worst;
    for (index_t g = 0; g < groups; ++g) {
      const std::vector<double> xg(x.begin() + g * n, x.begin() + (g + 1) * n), yg(y.begin() + g * n, y.begin() + (g + 1) * n);
      expected_rho.push_back(reference_spearman(xg, yg));
      expected_best.push_back(reference_top_order(xg, yg, true));
      expected_worst.push_back(reference_top_order(xg, yg, false));
    }
    check_all_close(Harness::download(rho), expected_rho, tolerance{1e-13, 1e-12});
    check_all_close(Harness::download(best), expected_best, tolerance{});
    check_all_close(Harness::download(worst), expected_worst, tolerance{});
  }
  // consistency_rate: C_j = (tau_j + 1) / 2, NaN groups skipped and counted.
  const std::vector<double> taus = {1.0, -1.0, rank_nan, 0.5, 0.0, rank_nan, -0.25};
  auto dtau = Harness::upload(taus);
  auto per_group = Harness::template allocate<double>(taus.size());
  const auto groups = static_cast<index_t>(taus.size());
  const auto summary =
      consistency_rate(Harness::backend(), make_view(dtau.data(), groups), make_view(per_group.data(), groups));
  CHECK(summary.groups_used == 5);
  CHECK(summary.groups_skipped == 2);
  CHECK(summary.mean == doctest::Approx((1.0 + 0.0 + 0.75 + 0.5 + 0.375) / 5).epsilon(1e-15));
  check_all_close(Harness::download(per_group), std::vector<double>{1.0, 0.0, rank_nan, 0.75, 0.5, rank_nan, 0.375},
                  tolerance{});
  const auto mean_only = consistency_rate(Harness::backend(), make_view(dtau.data(), groups).slice(0, 2, 1));
  CHECK(std::isnan(mean_only.mean));
  CHECK(mean_only.groups_skipped == 1);
  CHECK(std::isnan(consistency_rate(Harness::backend(), make_view(dtau.data(), index_t(0))).mean));
  // CREAM's use: tau-b of two rankings per prompt, then the rate.
  auto rewards_now = Harness::upload(std::vector<float>{0.1f, 0.5f, 0.3f, 0.9f, 0.7f, 1, 2, 3, 4, 5});
  auto rewards_before = Harness::upload(std::vector<float>{0.2f, 0.4f, 0.1f, 0.8f, 0.9f, 5, 4, 3, 2, 1});
  auto tau = Harness::template allocate<float>(2);
  kendall_tau_batched(Harness::backend(), make_view(rewards_now.data(), {2, 5}), make_view(rewards_before.data(), {2, 5}),
                      make_view(tau.data(), index_t(2)));
  const auto rate = consistency_rate(Harness::backend(), make_view(tau.data(), index_t(2)));
  CHECK(rate.mean == doctest::Approx(((0.6 + 1) / 2 + 0.0) / 2).epsilon(1e-7));  // tau = 0.6 and -1
}

TEST_CASE_TEMPLATE_DEFINE("ranking metrics reject bad shapes and offsets with clear errors", Harness, rank_errors) {
  auto data = Harness::upload(std::vector<double>(12, 1.0));
  auto out = Harness::template allocate<double>(12);
  const auto b = Harness::backend();
  const auto x2 = make_view(data.data(), {3, 4});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(kendall_tau(b, make_view(data.data(), index_t(4)), make_view(data.data(), index_t(5))),
                                    shape_error, "kendall_tau: y.extent(0) = 5 but x.extent(0) = 4");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(kendall_tau_batched(b, x2, make_view(data.data(), {3, 3}), make_view(out.data(), index_t(3))),
                                    shape_error, "kendall_tau_batched: y.extent(1) = 3 but x.extent(1) = 4");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(kendall_tau_batched(b, x2, x2, make_view(out.data(), index_t(2))), shape_error,
                                    "kendall_tau_batched: tau.extent(0) = 2 but x.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(rankdata(b, x2, make_view(out.data(), {4, 3})), shape_error,
                                    "rankdata: out.extent(0) = 4 but x.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(spearman_rho(b, x2, x2, make_view(out.data(), index_t(4))), shape_error,
                                    "spearman_rho: rho.extent(0) = 4 but x.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      top_order_agreement(b, x2, x2, make_view(out.data(), index_t(3)), make_view(out.data(), index_t(2))), shape_error,
      "top_order_agreement: worst.extent(0) = 2 but x.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      consistency_rate(b, make_view(data.data(), index_t(3)), make_view(out.data(), index_t(2))), shape_error,
      "consistency_rate: per_group.extent(0) = 2 but tau.extent(0) = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(kendall_tau_batched(b, make_strided_view(data.data(), {3, -1}, {4, 1}), x2,
                                                        make_view(out.data(), index_t(3))),
                                    shape_error, "kendall_tau_batched: x.extent(1) = -1 but extents must be >= 0");
  const auto huge = make_strided_view(data.data(), {index_t(1) << 31}, {0});  // never read: rejected first
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(kendall_tau(b, huge, huge), value_error,
                                    "kendall_tau: x.extent(0) = 2147483648 but must be in [0, 2147483647] (2^31 - 1)");
  // Offsets: count, range, order.
  const auto x1 = make_view(data.data(), index_t(12));
  const auto with_offsets = [&](const std::vector<index_t>& offsets, index_t groups) {
    auto d = Harness::upload(offsets);
    kendall_tau_batched(b, x1, x1, make_view<const index_t>(d.data(), static_cast<index_t>(offsets.size())),
                        make_view(out.data(), groups));
  };
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(with_offsets({0, 4, 12}, 3), shape_error,
                                    "kendall_tau_batched: offsets.extent(0) = 3 but tau.extent(0) + 1 = 4");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(with_offsets({0, 4, 13}, 2), value_error,
                                    "kendall_tau_batched: offsets[2] = 13 but must be in [0, 12] (x.extent(0))");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(with_offsets({-1, 4, 12}, 2), value_error, "kendall_tau_batched: offsets[0] = -1");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(with_offsets({0, 8, 4, 12}, 3), value_error,
                                    "kendall_tau_batched: offsets[2] = 4 is less than offsets[1] = 8 (offsets must be sorted)");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(kendall_tau_batched(b, x1, make_view(data.data(), index_t(11)),
                                                        make_view<const index_t>(nullptr, index_t(1)),
                                                        make_view(out.data(), index_t(0))),
                                    shape_error, "kendall_tau_batched: y.extent(0) = 11 but x.extent(0) = 12");
  // Empty calls are no-ops.
  kendall_tau_batched(b, make_view(data.data(), {0, 4}), make_view(data.data(), {0, 4}), make_view(out.data(), index_t(0)));
  rankdata(b, make_view(data.data(), {3, 0}), make_view(out.data(), {3, 0}));
  CHECK(Harness::download(data) == std::vector<double>(12, 1.0));
}

}  // namespace rescan::testing
