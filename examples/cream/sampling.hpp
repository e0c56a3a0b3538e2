// Next-token sampling from a language model's logits, as the CREAM example generates responses.
//
// Greedy decoding takes the argmax (the first index on ties). Otherwise the logits x are turned into
// probabilities at temperature T > 0,
//     q_i = exp((x_i − max_j x_j) / T) / Σ_k exp((x_k − max_j x_j) / T)
// (subtracting the maximum first keeps every exponent <= 0, so nothing overflows whatever the logits
// or T), then restricted to the nucleus of mass top_p ("top-p" or nucleus sampling): the smallest set
// of tokens, taken in order of decreasing probability, whose total probability reaches top_p. The
// kept probabilities are renormalized and one uniform draw u in [0, 1) picks the token whose
// cumulative interval holds u. T < 1 sharpens the distribution towards the argmax, T > 1 flattens it;
// top_p = 1 keeps every token of non-zero probability.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/nn/checks.hpp"
#include "common/nn/index.hpp"
#include "common/nn/random.hpp"

namespace rescan_examples {

struct sampling_options {
  double temperature = 1.0;  // > 0 and finite; ignored when greedy (but still checked)
  double top_p = 1.0;        // in (0, 1]; ignored when greedy (but still checked)
  bool greedy = false;       // argmax, first index on ties; draws nothing from the generator
};

// Throws value_error "function: temperature = 0 but it must be > 0 and finite" (or the same for
// top_p and (0, 1]). Both fields are checked even when greedy: a value out of range is a mistake in
// the configuration whether or not this call uses it.
inline void check_sampling_options(const std::string& function, const sampling_options& options) {
  if (!(options.temperature > 0 && std::isfinite(options.temperature))) {
    detail::fail(function, ": temperature = ", options.temperature, " but it must be > 0 and finite");
  }
  if (!(options.top_p > 0 && options.top_p <= 1)) {
    detail::fail(function, ": top_p = ", options.top_p, " but it must be in (0, 1]");
  }
}

// The running mass of the nucleus may fall short of p by this fraction of p and still count as
// reaching it. Summing probabilities in floating point loses a few units in the last place, so a set
// whose mass is exactly p in exact arithmetic (0.7 + 0.2 = 0.8999999999999999 in double, against
// p = 0.9) would otherwise be extended by one more token. The price: a token carrying less than
// about 1e-9 of the mass can be left out at p < 1 (p = 1 keeps every token of non-zero probability).
inline constexpr double top_p_relative_tolerance = 1e-9;

// probabilities: (count), finite, >= 0, not all zero; p in (0, 1]. Returns the ids of the nucleus:
// the smallest set of tokens, in order of decreasing probability (ties: lower index first), whose
// total probability reaches p (within top_p_relative_tolerance). A zero-probability token is never
// kept, not even at p = 1. The probabilities should sum to about 1; p is taken as a fraction of
// their actual sum, so a sum off by rounding (or unnormalized weights) gives the same nucleus.
inline std::vector<std::int32_t> top_p_support(const double* probabilities, index_t count, double p) {
  constexpr const char* function = "top_p_support";
  detail::check_at_least(function, "count", count, 1);
  if (count > std::numeric_limits<std::int32_t>::max()) {
    detail::fail(function, ": count = ", count, " but it must be <= ", std::numeric_limits<std::int32_t>::max());
  }
  detail::check_given(function, "probabilities", probabilities);
  if (!(p > 0 && p <= 1)) detail::fail(function, ": p = ", p, " but it must be in (0, 1]");
  double total = 0;
  for (index_t i = 0; i < count; ++i) {
    if (!(probabilities[i] >= 0 && std::isfinite(probabilities[i]))) {
      detail::fail(function, ": probabilities[", i, "] = ", probabilities[i], " but it must be finite and >= 0");
    }
    total += probabilities[i];
  }
  if (!(total > 0)) detail::fail(function, ": every one of the ", count, " probabilities is 0");

  std::vector<std::int32_t> order(static_cast<std::size_t>(count));
  for (index_t i = 0; i < count; ++i) order[std::size_t(i)] = std::int32_t(i);
  std::sort(order.begin(), order.end(), [probabilities](std::int32_t a, std::int32_t b) {
    return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
  });

  const double threshold = p * total * (1 - top_p_relative_tolerance);
  std::vector<std::int32_t> kept;
  double mass = 0;
  for (const std::int32_t id : order) {
    if (probabilities[id] == 0) break;  // only zeros remain
    kept.push_back(id);
    mass += probabilities[id];
    if (p < 1 && mass >= threshold) break;
  }
  return kept;
}

namespace detail {

// ids: the candidates in the order their intervals are laid out; weights[id] >= 0, with a positive
// sum over ids. Returns the id whose interval of [0, Σ weights) holds u · Σ weights, u in [0, 1);
// a zero-weight id has an empty interval and is never returned.
inline std::int32_t pick_by_cumulative_weight(const std::vector<double>& weights, const std::vector<std::int32_t>& ids,
                                              double u) {
  double total = 0;
  for (const std::int32_t id : ids) total += weights[std::size_t(id)];
  const double target = u * total;
  double cumulative = 0;
  std::int32_t last_positive = -1;
  for (const std::int32_t id : ids) {
    const double weight = weights[std::size_t(id)];
    if (weight == 0) continue;
    last_positive = id;
    cumulative += weight;
    if (target < cumulative) return id;
  }
  return last_positive;  // a guard only: u < 1 makes u · total round below total, the last cumulative sum
}

}  // namespace detail

// logits: (vocabulary), finite; vocabulary >= 1. Greedy: the argmax (first index on ties), with no
// draw. Otherwise softmax(logits / temperature) in double, restricted to
// top_p_support(.., options.top_p) and renormalized, then exactly one random.uniform(): the result is
// a function of the logits, the options and the generator's state. The kept tokens' intervals are
// laid out in the nucleus' order (at top_p = 1: index order, sparing the sort). Returns the token id.
template <class T>
std::int32_t sample_token(const T* logits, index_t vocabulary, const sampling_options& options,
                          random_generator& random) {
  constexpr const char* function = "sample_token";
  detail::check_at_least(function, "vocabulary", vocabulary, 1);
  if (vocabulary > std::numeric_limits<std::int32_t>::max()) {
    detail::fail(function, ": vocabulary = ", vocabulary, " but it must be <= ",
                 std::numeric_limits<std::int32_t>::max());
  }
  detail::check_given(function, "logits", logits);
  check_sampling_options(function, options);
  index_t argmax = 0;
  for (index_t i = 0; i < vocabulary; ++i) {
    if (!std::isfinite(double(logits[i]))) {
      detail::fail(function, ": logits[", i, "] = ", double(logits[i]), " but it must be finite");
    }
    if (double(logits[i]) > double(logits[argmax])) argmax = i;
  }
  if (options.greedy) return std::int32_t(argmax);

  // Unnormalized softmax weights exp((x_i − max) / T): the largest is exactly 1, none overflows.
  const double maximum = double(logits[argmax]);
  std::vector<double> weights(static_cast<std::size_t>(vocabulary));
  double total = 0;
  for (index_t i = 0; i < vocabulary; ++i) {
    weights[std::size_t(i)] = std::exp((double(logits[i]) - maximum) / options.temperature);
    total += weights[std::size_t(i)];
  }
  for (double& weight : weights) weight /= total;

  std::vector<std::int32_t> candidates;
  if (options.top_p < 1) {
    candidates = top_p_support(weights.data(), vocabulary, options.top_p);
  } else {  // the whole vocabulary, in index order: no sort needed
    candidates.resize(static_cast<std::size_t>(vocabulary));
    for (index_t i = 0; i < vocabulary; ++i) candidates[std::size_t(i)] = std::int32_t(i);
  }
  return detail::pick_by_cumulative_weight(weights, candidates, random.uniform());
}

}  // namespace rescan_examples
