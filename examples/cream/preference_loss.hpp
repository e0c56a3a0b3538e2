// CREAM's consistency-regularized DPO loss on one preference pair (x, y+, y−), and its derivative.
//
// The implicit reward margin of the policy π_θ against the frozen reference π_ref is
//     h = [log π_θ(y+|x) − log π_ref(y+|x)] − [log π_θ(y−|x) − log π_ref(y−|x)]
// (each log-probability summed over the response's tokens). With C in [0, 1] the consistency of the
// two reward rankings the pair came from (C = 1: they agree, the label is trusted fully), β > 0
// (default 0.1):
//     loss(h) = C · (−log σ(βh)) + (1 − C) · (−log σ(−βh)),      dloss/dh = β (σ(βh) − C).
// It is the cross-entropy of σ(βh) against the soft label C, so with C = 1 it is DPO's −log σ(βh),
// and for 0 < C < 1 its minimum is at βh = logit(C) = log(C / (1 − C)), where it equals the binary
// entropy −C log C − (1 − C) log(1 − C). Swapping chosen and rejected (h → −h, C → 1 − C) leaves it
// unchanged. Evaluated as −log σ(z) = softplus(−z) with a softplus that never exponentiates a
// positive number, so the loss is finite whenever βh is (|βh| = 1e4 included).
#pragma once

#include <cmath>

#include "common/nn/checks.hpp"
#include "common/nn/index.hpp"

namespace rescan_examples {

// CREAM's (and DPO's usual) β.
inline constexpr double default_preference_beta = 0.1;

struct preference_loss_value {
  double loss, dloss_dh;
};

namespace detail {

// log(1 + e^x) for any finite x: x + log1p(e^−x) above 0, log1p(e^x) below.
inline double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// 1 / (1 + e^−x), exponentiating only non-positive numbers.
inline double sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}

// beta > 0 and finite.
inline void check_beta(const char* function, double beta) {
  if (!(beta > 0 && std::isfinite(beta))) fail(function, ": beta = ", beta, " but it must be > 0 and finite");
}

// The loss and its derivative, arguments already checked. A term whose weight is 0 is skipped rather
// than multiplied, so that βh overflowing to ±inf (h and β both huge) gives inf, never 0 · inf = NaN.
inline preference_loss_value consistency_dpo_unchecked(double h, double consistency, double beta) {
  const double z = beta * h;
  const double chosen_term = consistency > 0 ? consistency * softplus(-z) : 0.0;
  const double rejected_term = consistency < 1 ? (1 - consistency) * softplus(z) : 0.0;
  return {chosen_term + rejected_term, beta * (sigmoid(z) - consistency)};
}

}  // namespace detail

// One pair: h finite, consistency in [0, 1], beta > 0 finite. Returns loss(h) and dloss/dh.
inline preference_loss_value consistency_dpo_loss(double h, double consistency, double beta) {
  constexpr const char* function = "consistency_dpo_loss";
  if (!std::isfinite(h)) detail::fail(function, ": h = ", h, " but it must be finite");
  detail::check_in_range(function, "consistency", consistency, 0.0, 1.0);
  detail::check_beta(function, beta);
  return detail::consistency_dpo_unchecked(h, consistency, beta);
}

// h, consistency: (count), count >= 1, each as in the one-pair form. Returns the mean loss over the
// pairs; dloss_dh: (count), written with the gradient of that mean, β (σ(βh_i) − C_i) / count;
// nullptr skips it.
inline double consistency_dpo_loss(const double* h, const double* consistency, index_t count, double beta,
                                   double* dloss_dh) {
  constexpr const char* function = "consistency_dpo_loss";
  detail::check_at_least(function, "count", count, 1);
  detail::check_given(function, "h", h);
  detail::check_given(function, "consistency", consistency);
  detail::check_beta(function, beta);
  for (index_t i = 0; i < count; ++i) {
    if (!std::isfinite(h[i])) detail::fail(function, ": h[", i, "] = ", h[i], " but it must be finite");
    if (!(consistency[i] >= 0 && consistency[i] <= 1)) {
      detail::fail(function, ": consistency[", i, "] = ", consistency[i], " but it must be in [0, 1]");
    }
  }
  double total = 0;
  for (index_t i = 0; i < count; ++i) {
    const preference_loss_value pair = detail::consistency_dpo_unchecked(h[i], consistency[i], beta);
    total += pair.loss;
    if (dloss_dh != nullptr) dloss_dh[i] = pair.dloss_dh / double(count);
  }
  return total / double(count);
}

// The implicit reward margin h from the four summed log-probabilities:
// (policy_chosen − reference_chosen) − (policy_rejected − reference_rejected).
inline double preference_margin(double policy_chosen, double reference_chosen, double policy_rejected,
                                double reference_rejected) {
  return (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected);
}

}  // namespace rescan_examples
