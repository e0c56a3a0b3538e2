// The pieces of one self-rewarding iteration (SRLM, and CREAM on top of it; DESIGN.md §5):
//   sample N responses per prompt from M_t; reward r = Σ log π_t(y|x) − Σ log π_0(y|x);
//   rank each prompt's responses by M_t's reward and by M_{t−1}'s; Kendall tau-b of the two
//   rankings per prompt (ties as ties), C_j = (tau_j + 1) / 2;
//   pair the best and the worst response by M_t's reward (skipped when their rewards are equal);
//   train M_{t+1} from M_t with C · (−log σ(βh)) + (1 − C) · (−log σ(−βh)), reference M_t.
// Responses are kept group-major: response k of prompt j is sequences[j · N + k].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "generation.hpp"
#include "lm_training.hpp"
#include "tasks.hpp"

namespace rescan_examples {

// bos and the prompt's ids.
std::vector<std::int32_t> prompt_tokens(const char_tokenizer& tokenizer, const task_example& example);

// bos prompt answer eos, the response being answer eos.
lm_sequence answer_sequence(const char_tokenizer& tokenizer, const task_example& example, const std::string& answer);

// per_prompt responses to each prompt, sampled from model: (prompts.size() · per_prompt) sequences,
// group-major.
std::vector<lm_sequence> sample_response_groups(mamba_lm<float>& model, const char_tokenizer& tokenizer,
                                                const std::vector<task_example>& prompts, index_t per_prompt,
                                                const generation_options& options, std::uint64_t seed);

// Makes identical responses of a group share one score (the first one's): a batched forward pass may
// round the same sequence differently in different rows, and a ranking must not tell them apart.
void unify_identical_responses(const std::vector<lm_sequence>& sequences, index_t per_prompt,
                               std::vector<double>& scores);

// How far two scorings of the same groups agree, per group and in summary: tau = Kendall tau-b of
// the two scores (ties count as ties: identical responses, frequent for a small model, are one
// response ranked twice), C = (tau + 1) / 2; spearman = Spearman's rho; best / worst = whether both
// put the same response on top (at the bottom; first index on ties). A group whose responses all
// score the same under either model has no ranking: its tau and C are NaN and the summaries skip it
// (groups_ranked counts the others).
struct ranking_agreement {
  std::vector<double> tau, consistency;  // (groups)
  index_t groups_ranked = 0;
  double tau_mean = 0, tau_std = 0, consistency_mean = 0, spearman_mean = 0, best_agreement = 0, worst_agreement = 0;
};
ranking_agreement compare_rankings(const std::vector<double>& current, const std::vector<double>& previous,
                                   index_t per_prompt);

// How consistency weighs the pairs: srlm (C = 1: plain self-rewarding DPO), CREAM's set-level
// average C, or its per-prompt ("dynamic") C_j.
enum class consistency_mode { srlm, average, dynamic };
const char* consistency_mode_name(consistency_mode mode);

// The (best, worst) pair of each group by reward, the reference's summed log-probabilities, and the
// consistency weight; groups whose best and worst rewards are equal give no pair.
std::vector<preference_pair> make_preference_pairs(const std::vector<lm_sequence>& sequences, index_t per_prompt,
                                                   const std::vector<double>& rewards,
                                                   const std::vector<double>& reference_log_probs,
                                                   const ranking_agreement& agreement, consistency_mode mode);

}  // namespace rescan_examples
