#include "generation.hpp"

#include <algorithm>

#include <rescan/cpu/reduce.hpp>
#include <rescan/reduce/logsumexp.hpp>

#include "common/report/progress_bar.hpp"

namespace rescan_examples {

std::vector<generated_response> generate_responses(mamba_lm<float>& model,
                                                   const std::vector<std::vector<std::int32_t>>& prompts,
                                                   const generation_options& options, std::uint64_t seed) {
  constexpr const char* function = "generate_responses";
  detail::check_at_least(function, "options.max_tokens", options.max_tokens, 1);
  detail::check_at_least(function, "options.batch", options.batch, 1);
  check_sampling_options(function, options.sampling);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty() || prompts[i][0] != char_tokenizer::bos) {
      detail::fail(function, ": prompts[", i, "] must start with bos (id ", char_tokenizer::bos, ")");
    }
  }
  const index_t V = model.config().vocabulary;
  const random_generator root(seed);
  std::vector<generated_response> responses(prompts.size());
  std::vector<float> logits, allowed(static_cast<std::size_t>(V)), lse;
  std::vector<std::int32_t> inputs;
  progress_bar bar(options.progress_label, index_t(prompts.size()), "seq",
                   options.progress_label.empty() ? progress_style::quiet : progress_style::automatic);
  for (std::size_t first = 0; first < prompts.size(); first += std::size_t(options.batch)) {
    const index_t batch = index_t(std::min(prompts.size() - first, std::size_t(options.batch)));
    std::vector<random_generator> randoms;
    for (index_t b = 0; b < batch; ++b) {
      randoms.push_back(root.fork(std::uint64_t(first) + std::uint64_t(b)));
    }
    auto state = model.start_decoding(batch);
    logits.resize(static_cast<std::size_t>(batch * V));
    lse.resize(static_cast<std::size_t>(batch));
    inputs.assign(std::size_t(batch), char_tokenizer::bos);
    std::vector<bool> done(std::size_t(batch), false);
    index_t remaining = batch;
    // Step t feeds token t of every sequence: a prompt token, or the response token drawn at t − 1.
    for (index_t t = 0; remaining > 0; ++t) {
      model.step(inputs.data(), state, logits.data());
      rescan::logsumexp(rescan::cpu, rescan::make_view(static_cast<const float*>(logits.data()), {batch, V}),
                        rescan::make_view(lse.data(), batch));
      for (index_t b = 0; b < batch; ++b) {
        const std::vector<std::int32_t>& prompt = prompts[first + std::size_t(b)];
        std::int32_t& input = inputs[std::size_t(b)];
        if (t + 1 < index_t(prompt.size())) {
          input = prompt[std::size_t(t + 1)];
          continue;
        }
        if (done[std::size_t(b)]) {
          input = char_tokenizer::pad;
          continue;
        }
        const float* row = logits.data() + b * V;
        std::copy(row, row + V, allowed.begin());
        allowed[char_tokenizer::pad] = allowed[char_tokenizer::bos] = -1e30f;
        const std::int32_t token = sample_token(allowed.data(), V, options.sampling, randoms[std::size_t(b)]);
        generated_response& response = responses[first + std::size_t(b)];
        response.tokens.push_back(token);
        response.log_probs.push_back(double(row[token]) - double(lse[std::size_t(b)]));
        input = token;
        if (token == char_tokenizer::eos || index_t(response.tokens.size()) == options.max_tokens) {
          response.finished = token == char_tokenizer::eos;
          done[std::size_t(b)] = true;
          --remaining;
        }
      }
    }
    bar.update(index_t(first) + batch);
  }
  bar.finish();
  return responses;
}

}  // namespace rescan_examples
