// The arithmetic of Kendall's tau that every backend shares: adding one pair to the counts (the
// O(n^2) definition, used for small groups on every backend and as the CUDA warp kernel's core),
// tau from the counts, and the p-values (host only). Formulas as scipy.stats.kendalltau.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "rescan/core/config.hpp"
#include "rescan/core/error.hpp"
#include "rescan/rank/rank_options.hpp"

namespace rescan::detail {

// Pair (j, i), j < i, given the values of both: one of concordant, discordant or tied.
RESCAN_HOST_DEVICE inline void add_kendall_pair(kendall_counts& counts, double xj, double yj, double xi, double yi) {
  const bool tie_x = xj == xi, tie_y = yj == yi;
  counts.ties_x += tie_x;
  counts.ties_y += tie_y;
  counts.ties_xy += tie_x && tie_y;
  if (!tie_x && !tie_y) {
    if ((xj < xi) == (yj < yi)) {
      ++counts.concordant;
    } else {
      ++counts.discordant;
    }
  }
}

// Element i after its pairs with every earlier element: earlier_x of them hold the same x value
// (so it starts a new distinct value when there are none, and closes C(earlier_x, 2) new triples).
RESCAN_HOST_DEVICE inline void add_kendall_element(kendall_counts& counts, std::int64_t earlier_x, std::int64_t earlier_y,
                                                   bool is_nan) {
  ++counts.n;
  counts.distinct_x += earlier_x == 0;
  counts.distinct_y += earlier_y == 0;
  counts.tie_triples_x += double(earlier_x * (earlier_x - 1) / 2);
  counts.tie_triples_y += double(earlier_y * (earlier_y - 1) / 2);
  counts.has_nan = counts.has_nan || is_nan;
}

// Sums of counts of disjoint parts (lanes of a warp each holding some elements' pairs).
RESCAN_HOST_DEVICE inline void merge_kendall_counts(kendall_counts& into, const kendall_counts& part) {
  into.n += part.n;
  into.concordant += part.concordant;
  into.discordant += part.discordant;
  into.ties_x += part.ties_x;
  into.ties_y += part.ties_y;
  into.ties_xy += part.ties_xy;
  into.distinct_x += part.distinct_x;
  into.distinct_y += part.distinct_y;
  into.tie_triples_x += part.tie_triples_x;
  into.tie_triples_y += part.tie_triples_y;
  into.has_nan = into.has_nan || part.has_nan;
}

// The counts of n pairs (x(i), y(i)) by the definition: every pair once, O(n^2).
template <class X, class Y>
RESCAN_HOST_DEVICE kendall_counts count_kendall_pairs(index_t n, const X& x, const Y& y) {
  kendall_counts counts;
  for (index_t i = 0; i < n; ++i) {
    const double xi = double(x(i)), yi = double(y(i));
    const std::int64_t ties_x = counts.ties_x, ties_y = counts.ties_y;
    for (index_t j = 0; j < i; ++j) add_kendall_pair(counts, double(x(j)), double(y(j)), xi, yi);
    add_kendall_element(counts, counts.ties_x - ties_x, counts.ties_y - ties_y, xi != xi || yi != yi);
  }
  return counts;
}

// P - Q, and the number of pairs n(n-1)/2.
RESCAN_HOST_DEVICE inline std::int64_t total_pairs(std::int64_t n) { return n * (n - 1) / 2; }

// Tau from what it depends on: n, P - Q, the pairs tied in x and in y, the distinct values (tau-c).
// NaN when a value is NaN, n < 2, or every pair is tied in x or in y (scipy's edge cases; tau-a
// follows tau-b there instead of reporting 0). Clipped to [-1, 1] as scipy does.
RESCAN_HOST_DEVICE inline double kendall_tau_from(std::int64_t n, std::int64_t difference, std::int64_t ties_x,
                                                  std::int64_t ties_y, std::int64_t distinct_x, std::int64_t distinct_y,
                                                  bool has_nan, kendall_variant variant) {
  const std::int64_t pairs = total_pairs(n);
  if (has_nan || n < 2 || ties_x == pairs || ties_y == pairs) return std::numeric_limits<double>::quiet_NaN();
  double tau = 0;
  switch (variant) {
    case kendall_variant::a:
      tau = double(difference) / double(pairs);
      break;
    case kendall_variant::b:  // one square root of the product: symmetric in x and y to the last bit
      tau = double(difference) / sqrt(double(pairs - ties_x) * double(pairs - ties_y));
      break;
    default: {
      const double m = double(distinct_x < distinct_y ? distinct_x : distinct_y);
      tau = 2 * double(difference) / (double(n) * double(n) * (m - 1) / m);
    }
  }
  return tau < -1 ? -1 : (tau > 1 ? 1 : tau);
}

RESCAN_HOST_DEVICE inline double kendall_tau_of(const kendall_counts& counts, kendall_variant variant) {
  return kendall_tau_from(counts.n, counts.concordant - counts.discordant, counts.ties_x, counts.ties_y,
                          counts.distinct_x, counts.distinct_y, counts.has_nan, variant);
}

// P(at most c of the n(n-1)/2 pairs discordant) under independence without ties, and the
// probability of exactly c: the number of inversions of a uniformly random permutation. Built one
// element at a time: the j-th element adds 0 .. j-1 inversions with probability 1/j each.
struct kendall_tail {
  double cumulative = 0;
  double at_c = 0;
};
inline kendall_tail kendall_exact_tail(std::int64_t n, std::int64_t c) {
  std::vector<double> probability(static_cast<std::size_t>(c + 1), 0.0), prefix(static_cast<std::size_t>(c + 2));
  probability[0] = 1;
  for (std::int64_t j = 2; j <= n; ++j) {
    prefix[0] = 0;
    for (std::int64_t k = 0; k <= c; ++k) prefix[k + 1] = prefix[k] + probability[k];
    for (std::int64_t k = 0; k <= c; ++k) probability[k] = (prefix[k + 1] - prefix[std::max<std::int64_t>(0, k + 1 - j)]) / double(j);
  }
  kendall_tail tail;
  for (std::int64_t k = 0; k <= c; ++k) tail.cumulative += probability[k];
  tail.at_c = probability[c];
  return tail;
}

// The exact p-value with `concordant` of n(n-1)/2 pairs concordant (no ties). The null
// distribution is symmetric, so the smaller tail is computed; the opposite one-sided p-value is its
// complement plus the probability of the observed value.
inline double kendall_exact_pvalue(std::int64_t n, std::int64_t concordant, alternative_hypothesis alternative) {
  const std::int64_t pairs = total_pairs(n);
  const bool right_tail = concordant >= pairs - concordant;
  const std::int64_t c = std::min(concordant, pairs - concordant);
  if (alternative == alternative_hypothesis::two_sided && 2 * c == pairs) return 1.0;
  const kendall_tail tail = kendall_exact_tail(n, c);
  double p = 0;
  if (alternative == alternative_hypothesis::two_sided) {
    p = 2 * tail.cumulative;
  } else if (right_tail == (alternative == alternative_hypothesis::greater)) {
    p = tail.cumulative;
  } else {
    p = 1 - tail.cumulative + tail.at_c;
  }
  return std::clamp(p, 0.0, 1.0);
}

// The normal approximation: z = (P - Q) / sqrt(var), var with the tie corrections
//   var = (v0 - vx - vy) / 18 + 2 n1 n2 / (n(n-1)) + tx ty / (9 n(n-1)(n-2)),
//   v0 = n(n-1)(2n+5), vx = sum over tie groups t(t-1)(2t+5), tx = sum t(t-1)(t-2) (likewise y).
inline double kendall_asymptotic_pvalue(const kendall_counts& counts, alternative_hypothesis alternative) {
  const double n = double(counts.n);
  const double m = n * (n - 1);
  const double pairs_x = double(counts.ties_x), pairs_y = double(counts.ties_y);
  // t(t-1)(t-2) = 6 C(t,3); t(t-1)(2t+5) = 2 t(t-1)(t-2) + 9 t(t-1) = 12 C(t,3) + 18 C(t,2).
  const double x0 = 6 * counts.tie_triples_x, y0 = 6 * counts.tie_triples_y;
  const double x1 = 12 * counts.tie_triples_x + 18 * pairs_x, y1 = 12 * counts.tie_triples_y + 18 * pairs_y;
  double variance = (m * (2 * n + 5) - x1 - y1) / 18 + 2 * pairs_x * pairs_y / m;
  if (counts.n > 2) variance += x0 * y0 / (9 * m * (n - 2));
  const double z = double(counts.concordant - counts.discordant) / std::sqrt(variance);
  switch (alternative) {
    case alternative_hypothesis::two_sided: return std::erfc(std::fabs(z) / std::sqrt(2.0));
    case alternative_hypothesis::greater: return 0.5 * std::erfc(z / std::sqrt(2.0));
    default: return 0.5 * std::erfc(-z / std::sqrt(2.0));
  }
}

// The most steps (n * min(P, Q)) an exact p-value may take: a few seconds.
inline constexpr double kendall_exact_max_work = 2e9;

// tau and its p-value from the counts (NaN and NaN where tau is NaN).
inline kendall_tau_result kendall_result_of(const char* function, const kendall_counts& counts,
                                            const kendall_tau_options& options) {
  kendall_tau_result result;
  result.counts = counts;
  result.tau = kendall_tau_of(counts, options.variant);
  if (std::isnan(result.tau)) {
    result.pvalue = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  const bool ties = counts.ties_x != 0 || counts.ties_y != 0;
  if (options.method == kendall_pvalue_method::exact && ties) {
    raise<value_error>(function, ": options.method = exact but the data has ties (", counts.ties_x,
                       " pairs tied in x, ", counts.ties_y, " in y); use automatic or asymptotic");
  }
  const std::int64_t pairs = total_pairs(counts.n);
  if (options.method == kendall_pvalue_method::exact &&
      double(counts.n) * double(std::min(counts.concordant, counts.discordant) + 1) > kendall_exact_max_work) {
    raise<value_error>(function, ": options.method = exact but n = ", counts.n, " and min(P, Q) = ",
                       std::min(counts.concordant, counts.discordant),
                       ": the exact distribution would take n * min(P, Q) > 2e9 steps; use automatic or asymptotic");
  }
  const bool exact = options.method == kendall_pvalue_method::exact ||
                     (options.method == kendall_pvalue_method::automatic && !ties &&
                      (counts.n <= 33 || std::min(counts.discordant, pairs - counts.discordant) <= 1));
  result.pvalue = exact ? kendall_exact_pvalue(counts.n, counts.concordant, options.alternative)
                        : kendall_asymptotic_pvalue(counts, options.alternative);
  return result;
}

}  // namespace rescan::detail
