// Training and scoring the language model on sequences (token_scores.hpp):
//   next-token training: loss = −mean over the scored tokens of log π(token | prefix); scored_span
//     all_tokens for "pretraining" (M0), response for SFT (M1: prompt and padding masked out);
//   response scores: Σ log π(response | prompt) per sequence (the reward's terms);
//   preference training: CREAM's consistency-regularized DPO (preference_loss.hpp) on pairs
//     (chosen, rejected) against a frozen reference's summed log-probabilities.
// AdamW, linear warm-up then cosine decay per step, gradient clipping; deterministic given the
// seed and the thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mamba_lm.hpp"
#include "token_scores.hpp"

namespace rescan_examples {

struct lm_train_options {
  index_t epochs = 1;
  index_t batch = 32;             // sequences (pairs for preference training) per step
  double learning_rate = 3e-3;    // peak
  double min_learning_rate = 1e-5;
  double warmup_fraction = 0.05;  // of all steps
  double weight_decay = 0.01;
  double clip_norm = 1.0;         // 0 = no clipping
  std::uint64_t seed = 0;         // the order of the examples in each epoch
  std::string phase = "train";    // progress bar label
  bool quiet = false;
};

struct lm_train_record {
  std::vector<double> step_losses;  // mean loss of every optimizer step
  double seconds = 0;
  index_t examples = 0;             // sequences (or pairs) seen, over all epochs
};

// Trains model in place on sequences, one optimizer step per batch.
lm_train_record train_next_token(mamba_lm<float>& model, const std::vector<lm_sequence>& sequences,
                                 scored_span span, const lm_train_options& options);

// Σ log π(token | prefix) over each sequence's response tokens: (sequences.size()).
std::vector<double> response_log_probs(mamba_lm<float>& model, const std::vector<lm_sequence>& sequences,
                                       index_t batch = 256);

// One preference pair: the responses to one prompt that the current model's reward ranked best and
// worst, the reference model's summed log-probabilities of each, and the consistency C in [0, 1]
// that weighs the pair (1 for SRLM, CREAM's C otherwise).
struct preference_pair {
  lm_sequence chosen, rejected;
  double reference_chosen = 0, reference_rejected = 0;
  double consistency = 1;
};

// Trains policy in place with the consistency-regularized DPO loss, mean over each batch of pairs.
lm_train_record train_preferences(mamba_lm<float>& policy, const std::vector<preference_pair>& pairs, double beta,
                                  const lm_train_options& options);

}  // namespace rescan_examples
