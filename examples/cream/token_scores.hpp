// Sequences for the language model and the log-probabilities it gives their tokens.
//
// A sequence is `bos prompt response`, the response ending with eos when the model (or the data)
// ended it. Batches pad sequences on the right with pad ids: the model is causal, so padding never
// changes the scores of the tokens before it. With logits (B·L, V) from mamba_lm::forward, the
// log-probability of token t >= 1 of sequence b is
//   logp[b, t] = logits[b·L + t − 1, tokens[b, t]] − logsumexp(logits[b·L + t − 1, :])
// and for a loss ℓ depending on the logp, ∂ℓ/∂logits[b·L + t − 1, v] = ∂ℓ/∂logp[b, t] · (1[v = tokens[b, t]] − softmax_v).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <rescan/cpu/reduce.hpp>
#include <rescan/reduce/logsumexp.hpp>
#include <rescan/reduce/softmax.hpp>

#include "common/nn/checks.hpp"
#include "tokenizer.hpp"

namespace rescan_examples {

// tokens = bos, prompt ids, response ids; the response is tokens [response_begin, size).
struct lm_sequence {
  std::vector<std::int32_t> tokens;
  index_t response_begin = 1;

  index_t size() const { return index_t(tokens.size()); }
  index_t response_length() const { return size() - response_begin; }
};

// Which tokens a loss or a score counts: every token after bos (next-token pretraining), or the
// response's only (SFT, rewards, DPO).
enum class scored_span { all_tokens, response };

// Sequences [first, first + count) padded to the longest: tokens (count, length); mask (count,
// length) = 1 where the token is scored (see scored_span), 0 elsewhere (bos, prompt, padding).
struct token_batch {
  index_t batch = 0, length = 0;
  std::vector<std::int32_t> tokens;
  std::vector<double> mask;
};

inline token_batch pack_sequences(const std::vector<lm_sequence>& sequences, index_t first, index_t count,
                                  scored_span span) {
  constexpr const char* function = "pack_sequences";
  detail::check_at_least(function, "count", count, 1);
  if (first < 0 || first + count > index_t(sequences.size())) {
    detail::fail(function, ": sequences [", first, ", ", first + count, ") but there are ", sequences.size());
  }
  token_batch batch;
  batch.batch = count;
  for (index_t i = 0; i < count; ++i) {
    const lm_sequence& s = sequences[std::size_t(first + i)];
    if (s.size() < 2 || s.tokens[0] != char_tokenizer::bos || s.response_begin < 1 || s.response_begin > s.size()) {
      detail::fail(function, ": sequence ", first + i, " has ", s.size(), " tokens and response_begin ",
                   s.response_begin, " (needs bos first and at least one more token, 1 <= response_begin <= size)");
    }
    batch.length = std::max(batch.length, s.size());
  }
  batch.tokens.assign(std::size_t(count * batch.length), char_tokenizer::pad);
  batch.mask.assign(batch.tokens.size(), 0.0);
  for (index_t i = 0; i < count; ++i) {
    const lm_sequence& s = sequences[std::size_t(first + i)];
    std::copy(s.tokens.begin(), s.tokens.end(), batch.tokens.begin() + i * batch.length);
    const index_t scored_from = span == scored_span::all_tokens ? 1 : s.response_begin;
    std::fill(batch.mask.begin() + i * batch.length + scored_from, batch.mask.begin() + i * batch.length + s.size(), 1.0);
  }
  return batch;
}

namespace detail {

// logits given, vocabulary >= 1, the batch's buffers of batch · length entries and its ids in [0, V).
template <class T>
void check_scored_batch(const char* function, const T* logits, const token_batch& batch, index_t vocabulary) {
  check_given(function, "logits", logits);
  check_at_least(function, "vocabulary", vocabulary, 1);
  const auto size = std::size_t(batch.batch * batch.length);
  if (batch.batch < 1 || batch.length < 1 || batch.tokens.size() != size || batch.mask.size() != size) {
    fail(function, ": batch is ", batch.batch, " x ", batch.length, " with ", batch.tokens.size(), " tokens and ",
         batch.mask.size(), " mask entries (use pack_sequences)");
  }
  for (std::size_t i = 0; i < size; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= vocabulary) {
      fail(function, ": batch.tokens[", i, "] = ", batch.tokens[i], " but ids must be in [0, ", vocabulary, ")");
    }
  }
}

}  // namespace detail

// logits: (batch · length, V) for batch.tokens -> logp: (batch, length), written; logp[b, 0] = 0.
template <class T>
void token_log_probs(const T* logits, const token_batch& batch, index_t vocabulary, std::vector<double>& logp) {
  detail::check_scored_batch("token_log_probs", logits, batch, vocabulary);
  const index_t B = batch.batch, L = batch.length, V = vocabulary;
  std::vector<T> lse(static_cast<std::size_t>(B * L));
  rescan::logsumexp(rescan::cpu, rescan::make_view(logits, {B * L, V}), rescan::make_view(lse.data(), B * L));
  logp.assign(std::size_t(B * L), 0.0);
  for (index_t b = 0; b < B; ++b) {
    for (index_t t = 1; t < L; ++t) {
      const index_t row = b * L + t - 1;
      const std::int32_t token = batch.tokens[std::size_t(b * L + t)];
      logp[std::size_t(b * L + t)] = double(logits[row * V + token]) - double(lse[std::size_t(row)]);
    }
  }
}

// Σ_t mask[b, t] · logp[b, t] per sequence: (batch).
inline std::vector<double> masked_sums(const std::vector<double>& logp, const token_batch& batch) {
  if (logp.size() != batch.mask.size() || batch.mask.size() != std::size_t(batch.batch * batch.length)) {
    detail::fail("masked_sums: logp has ", logp.size(), " entries and the mask ", batch.mask.size(), " but the batch is ",
                 batch.batch, " x ", batch.length);
  }
  std::vector<double> sums(std::size_t(batch.batch), 0.0);
  for (index_t b = 0; b < batch.batch; ++b) {
    for (index_t t = 0; t < batch.length; ++t) {
      const std::size_t i = std::size_t(b * batch.length + t);
      sums[std::size_t(b)] += batch.mask[i] * logp[i];
    }
  }
  return sums;
}

// The chain rule through logp: dlogp (batch, length) = ∂ℓ/∂logp -> dlogits (batch · length, V),
// written (rows whose next token has dlogp = 0 get zeros).
template <class T>
void token_log_probs_backward(const T* logits, const token_batch& batch, index_t vocabulary,
                              const std::vector<double>& dlogp, T* dlogits) {
  constexpr const char* function = "token_log_probs_backward";
  detail::check_scored_batch(function, logits, batch, vocabulary);
  detail::check_given(function, "dlogits", dlogits);
  if (dlogp.size() != batch.tokens.size()) {
    detail::fail(function, ": dlogp has ", dlogp.size(), " entries but the batch is ", batch.batch, " x ", batch.length);
  }
  const index_t B = batch.batch, L = batch.length, V = vocabulary;
  rescan::softmax(rescan::cpu, rescan::make_view(logits, {B * L, V}), rescan::make_view(dlogits, {B * L, V}));
  for (index_t b = 0; b < B; ++b) {
    for (index_t t = 0; t < L; ++t) {
      T* row = dlogits + (b * L + t) * V;
      const double weight = t + 1 < L ? dlogp[std::size_t(b * L + t + 1)] : 0.0;
      if (weight == 0.0) {
        std::fill(row, row + V, T(0));
        continue;
      }
      for (index_t v = 0; v < V; ++v) row[v] = T(-weight * double(row[v]));
      row[batch.tokens[std::size_t(b * L + t + 1)]] += T(weight);
    }
  }
}

}  // namespace rescan_examples
