// Next-token sampling: top_p_support on hand-worked distributions and against a brute-force search
// over every subset; sample_token's greedy choice, its empirical frequencies against softmax
// computed by plain loops (per-token standard errors and a chi-square statistic), the nucleus cut,
// temperature, determinism and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/nn/test/nn_test_support.hpp"
#include "cream/sampling.hpp"

namespace rescan_examples::testing {
namespace {

using ids = std::vector<std::int32_t>;

// softmax(logits / temperature) by plain loops, without subtracting the maximum (the logits used
// with it are small).
std::vector<double> plain_softmax(const std::vector<double>& logits, double temperature) {
  std::vector<double> result(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    result[i] = std::exp(logits[i] / temperature);
    sum += result[i];
  }
  for (double& value : result) value /= sum;
  return result;
}

// How often each token comes out of draws calls of sample_token.
template <class T>
std::vector<index_t> count_draws(const std::vector<T>& logits, const sampling_options& options, std::uint64_t seed,
                                 index_t draws) {
  random_generator random(seed);
  std::vector<index_t> counts(logits.size(), 0);
  index_t out_of_range = 0;
  for (index_t d = 0; d < draws; ++d) {
    const std::int32_t token = sample_token(logits.data(), index_t(logits.size()), options, random);
    if (token >= 0 && std::size_t(token) < logits.size()) {
      ++counts[std::size_t(token)];
    } else {
      ++out_of_range;
    }
  }
  CHECK(out_of_range == 0);
  return counts;
}

// counts of draws draws against the probabilities expected: a token of probability 0 never comes
// out; every other token's frequency is within 5 standard errors sqrt(q (1 − q) / draws) of q; and
// Pearson's statistic Σ (count − draws q)² / (draws q) is below df + 6 sqrt(2 df) (its mean is df,
// its variance 2 df, df = tokens of non-zero probability − 1).
void check_frequencies(const std::vector<index_t>& counts, const std::vector<double>& expected, index_t draws) {
  REQUIRE(counts.size() == expected.size());
  double chi_square = 0;
  index_t categories = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    CAPTURE(i);
    const double q = expected[i];
    if (q == 0) {
      CHECK(counts[i] == 0);
      continue;
    }
    ++categories;
    const double frequency = double(counts[i]) / double(draws);
    CHECK(std::abs(frequency - q) <= 5 * std::sqrt(q * (1 - q) / double(draws)));
    const double expected_count = q * double(draws);
    chi_square += (double(counts[i]) - expected_count) * (double(counts[i]) - expected_count) / expected_count;
  }
  const double df = double(categories - 1);
  INFO("chi-square " << chi_square << " with " << df << " degrees of freedom");
  CHECK(chi_square <= df + 6 * std::sqrt(2 * df));
}

// The nucleus by exhaustive search, on integer weights (so every mass is exact): among all subsets
// whose weight reaches threshold, those of the fewest tokens; among them the heaviest; among those
// the lexicographically smallest list of ids. Returned in order of decreasing weight, ids ascending
// on ties.
template <class ReachesThreshold>
ids brute_force_nucleus(const std::vector<int>& weights, ReachesThreshold reaches) {
  const int n = int(weights.size());
  ids best;
  int best_weight = -1;
  bool found = false;
  for (unsigned mask = 1; mask < (1u << n); ++mask) {
    ids members;
    int weight = 0;
    for (int i = 0; i < n; ++i) {
      if (mask & (1u << i)) {
        members.push_back(i);
        weight += weights[std::size_t(i)];
      }
    }
    if (!reaches(weight)) continue;
    const bool better = !found || members.size() < best.size() ||
                        (members.size() == best.size() &&
                         (weight > best_weight || (weight == best_weight && members < best)));
    if (better) {
      best = members;
      best_weight = weight;
      found = true;
    }
  }
  // Decreasing weight, ascending id on ties: an insertion sort, independent of the code under test.
  for (std::size_t i = 1; i < best.size(); ++i) {
    for (std::size_t j = i; j > 0; --j) {
      const int a = best[j - 1], b = best[j];
      if (weights[std::size_t(b)] > weights[std::size_t(a)]) std::swap(best[j - 1], best[j]);
    }
  }
  return best;
}

}  // namespace

TEST_CASE("top_p_support: {0.5, 0.3, 0.2} by hand, a mass of exactly p is not extended") {
  const std::vector<double> probabilities = {0.5, 0.3, 0.2};
  CHECK(top_p_support(probabilities.data(), 3, 0.3) == ids{0});
  CHECK(top_p_support(probabilities.data(), 3, 0.5) == ids{0});
  CHECK(top_p_support(probabilities.data(), 3, 0.6) == ids{0, 1});
  CHECK(top_p_support(probabilities.data(), 3, 0.8) == ids{0, 1});  // 0.5 + 0.3 is exactly 0.8
  CHECK(top_p_support(probabilities.data(), 3, 0.81) == ids{0, 1, 2});
  CHECK(top_p_support(probabilities.data(), 3, 1.0) == ids{0, 1, 2});

  // 0.7 + 0.2 falls one rounding short of 0.9 in double; the tolerance still stops at two tokens.
  const std::vector<double> rounding = {0.1, 0.2, 0.7};
  CHECK(0.7 + 0.2 < 0.9);
  CHECK(top_p_support(rounding.data(), 3, 0.9) == ids{2, 1});
  CHECK(top_p_support(rounding.data(), 3, 0.9 + 1e-6) == ids{2, 1, 0});
}

TEST_CASE("top_p_support: ties by index, zero probabilities never kept, unnormalized weights") {
  const std::vector<double> uniform = {0.25, 0.25, 0.25, 0.25};
  CHECK(top_p_support(uniform.data(), 4, 0.5) == ids{0, 1});
  CHECK(top_p_support(uniform.data(), 4, 0.6) == ids{0, 1, 2});
  const std::vector<double> tied_top = {0.2, 0.4, 0.4};
  CHECK(top_p_support(tied_top.data(), 3, 0.3) == ids{1});
  CHECK(top_p_support(tied_top.data(), 3, 0.5) == ids{1, 2});
  const std::vector<double> with_zeros = {0.0, 0.6, 0.0, 0.4, 0.0};
  CHECK(top_p_support(with_zeros.data(), 5, 1.0) == ids{1, 3});
  CHECK(top_p_support(with_zeros.data(), 5, 0.99) == ids{1, 3});
  const std::vector<double> one_hot = {0.0, 1.0, 0.0};
  CHECK(top_p_support(one_hot.data(), 3, 1.0) == ids{1});
  // A token of tiny but non-zero probability is kept at p = 1.
  const std::vector<double> tiny = {1.0 - 1e-15, 1e-15};
  CHECK(top_p_support(tiny.data(), 2, 1.0) == ids{0, 1});
  // p is a fraction of the actual total: weights 5, 3, 2 behave as 0.5, 0.3, 0.2.
  const std::vector<double> weights = {5.0, 3.0, 2.0};
  CHECK(top_p_support(weights.data(), 3, 0.8) == ids{0, 1});
  CHECK(top_p_support(weights.data(), 3, 0.85) == ids{0, 1, 2});
}

TEST_CASE("top_p_support: the smallest set reaching p, against every subset of small random distributions") {
  random_generator random(7);
  for (int trial = 0; trial < 400; ++trial) {
    const index_t count = 1 + random.below(7);
    std::vector<int> weights(static_cast<std::size_t>(count));  // small integers: ties and zeros are common
    int total = 0;
    while (total == 0) {
      total = 0;
      for (int& w : weights) {
        w = int(random.below(5));
        total += w;
      }
    }
    std::vector<double> probabilities(weights.size());
    for (std::size_t i = 0; i < weights.size(); ++i) probabilities[i] = double(weights[i]) / double(total);
    CAPTURE(trial);
    CAPTURE(count);
    if (trial % 2 == 0) {  // p = k / total: some subset has exactly that mass
      const int k = 1 + int(random.below(total));
      CAPTURE(k);
      const double p = double(k) / double(total);
      const ids expected = brute_force_nucleus(weights, [&](int weight) { return weight >= k; });
      CHECK(top_p_support(probabilities.data(), count, p) == expected);
    } else {  // p anywhere in (0, 1]
      const double p = 1.0 - random.uniform();
      CAPTURE(p);
      const ids expected =
          brute_force_nucleus(weights, [&](int weight) { return double(weight) >= p * double(total); });
      CHECK(top_p_support(probabilities.data(), count, p) == expected);
    }
  }
}

TEST_CASE("top_p_support: bad probabilities, p and count throw naming the argument") {
  const std::vector<double> good = {0.5, 0.5};
  NN_CHECK_THROWS_MENTIONING(top_p_support(good.data(), 2, 0.0), rescan::value_error, "top_p_support", "p = 0",
                             "(0, 1]");
  NN_CHECK_THROWS_MENTIONING(top_p_support(good.data(), 2, 1.5), rescan::value_error, "p = 1.5");
  NN_CHECK_THROWS_MENTIONING(top_p_support(good.data(), 2, std::nan("")), rescan::value_error, "p = ");
  NN_CHECK_THROWS_MENTIONING(top_p_support(good.data(), 0, 0.5), rescan::value_error, "count = 0");
  NN_CHECK_THROWS_MENTIONING(top_p_support(nullptr, 2, 0.5), rescan::value_error, "probabilities is nullptr");
  const std::vector<double> negative = {0.5, -0.1, 0.6};
  NN_CHECK_THROWS_MENTIONING(top_p_support(negative.data(), 3, 0.5), rescan::value_error, "probabilities[1] = -0.1",
                             ">= 0");
  const std::vector<double> not_finite = {0.5, 0.5, INFINITY};
  NN_CHECK_THROWS_MENTIONING(top_p_support(not_finite.data(), 3, 0.5), rescan::value_error, "probabilities[2] = inf",
                             "finite");
  const std::vector<double> zeros = {0.0, 0.0};
  NN_CHECK_THROWS_MENTIONING(top_p_support(zeros.data(), 2, 0.5), rescan::value_error, "every one of the 2");
}

TEST_CASE("sample_token: greedy is the argmax, first on ties, and draws nothing") {
  sampling_options greedy;
  greedy.greedy = true;
  random_generator random(3);
  const random_generator untouched = random;
  const std::vector<double> tie = {0.5, 2.0, 2.0, -1.0};
  CHECK(sample_token(tie.data(), 4, greedy, random) == 1);
  const std::vector<float> floats = {-3.0f, -1.0f, -2.0f, -1.5f};
  CHECK(sample_token(floats.data(), 4, greedy, random) == 1);
  const std::vector<double> last = {-1e300, 0.0, 1e300};
  CHECK(sample_token(last.data(), 3, greedy, random) == 2);
  const std::vector<double> single = {4.0};
  CHECK(sample_token(single.data(), 1, greedy, random) == 0);
  random_generator copy = untouched;
  CHECK(random.next() == copy.next());
}

TEST_CASE("sample_token: frequencies match softmax(logits / T) restricted to the nucleus and renormalized") {
  // Softmax at T = 1 of these logits: 0.1256, 0.0280, 0.5630, 0.0762, 0.2071 (tokens 2, 4, 0, 3, 1
  // in decreasing order); at T = 0.5: 0.0413, 0.0021, 0.8293, 0.0152, 0.1122.
  const std::vector<double> logits = {0.5, -1.0, 2.0, 0.0, 1.0};
  struct config {
    double temperature, top_p;
    std::vector<bool> kept;
  };
  const std::vector<config> configs = {
      {1.0, 1.0, {true, true, true, true, true}},
      {2.0, 1.0, {true, true, true, true, true}},
      {1.0, 0.8, {true, false, true, false, true}},    // 0.563 + 0.207 = 0.770 < 0.8 <= 0.896
      {0.5, 0.9, {false, false, true, false, true}},   // 0.829 < 0.9 <= 0.941
      {1.0, 0.5, {false, false, true, false, false}},  // 0.5 <= 0.563
  };
  const index_t draws = 200000;
  std::uint64_t seed = 100;
  for (const config& c : configs) {
    CAPTURE(c.temperature);
    CAPTURE(c.top_p);
    sampling_options options;
    options.temperature = c.temperature;
    options.top_p = c.top_p;
    const std::vector<double> softmax = plain_softmax(logits, c.temperature);
    std::vector<double> expected(logits.size(), 0.0);
    double kept_mass = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) kept_mass += c.kept[i] ? softmax[i] : 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i) expected[i] = c.kept[i] ? softmax[i] / kept_mass : 0.0;
    check_frequencies(count_draws(logits, options, seed++, draws), expected, draws);
  }
}

TEST_CASE("sample_token: low temperature concentrates on the argmax, ties share it; huge logits stay stable") {
  const std::vector<double> logits = {1.0, 1.5, 0.8};
  sampling_options options;
  const index_t draws = 20000;
  const std::vector<index_t> warm = count_draws(logits, options, 11, draws);
  CHECK(double(warm[1]) / double(draws) < 0.6);  // 0.475 at T = 1
  options.temperature = 0.05;                    // argmax probability 1 / (1 + e^−10 + e^−14) = 0.99995
  const std::vector<index_t> cold = count_draws(logits, options, 12, draws);
  CHECK(double(cold[1]) / double(draws) > 0.999);
  CHECK(cold[0] + cold[2] <= 10);

  // T = 1e-6: the gap of 2 becomes 2e6, the two tied maxima share everything.
  options.temperature = 1e-6;
  const std::vector<double> tied = {3.0, 3.0, 1.0};
  check_frequencies(count_draws(tied, options, 13, draws), {0.5, 0.5, 0.0}, draws);

  // exp(1001) overflows a double: only a softmax that subtracts the maximum gets σ(±1).
  options.temperature = 1.0;
  const double sigma_1 = 1 / (1 + std::exp(-1.0));
  const std::vector<double> huge = {1000.0, 1001.0, -1000.0};
  check_frequencies(count_draws(huge, options, 14, draws), {1 - sigma_1, sigma_1, 0.0}, draws);
  const std::vector<float> huge_float = {1000.0f, 999.0f};
  check_frequencies(count_draws(huge_float, options, 15, draws), {sigma_1, 1 - sigma_1}, draws);
}

TEST_CASE("sample_token: the same seed gives the same tokens, one uniform draw per call") {
  const std::vector<float> logits = {0.1f, 0.4f, -0.3f, 0.2f, 0.0f, 0.3f};
  sampling_options options;
  options.temperature = 0.8;
  options.top_p = 0.9;
  random_generator first(42), second(42), other(43);
  bool any_difference = false;
  for (int step = 0; step < 500; ++step) {
    const std::int32_t a = sample_token(logits.data(), 6, options, first);
    CHECK(a == sample_token(logits.data(), 6, options, second));
    any_difference = any_difference || a != sample_token(logits.data(), 6, options, other);
  }
  CHECK(any_difference);
  random_generator reference(42);
  for (int step = 0; step < 500; ++step) reference.uniform();
  CHECK(reference.next() == first.next());
}

TEST_CASE("sample_token: non-finite logits and bad options throw with the function, argument and value") {
  random_generator random(1);
  const sampling_options defaults;
  const std::vector<double> nan_at_2 = {0.0, 1.0, std::nan(""), 2.0};
  NN_CHECK_THROWS_MENTIONING(sample_token(nan_at_2.data(), 4, defaults, random), rescan::value_error, "sample_token",
                             "logits[2] = ", "must be finite");
  sampling_options greedy;
  greedy.greedy = true;
  const std::vector<float> inf_at_1 = {0.0f, -INFINITY, 1.0f};
  NN_CHECK_THROWS_MENTIONING(sample_token(inf_at_1.data(), 3, greedy, random), rescan::value_error,
                             "logits[1] = -inf");
  const std::vector<double> good = {0.0, 1.0};
  NN_CHECK_THROWS_MENTIONING(sample_token(good.data(), 0, defaults, random), rescan::value_error, "vocabulary = 0");
  NN_CHECK_THROWS_MENTIONING(sample_token(static_cast<const double*>(nullptr), 2, defaults, random),
                             rescan::value_error, "logits is nullptr");
  for (const double temperature : {0.0, -1.0, double(INFINITY), std::nan("")}) {
    CAPTURE(temperature);
    sampling_options bad;
    bad.temperature = temperature;
    NN_CHECK_THROWS_MENTIONING(sample_token(good.data(), 2, bad, random), rescan::value_error, "sample_token",
                               "temperature = ", "> 0 and finite");
    bad.greedy = true;  // checked even when greedy ignores it
    NN_CHECK_THROWS_MENTIONING(sample_token(good.data(), 2, bad, random), rescan::value_error, "temperature = ");
  }
  for (const double top_p : {0.0, -0.5, 1.5, std::nan("")}) {
    CAPTURE(top_p);
    sampling_options bad;
    bad.top_p = top_p;
    NN_CHECK_THROWS_MENTIONING(sample_token(good.data(), 2, bad, random), rescan::value_error, "top_p = ",
                               "(0, 1]");
  }
  sampling_options bad;
  bad.temperature = -2;
  NN_CHECK_THROWS_MENTIONING(check_sampling_options("generate", bad), rescan::value_error,
                             "generate: temperature = -2");
  CHECK_NOTHROW(check_sampling_options("generate", defaults));
}

}  // namespace rescan_examples::testing
