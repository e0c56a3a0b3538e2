// The pieces of a self-rewarding iteration, each against a plain reference:
//   compare_rankings against the library tests' pair-counting oracles (test/support/rank_reference.hpp)
//     for Kendall's tau-b, Spearman and top/bottom agreement, per group (ties are ties; a group
//     without a ranking is NaN and skipped); hand-worked values; C = (tau + 1) / 2;
//   unify_identical_responses: identical responses of a group share the first one's score;
//   make_preference_pairs: best and worst by reward, equal-reward groups skipped, the reference's
//     log-probabilities carried, the consistency weight of each mode;
//   prompt_tokens, answer_sequence and sample_response_groups: the ids worked out from the alphabet.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/nn/test/nn_test_support.hpp"
#include "cream/self_rewarding.hpp"
#include "support/rank_reference.hpp"

namespace rescan_examples::testing {
namespace {

using ids = std::vector<std::int32_t>;

constexpr std::int32_t bos = char_tokenizer::bos, eos = char_tokenizer::eos;

// compare_rankings of current and previous (groups · n, group-major) against the loops above. A group
// tied throughout in either scoring has no ranking: NaN tau and C, left out of every mean.
void check_against_oracle(const std::vector<double>& current, const std::vector<double>& previous, index_t n) {
  const ranking_agreement result = compare_rankings(current, previous, n);
  const index_t groups = index_t(current.size()) / n;
  REQUIRE(result.tau.size() == std::size_t(groups));
  REQUIRE(result.consistency.size() == std::size_t(groups));
  double tau_sum = 0, tau_squares = 0, rho_sum = 0, best_sum = 0, worst_sum = 0, ranked = 0;
  std::vector<double> taus;
  for (index_t g = 0; g < groups; ++g) {
    CAPTURE(g);
    const std::vector<double> x(current.begin() + g * n, current.begin() + (g + 1) * n);
    const std::vector<double> y(previous.begin() + g * n, previous.begin() + (g + 1) * n);
    const double tau = rescan::testing::reference_kendall(x, y, rescan::kendall_variant::b).tau;
    if (!std::isfinite(tau)) {
      CHECK(std::isnan(result.tau[std::size_t(g)]));
      CHECK(std::isnan(result.consistency[std::size_t(g)]));
      continue;
    }
    CHECK(result.tau[std::size_t(g)] == doctest::Approx(tau).epsilon(1e-12));
    CHECK(result.consistency[std::size_t(g)] == doctest::Approx((tau + 1) / 2).epsilon(1e-12));
    taus.push_back(tau);
    ranked += 1;
    tau_sum += tau;
    rho_sum += rescan::testing::reference_spearman(x, y);
    best_sum += rescan::testing::reference_top_order(x, y, true);
    worst_sum += rescan::testing::reference_top_order(x, y, false);
  }
  CHECK(result.groups_ranked == index_t(ranked));
  if (ranked == 0) {
    CHECK(std::isnan(result.tau_mean));
    CHECK(std::isnan(result.consistency_mean));
    return;
  }
  const double tau_mean = tau_sum / ranked;
  for (const double tau : taus) tau_squares += (tau - tau_mean) * (tau - tau_mean);
  CHECK(result.tau_mean == doctest::Approx(tau_mean).epsilon(1e-12));
  CHECK(result.tau_std == doctest::Approx(std::sqrt(tau_squares / ranked)).epsilon(1e-12));
  CHECK(result.consistency_mean == doctest::Approx((tau_mean + 1) / 2).epsilon(1e-12));
  CHECK(result.spearman_mean == doctest::Approx(rho_sum / ranked).epsilon(1e-12));
  CHECK(result.best_agreement == doctest::Approx(best_sum / ranked).epsilon(1e-12));
  CHECK(result.worst_agreement == doctest::Approx(worst_sum / ranked).epsilon(1e-12));
}

lm_sequence make_sequence(ids tokens, index_t response_begin) {
  lm_sequence sequence;
  sequence.tokens = std::move(tokens);
  sequence.response_begin = response_begin;
  return sequence;
}

}  // namespace

TEST_CASE("compare_rankings: hand-worked groups of 5") {
  // Group 0: the same order.  Group 1: one adjacent swap, 1 discordant pair of 10: tau = 0.8,
  // C = 0.9, rho = 1 − 6 · 2 / (5 · 24) = 0.9, same best, different worst.  Group 2: reversed.
  const std::vector<double> current = {0.1, 0.5, 0.2, 0.9, 0.3,  //
                                       1, 2, 3, 4, 5,            //
                                       -1, -2, -3, -4, -5};
  const std::vector<double> previous = {10, 50, 20, 90, 30,  //
                                        2, 1, 3, 4, 5,       //
                                        1, 2, 3, 4, 5};
  const ranking_agreement result = compare_rankings(current, previous, 5);
  REQUIRE(result.tau.size() == 3);
  CHECK(result.tau[0] == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(result.tau[1] == doctest::Approx(0.8).epsilon(1e-14));
  CHECK(result.tau[2] == doctest::Approx(-1.0).epsilon(1e-14));
  CHECK(result.consistency[0] == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(result.consistency[1] == doctest::Approx(0.9).epsilon(1e-14));
  CHECK(result.consistency[2] == doctest::Approx(0.0).scale(1).epsilon(1e-14));
  CHECK(result.tau_mean == doctest::Approx(0.8 / 3).epsilon(1e-14));
  CHECK(result.consistency_mean == doctest::Approx(1.9 / 3).epsilon(1e-14));
  CHECK(result.spearman_mean == doctest::Approx((1 + 0.9 - 1) / 3).epsilon(1e-14));
  CHECK(result.best_agreement == doctest::Approx(2.0 / 3).epsilon(1e-14));  // groups 0 and 1
  CHECK(result.worst_agreement == doctest::Approx(1.0 / 3).epsilon(1e-14));  // group 0 only
  // Population std of (1, 0.8, −1): mean 0.8/3.
  const double m = 0.8 / 3;
  const double tau_std = std::sqrt(((1 - m) * (1 - m) + (0.8 - m) * (0.8 - m) + (-1 - m) * (-1 - m)) / 3);
  CHECK(result.tau_std == doctest::Approx(tau_std).epsilon(1e-14));
  check_against_oracle(current, previous, 5);
}

TEST_CASE("compare_rankings: ties count as ties; a group without a ranking is NaN and left out of the means") {
  // All equal under either scoring: no ranking to compare.
  const ranking_agreement flat = compare_rankings({2, 2, 2, 2, 2, 1, 2, 3, 4, 5}, {7, 7, 7, 7, 7, 1, 2, 3, 4, 5}, 5);
  CHECK(std::isnan(flat.tau[0]));
  CHECK(std::isnan(flat.consistency[0]));
  CHECK(flat.tau[1] == doctest::Approx(1.0));
  CHECK(flat.groups_ranked == 1);
  CHECK(flat.tau_mean == doctest::Approx(1.0));  // the ranked group only
  CHECK(flat.consistency_mean == doctest::Approx(1.0));
  CHECK(flat.best_agreement == 1.0);
  CHECK(std::isnan(compare_rankings({2, 2, 2, 2, 2}, {5, 4, 3, 2, 1}, 5).tau_mean));
  // (3, 1, 3, 0, 1) against (1, 2, 3, 4, 5): 2 concordant, 6 discordant, 2 pairs tied in x:
  // tau-b = (2 − 6) / sqrt((10 − 2) · 10).
  const ranking_agreement ties = compare_rankings({3, 1, 3, 0, 1}, {1, 2, 3, 4, 5}, 5);
  CHECK(ties.tau[0] == doctest::Approx(-4 / std::sqrt(80.0)).epsilon(1e-14));
  check_against_oracle({3, 1, 3, 0, 1}, {1, 2, 3, 4, 5}, 5);
}

TEST_CASE("compare_rankings: random groups of 5 with many ties against the pair-counting oracle") {
  random_generator random(61);
  for (const index_t n : {5, 2, 7}) {
    CAPTURE(n);
    const index_t groups = 40;
    std::vector<double> current(std::size_t(groups * n)), previous(current.size());
    for (std::size_t i = 0; i < current.size(); ++i) {
      current[i] = double(random.below(4));  // values in {0, 1, 2, 3}: ties in most groups
      previous[i] = i % 3 == 0 ? current[i] : double(random.below(4));
    }
    check_against_oracle(current, previous, n);
    // Identical scores agree completely; negated distinct scores are reversed.
    const ranking_agreement same = compare_rankings(current, current, n);
    CHECK(same.tau_mean == doctest::Approx(1.0));
    CHECK(same.tau_std == doctest::Approx(0.0).scale(1));
    CHECK(same.consistency_mean == doctest::Approx(1.0));
    CHECK(same.spearman_mean == doctest::Approx(1.0));
    CHECK(same.best_agreement == 1.0);
    CHECK(same.worst_agreement == 1.0);
    std::vector<double> distinct(current.size()), negated(current.size());
    for (std::size_t i = 0; i < distinct.size(); ++i) {
      distinct[i] = random.uniform(-5, 5);
      negated[i] = -distinct[i];
    }
    const ranking_agreement reversed = compare_rankings(distinct, negated, n);
    for (const double tau : reversed.tau) CHECK(tau == doctest::Approx(-1.0));
    CHECK(reversed.consistency_mean == doctest::Approx(0.0).scale(1));
    CHECK(reversed.spearman_mean == doctest::Approx(-1.0));
    CHECK(reversed.best_agreement == 0.0);
    CHECK(reversed.worst_agreement == 0.0);
  }
}

TEST_CASE("compare_rankings: mismatched sizes and groups that do not divide throw; no groups give nothing") {
  NN_CHECK_THROWS_MENTIONING(compare_rankings({1, 2, 3, 4, 5}, {1, 2, 3, 4}, 5), rescan::value_error,
                             "compare_rankings", "previous has 4");
  NN_CHECK_THROWS_MENTIONING(compare_rankings({1, 2, 3, 4, 5, 6, 7}, {1, 2, 3, 4, 5, 6, 7}, 5), rescan::value_error,
                             "compare_rankings", "7 responses", "per_prompt = 5");
  NN_CHECK_THROWS_MENTIONING(compare_rankings({1, 2}, {1, 2}, 0), rescan::value_error, "per_prompt = 0");
  const ranking_agreement empty = compare_rankings({}, {}, 5);
  CHECK(empty.tau.empty());
  CHECK(empty.consistency.empty());
}

TEST_CASE("unify_identical_responses: identical responses of a group share the first one's score") {
  const ids a = {bos, 3, 4, 5, eos}, b = {bos, 3, 4, 6, eos}, c = {bos, 3, 4, 6};
  // Group 0: a b a c; group 1: b b a c (a repeats group 0's a: untouched across groups).
  const std::vector<lm_sequence> sequences = {make_sequence(a, 3), make_sequence(b, 3), make_sequence(a, 3),
                                              make_sequence(c, 3), make_sequence(b, 3), make_sequence(b, 3),
                                              make_sequence(a, 3), make_sequence(c, 3)};
  std::vector<double> scores = {1, 2, 3, 4, 5, 6, 7, 8};
  unify_identical_responses(sequences, 4, scores);
  CHECK(scores == std::vector<double>{1, 2, 1, 4, 5, 5, 7, 8});
  // One group of 8: a b a c b b a c.
  std::vector<double> one_group = {1, 2, 3, 4, 5, 6, 7, 8};
  unify_identical_responses(sequences, 8, one_group);
  CHECK(one_group == std::vector<double>{1, 2, 1, 4, 2, 2, 1, 4});
  // Groups of one: nothing to share.
  std::vector<double> singles = {1, 2, 3, 4, 5, 6, 7, 8};
  unify_identical_responses(sequences, 1, singles);
  CHECK(singles == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8});

  std::vector<double> short_scores = {1, 2, 3};
  NN_CHECK_THROWS_MENTIONING(unify_identical_responses(sequences, 4, short_scores), rescan::value_error,
                             "unify_identical_responses", "3 scores for 8 responses");
  NN_CHECK_THROWS_MENTIONING(unify_identical_responses(sequences, 3, scores), rescan::value_error,
                             "unify_identical_responses", "per_prompt = 3");
}

TEST_CASE("make_preference_pairs: best and worst by reward, equal groups skipped, consistency per mode") {
  const index_t per_prompt = 3;
  std::vector<lm_sequence> sequences;
  for (std::int32_t i = 0; i < 12; ++i) sequences.push_back(make_sequence({bos, 3, 3 + i % 5, 4 + i / 5, eos}, 2));
  const std::vector<double> rewards = {0.2, 0.9, -0.1,  // best 1, worst 2
                                       0.5, 0.5, 0.5,   // all equal: no pair
                                       1.0, 3.0, 3.0,   // best: the first of the tied 3.0 (7), worst 6
                                       -2, 4, -2};      // best 10, worst: the first of the tied −2 (9)
  std::vector<double> reference(12);
  for (std::size_t i = 0; i < reference.size(); ++i) reference[i] = -10.0 - double(i);
  ranking_agreement agreement;
  agreement.consistency = {0.1, 0.2, 0.7, std::numeric_limits<double>::quiet_NaN()};
  agreement.consistency_mean = 0.35;
  const std::vector<std::pair<std::size_t, std::size_t>> expected = {{1, 2}, {7, 6}, {10, 9}};
  const std::vector<std::size_t> groups = {0, 2, 3};
  for (const consistency_mode mode : {consistency_mode::srlm, consistency_mode::average, consistency_mode::dynamic}) {
    CAPTURE(consistency_mode_name(mode));
    const std::vector<preference_pair> pairs =
        make_preference_pairs(sequences, per_prompt, rewards, reference, agreement, mode);
    REQUIRE(pairs.size() == expected.size());
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      CAPTURE(p);
      const auto [chosen, rejected] = expected[p];
      CHECK(pairs[p].chosen.tokens == sequences[chosen].tokens);
      CHECK(pairs[p].chosen.response_begin == sequences[chosen].response_begin);
      CHECK(pairs[p].rejected.tokens == sequences[rejected].tokens);
      CHECK(pairs[p].reference_chosen == reference[chosen]);
      CHECK(pairs[p].reference_rejected == reference[rejected]);
      const double group_consistency = agreement.consistency[groups[p]];
      const double weight = mode == consistency_mode::srlm      ? 1.0
                            : mode == consistency_mode::average ? 0.35
                            : std::isnan(group_consistency)     ? 0.5  // no ranking to trust either way
                                                                : group_consistency;
      CHECK(pairs[p].consistency == weight);
    }
  }
  // An average that is NaN (no group had a tau) weighs every pair 0.5.
  agreement.consistency_mean = std::numeric_limits<double>::quiet_NaN();
  for (const preference_pair& pair :
       make_preference_pairs(sequences, per_prompt, rewards, reference, agreement, consistency_mode::average))
    CHECK(pair.consistency == 0.5);

  CHECK(std::string(consistency_mode_name(consistency_mode::srlm)) == "srlm");
  CHECK(std::string(consistency_mode_name(consistency_mode::average)) == "avg");
  CHECK(std::string(consistency_mode_name(consistency_mode::dynamic)) == "dyn");

  // srlm needs no agreement; the other modes need one C per group.
  CHECK(make_preference_pairs(sequences, per_prompt, rewards, reference, {}, consistency_mode::srlm).size() == 3);
  NN_CHECK_THROWS_MENTIONING(
      make_preference_pairs(sequences, per_prompt, rewards, reference, {}, consistency_mode::dynamic),
      rescan::value_error, "make_preference_pairs", "4 groups but 0 consistency values");
  const std::vector<double> short_rewards(11, 0.0);
  NN_CHECK_THROWS_MENTIONING(
      make_preference_pairs(sequences, per_prompt, short_rewards, reference, agreement, consistency_mode::srlm),
      rescan::value_error, "make_preference_pairs", "11 rewards");
  NN_CHECK_THROWS_MENTIONING(
      make_preference_pairs(sequences, 5, rewards, reference, agreement, consistency_mode::srlm),
      rescan::value_error, "per_prompt = 5");
}

TEST_CASE("prompt_tokens and answer_sequence: bos + prompt; the response is answer + eos") {
  const char_tokenizer tokenizer;
  // Ids: 3 + the place in " 0123456789abcdefghijklmnopqrstuvwxyz+-=:?": '0' 4, '1' 5, '2' 6, '3' 7,
  // '5' 9, '+' 40, '=' 42.
  const task_example example{task_kind::addition, "12+3=", "15"};
  CHECK(prompt_tokens(tokenizer, example) == ids{bos, 5, 6, 40, 7, 42});
  const lm_sequence right = answer_sequence(tokenizer, example, "15");
  CHECK(right.tokens == ids{bos, 5, 6, 40, 7, 42, 5, 9, eos});
  CHECK(right.response_begin == 6);
  CHECK(right.response_length() == 3);
  const lm_sequence wrong = answer_sequence(tokenizer, example, "105");
  CHECK(wrong.tokens == ids{bos, 5, 6, 40, 7, 42, 5, 4, 9, eos});
  CHECK(wrong.response_begin == 6);
  const lm_sequence empty = answer_sequence(tokenizer, example, "");
  CHECK(empty.tokens == ids{bos, 5, 6, 40, 7, 42, eos});
  CHECK(empty.response_begin == 6);
  // 'r' is place 28: id 31; ':' 43; 'a' 14, 'b' 15.
  const task_example reversal{task_kind::reversal, "r:ab=", "ba"};
  CHECK(answer_sequence(tokenizer, reversal, "ba").tokens == ids{bos, 31, 43, 14, 15, 42, 15, 14, eos});
  NN_CHECK_THROWS_MENTIONING(answer_sequence(tokenizer, example, "1.5"), rescan::value_error, "'.'");
}

TEST_CASE("sample_response_groups: group-major, each prompt's responses as generate_responses draws them") {
  const char_tokenizer tokenizer;
  lm_config config;
  config.vocabulary = tokenizer.vocabulary_size();
  config.d_model = 8, config.layers = 1, config.d_state = 4, config.d_conv = 3;
  mamba_lm<float> model(config);
  model.init(67);
  for (float& w : model.parameters().find("backbone.embedding.weight")->value) w *= 50.0f;
  const std::vector<task_example> prompts = {{task_kind::addition, "12+3=", "15"},
                                             {task_kind::counting, "c:a:abca=", "2"}};
  generation_options options;
  options.max_tokens = 5;
  const index_t per_prompt = 3;
  const std::vector<lm_sequence> sequences = sample_response_groups(model, tokenizer, prompts, per_prompt, options, 71);
  REQUIRE(sequences.size() == 6);
  std::vector<ids> inputs;
  for (const task_example& example : prompts) {
    for (index_t k = 0; k < per_prompt; ++k) inputs.push_back(prompt_tokens(tokenizer, example));
  }
  const std::vector<generated_response> responses = generate_responses(model, inputs, options, 71);
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    CAPTURE(i);
    const ids& prompt = inputs[i];
    CHECK(sequences[i].response_begin == index_t(prompt.size()));
    REQUIRE(sequences[i].size() == index_t(prompt.size() + responses[i].tokens.size()));
    CHECK(ids(sequences[i].tokens.begin(), sequences[i].tokens.begin() + std::ptrdiff_t(prompt.size())) == prompt);
    CHECK(ids(sequences[i].tokens.begin() + std::ptrdiff_t(prompt.size()), sequences[i].tokens.end()) ==
          responses[i].tokens);
  }
  CHECK(sequences[0].tokens != sequences[1].tokens);  // each draws its own sample
  NN_CHECK_THROWS_MENTIONING(sample_response_groups(model, tokenizer, prompts, 0, options, 71), rescan::value_error,
                             "sample_response_groups", "per_prompt = 0");
}

}  // namespace rescan_examples::testing
