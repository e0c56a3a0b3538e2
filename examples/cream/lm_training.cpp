#include "lm_training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>

#include "common/nn/adamw.hpp"
#include "common/report/progress_bar.hpp"
#include "preference_loss.hpp"

namespace rescan_examples {

namespace {

using clock_type = std::chrono::steady_clock;

// The loop every trainer shares: shuffled order per epoch, one step per batch of `count` items,
// lr from the cosine schedule, clipping, AdamW. step_loss(order, first, size) runs forward and
// backward for items order[first, first + size) and returns the batch's loss.
lm_train_record run_epochs(mamba_lm<float>& model, index_t count, const lm_train_options& options, const char* unit,
                           const std::function<double(const std::vector<index_t>&, index_t, index_t)>& step_loss) {
  const std::string function = "train (" + options.phase + ")";
  detail::check_at_least(function, "options.epochs", options.epochs, 0);
  detail::check_at_least(function, "options.batch", options.batch, 1);
  detail::check_at_least(function, "examples", count, 1);
  const auto start = clock_type::now();
  const index_t steps_per_epoch = (count + options.batch - 1) / options.batch;
  const index_t total_steps = steps_per_epoch * options.epochs;
  const auto warmup = index_t(std::lround(options.warmup_fraction * double(total_steps)));
  adamw_options optimizer_options;
  optimizer_options.weight_decay = options.weight_decay;
  adamw<float> optimizer(model.parameters(), optimizer_options);
  const double floor = std::min(options.min_learning_rate, options.learning_rate);
  random_generator shuffler(options.seed);
  std::vector<index_t> order(static_cast<std::size_t>(count));
  lm_train_record record;
  progress_bar bar(options.phase, count * options.epochs, unit,
                   options.quiet ? progress_style::quiet : progress_style::automatic);
  for (index_t epoch = 0; epoch < options.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), index_t(0));
    shuffler.shuffle(order);
    for (index_t first = 0; first < count; first += options.batch) {
      const index_t size = std::min(options.batch, count - first);
      model.parameters().zero_grad();
      const double loss = step_loss(order, first, size);
      if (options.clip_norm > 0) clip_grad_norm(model.parameters(), options.clip_norm);
      optimizer.step(cosine_schedule(optimizer.steps(), total_steps, warmup, options.learning_rate, floor));
      record.step_losses.push_back(loss);
      record.examples += size;
      bar.update(record.examples, {{"loss", loss}});
    }
  }
  bar.finish();
  record.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  return record;
}

// The sequences order[first, first + size) as one padded batch.
token_batch gather(const std::vector<lm_sequence>& sequences, const std::vector<index_t>& order, index_t first,
                   index_t size, scored_span span) {
  std::vector<lm_sequence> chosen;
  chosen.reserve(static_cast<std::size_t>(size));
  for (index_t i = first; i < first + size; ++i) chosen.push_back(sequences[std::size_t(order[std::size_t(i)])]);
  return pack_sequences(chosen, 0, size, span);
}

}  // namespace

lm_train_record train_next_token(mamba_lm<float>& model, const std::vector<lm_sequence>& sequences,
                                 scored_span span, const lm_train_options& options) {
  const index_t V = model.config().vocabulary;
  std::vector<float> logits, dlogits;
  std::vector<double> logp;
  return run_epochs(model, index_t(sequences.size()), options, "seq",
                    [&](const std::vector<index_t>& order, index_t first, index_t size) {
                      const token_batch batch = gather(sequences, order, first, size, span);
                      logits.resize(static_cast<std::size_t>(batch.batch * batch.length * V));
                      model.forward(batch.tokens.data(), batch.batch, batch.length, logits.data(), pass::training);
                      token_log_probs(logits.data(), batch, V, logp);
                      const double scored = std::accumulate(batch.mask.begin(), batch.mask.end(), 0.0);
                      double loss = 0;
                      std::vector<double> dlogp(logp.size());
                      for (std::size_t i = 0; i < logp.size(); ++i) {
                        loss -= batch.mask[i] * logp[i] / scored;
                        dlogp[i] = -batch.mask[i] / scored;
                      }
                      dlogits.resize(logits.size());
                      token_log_probs_backward(logits.data(), batch, V, dlogp, dlogits.data());
                      model.backward(dlogits.data());
                      return loss;
                    });
}

std::vector<double> response_log_probs(mamba_lm<float>& model, const std::vector<lm_sequence>& sequences,
                                       index_t batch_size) {
  detail::check_at_least("response_log_probs", "batch", batch_size, 1);
  const index_t V = model.config().vocabulary;
  std::vector<double> sums;
  sums.reserve(sequences.size());
  std::vector<float> logits;
  std::vector<double> logp;
  for (index_t first = 0; first < index_t(sequences.size()); first += batch_size) {
    const index_t size = std::min(batch_size, index_t(sequences.size()) - first);
    const token_batch batch = pack_sequences(sequences, first, size, scored_span::response);
    logits.resize(static_cast<std::size_t>(batch.batch * batch.length * V));
    model.forward(batch.tokens.data(), batch.batch, batch.length, logits.data(), pass::inference);
    token_log_probs(logits.data(), batch, V, logp);
    const std::vector<double> batch_sums = masked_sums(logp, batch);
    sums.insert(sums.end(), batch_sums.begin(), batch_sums.end());
  }
  return sums;
}

lm_train_record train_preferences(mamba_lm<float>& policy, const std::vector<preference_pair>& pairs, double beta,
                                  const lm_train_options& options) {
  const index_t V = policy.config().vocabulary;
  std::vector<float> logits, dlogits;
  std::vector<double> logp;
  return run_epochs(policy, index_t(pairs.size()), options, "pair",
                    [&](const std::vector<index_t>& order, index_t first, index_t size) {
                      // One batch: the chosen responses in rows [0, size), the rejected in [size, 2 size).
                      std::vector<lm_sequence> sequences(static_cast<std::size_t>(2 * size));
                      std::vector<double> margins(static_cast<std::size_t>(size)), consistency(static_cast<std::size_t>(size));
                      for (index_t i = 0; i < size; ++i) {
                        const preference_pair& pair = pairs[std::size_t(order[std::size_t(first + i)])];
                        sequences[std::size_t(i)] = pair.chosen;
                        sequences[std::size_t(size + i)] = pair.rejected;
                        consistency[std::size_t(i)] = pair.consistency;
                      }
                      const token_batch batch = pack_sequences(sequences, 0, 2 * size, scored_span::response);
                      logits.resize(static_cast<std::size_t>(batch.batch * batch.length * V));
                      policy.forward(batch.tokens.data(), batch.batch, batch.length, logits.data(), pass::training);
                      token_log_probs(logits.data(), batch, V, logp);
                      const std::vector<double> sums = masked_sums(logp, batch);
                      for (index_t i = 0; i < size; ++i) {
                        const preference_pair& pair = pairs[std::size_t(order[std::size_t(first + i)])];
                        margins[std::size_t(i)] = preference_margin(sums[std::size_t(i)], pair.reference_chosen,
                                                                    sums[std::size_t(size + i)], pair.reference_rejected);
                      }
                      std::vector<double> dmargin(static_cast<std::size_t>(size));
                      const double loss = consistency_dpo_loss(margins.data(), consistency.data(), size, beta,
                                                               dmargin.data());
                      // h = logp(chosen) − logp(rejected) + constants: ∂ℓ/∂logp[b, t] = ±∂ℓ/∂h on response tokens.
                      std::vector<double> dlogp(logp.size());
                      for (index_t b = 0; b < 2 * size; ++b) {
                        const double sign = b < size ? 1.0 : -1.0;
                        const double d = sign * dmargin[std::size_t(b < size ? b : b - size)];
                        for (index_t t = 0; t < batch.length; ++t) {
                          const std::size_t i = std::size_t(b * batch.length + t);
                          dlogp[i] = batch.mask[i] * d;
                        }
                      }
                      dlogits.resize(logits.size());
                      token_log_probs_backward(logits.data(), batch, V, dlogp, dlogits.data());
                      policy.backward(dlogits.data());
                      return loss;
                    });
}

}  // namespace rescan_examples
