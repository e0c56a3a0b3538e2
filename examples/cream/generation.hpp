// Generating responses token by token with the recurrent form of the language model.
//
// All prompts of a batch step together from their bos: while a sequence is still inside its prompt
// the next input is the prompt's next token (its logits are not used); after it, the next input is
// drawn from the logits (sampling.hpp) until eos or max_tokens. pad and bos are never drawn. Each
// sequence draws from its own generator, fork(index) of the seed's, so a response depends on the
// seed and its index only, not on the batching or the thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mamba_lm.hpp"
#include "sampling.hpp"
#include "tokenizer.hpp"

namespace rescan_examples {

struct generation_options {
  sampling_options sampling;   // greedy for evaluation; temperature 0.8, top-p 0.95 for CREAM's samples
  index_t max_tokens = 12;     // response tokens, eos included
  index_t batch = 512;         // sequences stepped together
  std::string progress_label;  // a progress bar over the prompts under this label ("" = none)
};

struct generated_response {
  std::vector<std::int32_t> tokens;  // the response, ending with eos when the model ended it
  std::vector<double> log_probs;     // log π(token | prefix) of each, at temperature 1 and without top-p
  bool finished = false;             // ended with eos
};

// prompts[i]: bos then the prompt's ids (at least bos). Returns one response per prompt, in order.
std::vector<generated_response> generate_responses(mamba_lm<float>& model,
                                                   const std::vector<std::vector<std::int32_t>>& prompts,
                                                   const generation_options& options, std::uint64_t seed);

}  // namespace rescan_examples
