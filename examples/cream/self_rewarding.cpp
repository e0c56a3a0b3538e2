#include "self_rewarding.hpp"

#include <algorithm>
#include <cmath>

#include <rescan/cpu/rank.hpp>
#include <rescan/rank/consistency_rate.hpp>
#include <rescan/rank/kendall_tau.hpp>
#include <rescan/rank/spearman_rho.hpp>
#include <rescan/rank/top_order_agreement.hpp>

namespace rescan_examples {

namespace {

void check_groups(const char* function, index_t count, index_t per_prompt) {
  detail::check_at_least(function, "per_prompt", per_prompt, 1);
  if (count % per_prompt != 0) {
    detail::fail(function, ": ", count, " responses do not split into groups of per_prompt = ", per_prompt);
  }
}

}  // namespace

std::vector<std::int32_t> prompt_tokens(const char_tokenizer& tokenizer, const task_example& example) {
  std::vector<std::int32_t> tokens{char_tokenizer::bos};
  const std::vector<std::int32_t> prompt = tokenizer.encode(example.prompt);
  tokens.insert(tokens.end(), prompt.begin(), prompt.end());
  return tokens;
}

lm_sequence answer_sequence(const char_tokenizer& tokenizer, const task_example& example, const std::string& answer) {
  lm_sequence sequence{prompt_tokens(tokenizer, example), 0};
  sequence.response_begin = sequence.size();
  const std::vector<std::int32_t> response = tokenizer.encode(answer);
  sequence.tokens.insert(sequence.tokens.end(), response.begin(), response.end());
  sequence.tokens.push_back(char_tokenizer::eos);
  return sequence;
}

std::vector<lm_sequence> sample_response_groups(mamba_lm<float>& model, const char_tokenizer& tokenizer,
                                                const std::vector<task_example>& prompts, index_t per_prompt,
                                                const generation_options& options, std::uint64_t seed) {
  detail::check_at_least("sample_response_groups", "per_prompt", per_prompt, 1);
  std::vector<std::vector<std::int32_t>> inputs;
  inputs.reserve(prompts.size() * std::size_t(per_prompt));
  for (const task_example& example : prompts) {
    const std::vector<std::int32_t> tokens = prompt_tokens(tokenizer, example);
    for (index_t k = 0; k < per_prompt; ++k) inputs.push_back(tokens);
  }
  const std::vector<generated_response> responses = generate_responses(model, inputs, options, seed);
  std::vector<lm_sequence> sequences(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    sequences[i].tokens = inputs[i];
    sequences[i].response_begin = index_t(inputs[i].size());
    sequences[i].tokens.insert(sequences[i].tokens.end(), responses[i].tokens.begin(), responses[i].tokens.end());
  }
  return sequences;
}

void unify_identical_responses(const std::vector<lm_sequence>& sequences, index_t per_prompt,
                               std::vector<double>& scores) {
  constexpr const char* function = "unify_identical_responses";
  check_groups(function, index_t(sequences.size()), per_prompt);
  if (scores.size() != sequences.size()) {
    detail::fail(function, ": ", scores.size(), " scores for ", sequences.size(), " responses");
  }
  for (std::size_t group = 0; group < sequences.size(); group += std::size_t(per_prompt)) {
    for (std::size_t k = 1; k < std::size_t(per_prompt); ++k) {
      for (std::size_t earlier = 0; earlier < k; ++earlier) {
        if (sequences[group + k].tokens == sequences[group + earlier].tokens) {
          scores[group + k] = scores[group + earlier];
          break;
        }
      }
    }
  }
}

ranking_agreement compare_rankings(const std::vector<double>& current, const std::vector<double>& previous,
                                   index_t per_prompt) {
  constexpr const char* function = "compare_rankings";
  check_groups(function, index_t(current.size()), per_prompt);
  if (previous.size() != current.size()) {
    detail::fail(function, ": current has ", current.size(), " scores but previous has ", previous.size());
  }
  const index_t groups = index_t(current.size()) / per_prompt, N = per_prompt;
  ranking_agreement result;
  result.tau.resize(static_cast<std::size_t>(groups));
  result.consistency.resize(static_cast<std::size_t>(groups));
  if (groups == 0) return result;
  const auto as_groups = [&](const std::vector<double>& values) { return rescan::make_view(values.data(), {groups, N}); };
  rescan::kendall_tau_batched(rescan::cpu, as_groups(current), as_groups(previous),
                              rescan::make_view(result.tau.data(), groups), rescan::kendall_variant::b);
  const rescan::consistency_summary summary = rescan::consistency_rate(
      rescan::cpu, rescan::make_view(static_cast<const double*>(result.tau.data()), groups),
      rescan::make_view(result.consistency.data(), groups));
  std::vector<double> rho(static_cast<std::size_t>(groups)), best(static_cast<std::size_t>(groups)),
      worst(static_cast<std::size_t>(groups));
  rescan::spearman_rho(rescan::cpu, as_groups(current), as_groups(previous), rescan::make_view(rho.data(), groups));
  rescan::top_order_agreement(rescan::cpu, as_groups(current), as_groups(previous),
                              rescan::make_view(best.data(), groups), rescan::make_view(worst.data(), groups));
  // Means over the ranked groups (finite tau), summed in group order.
  result.groups_ranked = summary.groups_used;
  result.consistency_mean = summary.mean;
  const auto ranked_mean = [&](const std::vector<double>& values) {
    double sum = 0;
    for (index_t g = 0; g < groups; ++g) {
      if (std::isfinite(result.tau[std::size_t(g)])) sum += values[std::size_t(g)];
    }
    return result.groups_ranked > 0 ? sum / double(result.groups_ranked) : std::nan("");
  };
  result.tau_mean = ranked_mean(result.tau);
  result.spearman_mean = ranked_mean(rho);
  result.best_agreement = ranked_mean(best);
  result.worst_agreement = ranked_mean(worst);
  std::vector<double> squares(static_cast<std::size_t>(groups));
  for (index_t g = 0; g < groups; ++g) {
    const double deviation = result.tau[std::size_t(g)] - result.tau_mean;
    squares[std::size_t(g)] = deviation * deviation;
  }
  result.tau_std = std::sqrt(ranked_mean(squares));
  return result;
}

const char* consistency_mode_name(consistency_mode mode) {
  switch (mode) {
    case consistency_mode::srlm: return "srlm";
    case consistency_mode::average: return "avg";
    case consistency_mode::dynamic: return "dyn";
  }
  return "?";
}

std::vector<preference_pair> make_preference_pairs(const std::vector<lm_sequence>& sequences, index_t per_prompt,
                                                   const std::vector<double>& rewards,
                                                   const std::vector<double>& reference_log_probs,
                                                   const ranking_agreement& agreement, consistency_mode mode) {
  constexpr const char* function = "make_preference_pairs";
  check_groups(function, index_t(sequences.size()), per_prompt);
  const index_t groups = index_t(sequences.size()) / per_prompt;
  if (rewards.size() != sequences.size() || reference_log_probs.size() != sequences.size()) {
    detail::fail(function, ": ", sequences.size(), " responses but ", rewards.size(), " rewards and ",
                 reference_log_probs.size(), " reference log-probabilities");
  }
  if (mode != consistency_mode::srlm && agreement.consistency.size() != std::size_t(groups)) {
    detail::fail(function, ": ", groups, " groups but ", agreement.consistency.size(), " consistency values");
  }
  std::vector<preference_pair> pairs;
  for (index_t group = 0; group < groups; ++group) {
    const auto first = rewards.begin() + group * per_prompt, last = first + per_prompt;
    const std::size_t best = std::size_t(std::max_element(first, last) - rewards.begin());
    const std::size_t worst = std::size_t(std::min_element(first, last) - rewards.begin());
    if (!(rewards[best] > rewards[worst])) continue;  // all equal (or NaN): no preference
    preference_pair pair;
    pair.chosen = sequences[best];
    pair.rejected = sequences[worst];
    pair.reference_chosen = reference_log_probs[best];
    pair.reference_rejected = reference_log_probs[worst];
    switch (mode) {
      case consistency_mode::srlm: pair.consistency = 1; break;
      case consistency_mode::average: pair.consistency = agreement.consistency_mean; break;
      case consistency_mode::dynamic: pair.consistency = agreement.consistency[std::size_t(group)]; break;
    }
    if (!std::isfinite(pair.consistency)) pair.consistency = 0.5;  // no ranking to trust either way
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

}  // namespace rescan_examples
