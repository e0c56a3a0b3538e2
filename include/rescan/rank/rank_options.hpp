// Choices and results shared by the ranking metrics (rankdata, kendall_tau, spearman_rho,
// top_order_agreement, consistency_rate). Names and meanings follow scipy.stats.
#pragma once

#include <cstdint>

#include "rescan/core/config.hpp"

namespace rescan {

// How tied values share ranks (scipy.stats.rankdata's `method`), ranks starting at 1:
//   average  the mean of the positions the ties occupy (1 2.5 2.5 4)
//   min      the lowest of them (1 2 2 4);  max  the highest (1 3 3 4)
//   dense    ranks of the distinct values, no gaps (1 2 2 3)
//   ordinal  every element its own rank, ties in order of position (1 2 3 4)
enum class rank_method { average, min, max, dense, ordinal };

// Which Kendall tau (P concordant pairs, Q discordant, n0 = n(n-1)/2 pairs, n1 / n2 pairs tied in x / y):
//   a  (P - Q) / n0                               Kendall 1938; ignores ties
//   b  (P - Q) / sqrt((n0 - n1) (n0 - n2))         Kendall 1945; scipy's default
//   c  2 (P - Q) / (n^2 (m - 1) / m), m = min(distinct x values, distinct y values)   Stuart
enum class kendall_variant { a, b, c };

// The alternative hypothesis of a p-value (scipy's `alternative`): two_sided (tau != 0),
// less (tau < 0, negative association), greater (tau > 0).
enum class alternative_hypothesis { two_sided, less, greater };

// How kendall_tau computes its p-value (scipy's `method`):
//   automatic   exact when neither x nor y has ties and n <= 33 (or min(P, Q) <= 1), else asymptotic
//   exact       the exact null distribution of P (a value_error when x or y has ties)
//   asymptotic  the normal approximation with scipy's tie-corrected variance
enum class kendall_pvalue_method { automatic, exact, asymptotic };

struct kendall_tau_options {
  kendall_variant variant = kendall_variant::b;
  alternative_hypothesis alternative = alternative_hypothesis::two_sided;
  kendall_pvalue_method method = kendall_pvalue_method::automatic;
};

// The pair counts behind a Kendall tau, in 64 bits. Every one of the n(n-1)/2 pairs is counted once:
//   concordant + discordant + ties_x + ties_y - ties_xy = n(n-1)/2,
// ties_x counts the pairs tied in x (those also tied in y included), ties_y likewise, ties_xy the
// pairs tied in both. distinct_x / distinct_y count distinct values (tau-c uses them);
// tie_triples_x = sum over groups of tied x values of C(count, 3) (the variance of tau needs it;
// a double, since it passes 2^63 for tie groups of more than 2^22 elements).
struct kendall_counts {
  std::int64_t n = 0;
  std::int64_t concordant = 0;
  std::int64_t discordant = 0;
  std::int64_t ties_x = 0;
  std::int64_t ties_y = 0;
  std::int64_t ties_xy = 0;
  std::int64_t distinct_x = 0;
  std::int64_t distinct_y = 0;
  double tie_triples_x = 0;
  double tie_triples_y = 0;
  bool has_nan = false;  // x or y holds a NaN: every statistic is NaN (nan_policy 'propagate')
};

// What kendall_tau returns: tau (the statistic of options.variant), its p-value, and the counts.
struct kendall_tau_result {
  double tau = 0;
  double pvalue = 0;
  kendall_counts counts;
};

// What consistency_rate returns. mean = the mean of C_j = (tau_j + 1) / 2 over the groups whose tau
// is not NaN (CREAM's set-level "avg" consistency), NaN when there is none; groups_used + groups_skipped
// = the number of groups.
struct consistency_summary {
  double mean = 0;
  index_t groups_used = 0;
  index_t groups_skipped = 0;
};

}  // namespace rescan
