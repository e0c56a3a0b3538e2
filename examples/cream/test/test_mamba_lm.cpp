// The CREAM example's language model and the code around it, each against an independent reference:
//   mamba_lm's backward against central differences of Σ w · logits for every parameter (the tied
//     embedding gets its gradient from the lookup and from the head);
//   forward over whole sequences against step() token by token;
//   the parameter names (mamba_ssm's) and counts computed by hand;
//   token_log_probs against log softmax written out, its backward against central differences;
//   pack_sequences' padding and masks, worked out by hand;
//   the SFT masks: no gradient reaches a logits row that predicts a prompt or padding token, and the
//     ids in the padding change no score;
//   generation against the parallel scoring (the log-probabilities it reports are response_log_probs'
//     terms), greedy decoding against the argmax of forward()'s logits, determinism, batching,
//     max_tokens, eos, the special ids, errors;
//   train_next_token: its first loss against the masked mean computed here, and a falling loss.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/nn/test/nn_test_support.hpp"
#include "cream/generation.hpp"
#include "cream/lm_training.hpp"
#include "cream/mamba_lm.hpp"
#include "cream/token_scores.hpp"

namespace rescan_examples::testing {
namespace {

using ids = std::vector<std::int32_t>;

constexpr std::int32_t pad = char_tokenizer::pad, bos = char_tokenizer::bos, eos = char_tokenizer::eos;

// V 7, D 4, 2 layers, N 3, d_conv 3, expand 2: E 8, R = ceil(4 / 16) = 1.
lm_config tiny_config(index_t vocabulary = 7) {
  lm_config config;
  config.vocabulary = vocabulary;
  config.d_model = 4;
  config.layers = 2;
  config.d_state = 3;
  config.expand = 2;
  config.d_conv = 3;
  return config;
}

// init(seed), then U(±noise) added to every value, so no norm weight sits at 1, no D at 1 and no
// two channels alike.
template <class T>
void init_perturbed(mamba_lm<T>& model, std::uint64_t seed, double noise) {
  model.init(seed);
  random_generator random(seed + 1000);
  for (parameter<T>& p : model.parameters()) {
    for (T& v : p.value) v += T(random.uniform(-noise, noise));
  }
}

// count ids uniform in [lo, hi).
ids random_ids(random_generator& random, index_t count, std::int32_t lo, std::int32_t hi) {
  ids result(static_cast<std::size_t>(count));
  for (std::int32_t& id : result) id = lo + std::int32_t(random.below(hi - lo));
  return result;
}

// log softmax of one row (V), written out.
template <class T>
std::vector<double> plain_log_softmax(const T* row, index_t vocabulary) {
  double sum = 0;
  for (index_t v = 0; v < vocabulary; ++v) sum += std::exp(double(row[v]));
  std::vector<double> result(static_cast<std::size_t>(vocabulary));
  for (index_t v = 0; v < vocabulary; ++v) result[std::size_t(v)] = double(row[v]) - std::log(sum);
  return result;
}

// The worst |step − forward| / (1 + |forward|) over every logit of `batch` sequences of `length`
// random tokens: forward() over the whole sequences against step() fed one token at a time.
template <class T>
double worst_step_gap(mamba_lm<T>& model, index_t batch, index_t length, std::uint64_t seed) {
  const index_t V = model.config().vocabulary;
  random_generator random(seed);
  const ids tokens = random_ids(random, batch * length, 0, std::int32_t(V));
  std::vector<T> whole(static_cast<std::size_t>(batch * length * V));
  model.forward(tokens.data(), batch, length, whole.data(), pass::inference);
  auto state = model.start_decoding(batch);
  ids column(static_cast<std::size_t>(batch));
  std::vector<T> logits(static_cast<std::size_t>(batch * V));
  double worst = 0;
  for (index_t t = 0; t < length; ++t) {
    for (index_t b = 0; b < batch; ++b) column[std::size_t(b)] = tokens[std::size_t(b * length + t)];
    model.step(column.data(), state, logits.data());
    for (index_t b = 0; b < batch; ++b) {
      for (index_t v = 0; v < V; ++v) {
        const double expected = double(whole[std::size_t((b * length + t) * V + v)]);
        const double got = double(logits[std::size_t(b * V + v)]);
        worst = std::max(worst, std::abs(got - expected) / (1 + std::abs(expected)));
      }
    }
  }
  return worst;
}

// A batch built by hand (no pack_sequences): tokens (batch, length), mask all ones after bos.
token_batch hand_batch(const ids& tokens, index_t batch, index_t length) {
  token_batch result;
  result.batch = batch, result.length = length, result.tokens = tokens;
  result.mask.assign(tokens.size(), 1.0);
  for (index_t b = 0; b < batch; ++b) result.mask[std::size_t(b * length)] = 0.0;
  return result;
}

// The SFT loss as the trainer defines it: −Σ mask · logp / Σ mask over the packed batch.
double masked_mean_loss(const std::vector<double>& logp, const token_batch& batch) {
  double sum = 0, scored = 0;
  for (std::size_t i = 0; i < logp.size(); ++i) {
    sum += batch.mask[i] * logp[i];
    scored += batch.mask[i];
  }
  return -sum / scored;
}

lm_sequence make_sequence(ids tokens, index_t response_begin) {
  lm_sequence sequence;
  sequence.tokens = std::move(tokens);
  sequence.response_begin = response_begin;
  return sequence;
}

// A float model (V 8: pad, bos, eos and five "characters" 3..7; D 8, N 4, d_conv 3) with enough noise
// on its initialization that its next-token distributions are far from uniform.
void init_generator_model(mamba_lm<float>& model, std::uint64_t seed) {
  init_perturbed(model, seed, 0.3);
  for (float& w : model.parameters().find("backbone.embedding.weight")->value) w *= 2.0f;
}

lm_config generator_config() {
  lm_config config = tiny_config(8);
  config.d_model = 8;
  config.d_state = 4;
  return config;
}

// Prompts of lengths 1 (bos alone) to 6, ids in 3..7.
std::vector<ids> mixed_prompts() {
  return {{bos, 3, 4}, {bos}, {bos, 5, 6, 7, 3, 4}, {bos, 7}, {bos, 4, 4, 4}, {bos, 6, 5}, {bos, 3}};
}

// The same responses: tokens, finished flags, and log-probabilities within tolerance (relative to
// 1 + |value|; 0: the same values).
void check_same_responses(const std::vector<generated_response>& a, const std::vector<generated_response>& b,
                          double tolerance) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].tokens == b[i].tokens);
    CHECK(a[i].finished == b[i].finished);
    REQUIRE(a[i].log_probs.size() == b[i].log_probs.size());
    for (std::size_t k = 0; k < a[i].log_probs.size(); ++k) {
      CAPTURE(k);
      CHECK(std::abs(a[i].log_probs[k] - b[i].log_probs[k]) <= tolerance * (1 + std::abs(b[i].log_probs[k])));
    }
  }
}

// Every response: 1..max_tokens tokens, one log-probability each (<= 0), eos only as the last token,
// finished exactly when it ends with eos, and a response without eos is max_tokens long.
void check_response_shapes(const std::vector<generated_response>& responses, index_t max_tokens) {
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const generated_response& r = responses[i];
    CAPTURE(i);
    REQUIRE(!r.tokens.empty());
    CHECK(index_t(r.tokens.size()) <= max_tokens);
    CHECK(r.log_probs.size() == r.tokens.size());
    for (const double lp : r.log_probs) CHECK(lp <= 0);
    CHECK(r.finished == (r.tokens.back() == eos));
    CHECK(std::count(r.tokens.begin(), r.tokens.end() - 1, eos) == 0);
    if (!r.finished) CHECK(index_t(r.tokens.size()) == max_tokens);
  }
}

}  // namespace

TEST_CASE("mamba_lm: backward matches central differences of Σ w · logits for every parameter") {
  const lm_config config = tiny_config();
  mamba_lm<double> model(config);
  init_perturbed(model, 3, 0.2);
  const index_t batch = 2, length = 5;
  random_generator random(4);
  const ids tokens = {1, 3, 6, 0, 3, 2, 5, 4, 6, 1};  // every id of V = 7 at least once, 3 and 6 twice
  REQUIRE(index_t(tokens.size()) == batch * length);
  const std::vector<double> w = random_values(random, batch * length * config.vocabulary);
  std::vector<double> logits(w.size());
  model.parameters().zero_grad();
  model.forward(tokens.data(), batch, length, logits.data(), pass::training);
  model.backward(w.data());
  const auto objective = [&] {
    model.forward(tokens.data(), batch, length, logits.data(), pass::inference);
    return dot(w, logits);
  };
  // The embedding's check covers both of its uses: a backward that dropped the lookup's or the
  // head's share would miss the numeric derivative, which sees both.
  check_parameter_gradients(model.parameters(), objective);
}

TEST_CASE("mamba_lm: backward adds to the gradients; it needs a training forward pass") {
  mamba_lm<double> model(tiny_config());
  init_perturbed(model, 5, 0.2);
  const ids tokens = {1, 4, 5, 2};
  random_generator random(6);
  const std::vector<double> w = random_values(random, 4 * 7);
  std::vector<double> logits(w.size());
  model.parameters().zero_grad();
  model.forward(tokens.data(), 1, 4, logits.data(), pass::training);
  model.backward(w.data());
  std::vector<std::vector<double>> once;
  for (const parameter<double>& p : model.parameters()) once.push_back(p.grad);
  model.forward(tokens.data(), 1, 4, logits.data(), pass::training);
  model.backward(w.data());
  std::size_t index = 0;
  for (const parameter<double>& p : model.parameters()) {
    CAPTURE(p.name);
    for (std::size_t i = 0; i < p.grad.size(); ++i) CHECK(p.grad[i] == doctest::Approx(2 * once[index][i]));
    ++index;
  }
  NN_CHECK_THROWS_MENTIONING(model.backward(w.data()), rescan::value_error, "mamba_lm::backward",
                             "no training forward");
  model.forward(tokens.data(), 1, 4, logits.data(), pass::inference);
  NN_CHECK_THROWS_MENTIONING(model.backward(w.data()), rescan::value_error, "no training forward");
}

TEST_CASE("mamba_lm: forward over whole sequences equals step() token by token (double 1e-12, float 1e-4)") {
  const lm_config config = tiny_config();
  mamba_lm<double> model(config);
  init_perturbed(model, 7, 0.2);
  mamba_lm<float> single(config);
  init_perturbed(single, 7, 0.2);
  for (const index_t batch : {1, 2, 3}) {
    for (const index_t length : {1, 2, 9, 70}) {  // 70: past the CPU scan's first 64-position block
      CAPTURE(batch);
      CAPTURE(length);
      CHECK(worst_step_gap(model, batch, length, std::uint64_t(10 * batch + length)) < 1e-12);
      CHECK(worst_step_gap(single, batch, length, std::uint64_t(10 * batch + length)) < 1e-4);
    }
  }
  // A state from another model depth does not fit.
  lm_config deeper = config;
  deeper.layers = 3;
  mamba_lm<double> other(deeper);
  auto state = other.start_decoding(1);
  const ids token = {1};
  std::vector<double> logits(7);
  NN_CHECK_THROWS_MENTIONING(model.step(token.data(), state, logits.data()), rescan::value_error, "mamba_lm::step",
                             "state does not fit");
}

TEST_CASE("mamba_lm: mamba_ssm's parameter names, no lm_head, and hand-counted sizes") {
  mamba_lm<float> model(tiny_config());
  const parameter_set<float>& params = model.parameters();
  // Per layer: in_proj 2E·D = 64, conv1d.weight E·K = 24, conv1d.bias 8, x_proj (R + 2N)·E = 56,
  // dt_proj.weight E·R = 8, dt_proj.bias 8, A_log E·N = 24, D 8, out_proj D·E = 32 (mixer 232) and
  // norm 4: 236. Two layers 472, embedding V·D = 28, norm_f 4: 504 in 1 + 2 · 10 + 1 = 22 tensors.
  CHECK(params.total_size() == 504);
  CHECK(params.count() == 22);
  using shape = std::vector<index_t>;
  const auto shape_of = [&](const std::string& name) {
    const parameter<float>* p = params.find(name);
    REQUIRE_MESSAGE(p != nullptr, name);
    return p->shape;
  };
  CHECK(params.begin()->name == "backbone.embedding.weight");
  CHECK(shape_of("backbone.embedding.weight") == shape{7, 4});
  for (const std::string layer : {"0", "1"}) {
    const std::string prefix = "backbone.layers." + layer;
    CAPTURE(prefix);
    CHECK(shape_of(prefix + ".mixer.in_proj.weight") == shape{16, 4});
    CHECK(shape_of(prefix + ".mixer.conv1d.weight") == shape{8, 1, 3});
    CHECK(shape_of(prefix + ".mixer.conv1d.bias") == shape{8});
    CHECK(shape_of(prefix + ".mixer.x_proj.weight") == shape{7, 8});
    CHECK(shape_of(prefix + ".mixer.dt_proj.weight") == shape{8, 1});
    CHECK(shape_of(prefix + ".mixer.dt_proj.bias") == shape{8});
    CHECK(shape_of(prefix + ".mixer.A_log") == shape{8, 3});
    CHECK(shape_of(prefix + ".mixer.D") == shape{8});
    CHECK(shape_of(prefix + ".mixer.out_proj.weight") == shape{4, 8});
    CHECK(shape_of(prefix + ".norm.weight") == shape{4});
  }
  CHECK(shape_of("backbone.norm_f.weight") == shape{4});
  CHECK(params.find("lm_head.weight") == nullptr);
  CHECK(params.find("backbone.layers.0.mixer.conv1d_b.weight") == nullptr);  // unidirectional
  CHECK(params.find("backbone.layers.2.norm.weight") == nullptr);
  for (const parameter<float>& p : params) {
    CAPTURE(p.name);
    CHECK(p.name.rfind("backbone.", 0) == 0);
  }

  // The default sizes with the tokenizer's 45 ids: D 64, 4 layers, N 16, E 128, R 4, d_conv 4.
  // Mixer: 256·64 + 128·4 + 128 + 36·128 + 128·4 + 128 + 128·16 + 128 + 64·128 = 32640; with its norm
  // 32704; 4 layers 130816; embedding 45·64 = 2880; norm_f 64: 133760.
  lm_config defaults;
  defaults.vocabulary = 45;
  mamba_lm<float> full(defaults);
  CHECK(full.parameters().total_size() == 133760);
  CHECK(full.parameters().count() == 1 + 4 * 10 + 1);

  lm_config bad = tiny_config();
  bad.vocabulary = 0;
  NN_CHECK_THROWS_MENTIONING(mamba_lm<float>{bad}, rescan::value_error, "mamba_lm", "config.vocabulary = 0");
  bad = tiny_config(), bad.layers = 0;
  NN_CHECK_THROWS_MENTIONING(mamba_lm<float>{bad}, rescan::value_error, "config.layers = 0");
}

TEST_CASE("mamba_lm: init is mamba_ssm's (norms 1, embedding N(0, 0.02²)) and the same for the same seed") {
  mamba_lm<double> a(tiny_config()), b(tiny_config()), c(tiny_config());
  a.init(9), b.init(9), c.init(10);
  for (const std::string name : {"backbone.layers.0.norm.weight", "backbone.layers.1.norm.weight",
                                 "backbone.norm_f.weight"}) {
    CHECK(a.parameters().find(name)->value == std::vector<double>(4, 1.0));
  }
  double squares = 0;
  for (const double w : a.parameters().find("backbone.embedding.weight")->value) squares += w * w;
  CHECK(std::sqrt(squares / 28) > 0.005);
  CHECK(std::sqrt(squares / 28) < 0.05);
  auto left = a.parameters().begin();
  for (const parameter<double>& p : b.parameters()) {
    CAPTURE(p.name);
    CHECK(p.value == left->value);
    ++left;
  }
  CHECK(a.parameters().find("backbone.embedding.weight")->value !=
        c.parameters().find("backbone.embedding.weight")->value);
  c.copy_parameters_from(a);
  lm_config wider = a.config();
  wider.d_model += 1;
  mamba_lm<double> other(wider);
  CHECK_THROWS_AS(c.copy_parameters_from(other), rescan::value_error);
  left = a.parameters().begin();
  for (const parameter<double>& p : c.parameters()) {
    CHECK(p.value == left->value);
    ++left;
  }
}

TEST_CASE("mamba_lm: token ids outside [0, V) and missing buffers throw naming the position") {
  mamba_lm<float> model(tiny_config());
  model.init(1);
  std::vector<float> logits(3 * 7);
  const ids bad = {1, 7, 2};
  NN_CHECK_THROWS_MENTIONING(model.forward(bad.data(), 1, 3, logits.data(), pass::inference), rescan::value_error,
                             "mamba_lm::forward", "tokens[1] = 7");
  const ids negative = {1, 2, -1};
  NN_CHECK_THROWS_MENTIONING(model.forward(negative.data(), 1, 3, logits.data(), pass::inference), rescan::value_error,
                             "tokens[2] = -1");
  const ids good = {1, 2, 3};
  NN_CHECK_THROWS_MENTIONING(model.forward(good.data(), 1, 0, logits.data(), pass::inference), rescan::value_error,
                             "length = 0");
  NN_CHECK_THROWS_MENTIONING(model.forward(good.data(), 1, 3, nullptr, pass::inference), rescan::value_error,
                             "logits is nullptr");
}

TEST_CASE("token_log_probs, masked_sums, token_log_probs_backward: bad batches throw naming the argument") {
  const index_t B = 2, L = 3, V = 4;
  random_generator random(23);
  const std::vector<double> logits = random_values(random, B * L * V);
  const token_batch batch = hand_batch(random_ids(random, B * L, 0, std::int32_t(V)), B, L);
  std::vector<double> logp;
  std::vector<double> dlogits(logits.size());
  const std::vector<double> dlogp(std::size_t(B * L), 1.0);
  NN_CHECK_THROWS_MENTIONING(token_log_probs(static_cast<const double*>(nullptr), batch, V, logp), rescan::value_error,
                             "token_log_probs", "logits");
  NN_CHECK_THROWS_MENTIONING(token_log_probs(logits.data(), batch, 0, logp), rescan::value_error, "vocabulary = 0");
  token_batch out_of_range = batch;
  out_of_range.tokens[4] = std::int32_t(V);
  NN_CHECK_THROWS_MENTIONING(token_log_probs(logits.data(), out_of_range, V, logp), rescan::value_error,
                             "batch.tokens[4] = 4", "[0, 4)");
  token_batch short_mask = batch;
  short_mask.mask.pop_back();
  NN_CHECK_THROWS_MENTIONING(token_log_probs(logits.data(), short_mask, V, logp), rescan::value_error,
                             "2 x 3 with 6 tokens and 5 mask entries");
  token_log_probs(logits.data(), batch, V, logp);
  logp.pop_back();
  NN_CHECK_THROWS_MENTIONING(masked_sums(logp, batch), rescan::value_error, "masked_sums", "logp has 5 entries");
  NN_CHECK_THROWS_MENTIONING(token_log_probs_backward(logits.data(), batch, V, logp, dlogits.data()),
                             rescan::value_error, "token_log_probs_backward", "dlogp has 5 entries");
  NN_CHECK_THROWS_MENTIONING(token_log_probs_backward(logits.data(), batch, V, dlogp, static_cast<double*>(nullptr)),
                             rescan::value_error, "dlogits");
  NN_CHECK_THROWS_MENTIONING(token_log_probs_backward(logits.data(), out_of_range, V, dlogp, dlogits.data()),
                             rescan::value_error, "batch.tokens[4]");
}

TEST_CASE("token_log_probs: log softmax written out; token_log_probs_backward against central differences") {
  const index_t B = 3, L = 4, V = 5;
  random_generator random(21);
  std::vector<double> logits = random_values(random, B * L * V, 3.0);
  const ids tokens = random_ids(random, B * L, 0, std::int32_t(V));
  const token_batch batch = hand_batch(tokens, B, L);
  std::vector<double> logp;
  token_log_probs(logits.data(), batch, V, logp);
  REQUIRE(logp.size() == std::size_t(B * L));
  for (index_t b = 0; b < B; ++b) {
    CHECK(logp[std::size_t(b * L)] == 0.0);
    for (index_t t = 1; t < L; ++t) {
      const std::vector<double> row = plain_log_softmax(&logits[std::size_t((b * L + t - 1) * V)], V);
      CHECK(logp[std::size_t(b * L + t)] ==
            doctest::Approx(row[std::size_t(tokens[std::size_t(b * L + t)])]).epsilon(1e-13));
    }
  }
  // float logits: the same values to float precision.
  const std::vector<float> single(logits.begin(), logits.end());
  std::vector<double> single_logp;
  token_log_probs(single.data(), batch, V, single_logp);
  for (std::size_t i = 0; i < logp.size(); ++i) CHECK(single_logp[i] == doctest::Approx(logp[i]).epsilon(1e-5));

  // Σ dlogp · logp: dlogp anywhere (also at t = 0, whose logp is the constant 0).
  const std::vector<double> dlogp = random_values(random, B * L);
  std::vector<double> dlogits(logits.size(), 99.0);
  token_log_probs_backward(logits.data(), batch, V, dlogp, dlogits.data());
  const auto objective = [&] {
    std::vector<double> values;
    token_log_probs(logits.data(), batch, V, values);
    return dot(dlogp, values);
  };
  check_central_differences("logits", logits, dlogits, objective, 1e-8);
  for (index_t b = 0; b < B; ++b) {  // the last row of each sequence predicts nothing
    for (index_t v = 0; v < V; ++v) CHECK(dlogits[std::size_t((b * L + L - 1) * V + v)] == 0.0);
  }
  // A zero weight zeroes its row exactly.
  std::vector<double> sparse(dlogp.size(), 0.0);
  sparse[std::size_t(L + 2)] = 1.5;  // sequence 1, token 2: row L + 1
  token_log_probs_backward(logits.data(), batch, V, sparse, dlogits.data());
  for (index_t row = 0; row < B * L; ++row) {
    double row_sum = 0, row_abs = 0;
    for (index_t v = 0; v < V; ++v) {
      row_sum += dlogits[std::size_t(row * V + v)];
      row_abs += std::abs(dlogits[std::size_t(row * V + v)]);
    }
    CAPTURE(row);
    if (row == L + 1) {
      CHECK(row_abs > 0);
      CHECK(row_sum == doctest::Approx(0.0).epsilon(1e-12).scale(1));  // softmax's rows sum to 1
    } else {
      CHECK(row_abs == 0.0);
    }
  }
}

TEST_CASE("pack_sequences: right padding with pad ids; masks on the response or on every token after bos") {
  // Prompt 5 6, response 7 eos; prompt 8..11, response 12 eos; empty response; response from bos on.
  const std::vector<lm_sequence> sequences = {make_sequence({bos, 5, 6, 7, eos}, 3),
                                              make_sequence({bos, 8, 9, 10, 11, 12, eos}, 5),
                                              make_sequence({bos, 4}, 2), make_sequence({bos, 3, 4}, 1)};
  CHECK(sequences[1].response_length() == 2);
  CHECK(sequences[2].response_length() == 0);
  const token_batch response = pack_sequences(sequences, 0, 4, scored_span::response);
  CHECK(response.batch == 4);
  CHECK(response.length == 7);
  const ids expected_tokens = {bos, 5, 6, 7,  eos, pad, pad,  //
                               bos, 8, 9, 10, 11,  12,  eos,  //
                               bos, 4, pad, pad, pad, pad, pad,  //
                               bos, 3, 4, pad, pad, pad, pad};
  CHECK(response.tokens == expected_tokens);
  const std::vector<double> response_mask = {0, 0, 0, 1, 1, 0, 0,  //
                                             0, 0, 0, 0, 0, 1, 1,  //
                                             0, 0, 0, 0, 0, 0, 0,  //
                                             0, 1, 1, 0, 0, 0, 0};
  CHECK(response.mask == response_mask);
  const token_batch all = pack_sequences(sequences, 0, 4, scored_span::all_tokens);
  CHECK(all.tokens == expected_tokens);
  const std::vector<double> all_mask = {0, 1, 1, 1, 1, 0, 0,  //
                                        0, 1, 1, 1, 1, 1, 1,  //
                                        0, 1, 0, 0, 0, 0, 0,  //
                                        0, 1, 1, 0, 0, 0, 0};
  CHECK(all.mask == all_mask);

  // A slice is padded to its own longest sequence.
  const token_batch slice = pack_sequences(sequences, 2, 2, scored_span::response);
  CHECK(slice.batch == 2);
  CHECK(slice.length == 3);
  CHECK(slice.tokens == ids{bos, 4, pad, bos, 3, 4});
  CHECK(slice.mask == std::vector<double>{0, 0, 0, 0, 1, 1});
  // masked_sums: Σ mask · logp per row.
  std::vector<double> logp(slice.tokens.size());
  for (std::size_t i = 0; i < logp.size(); ++i) logp[i] = -double(i + 1);
  CHECK(masked_sums(logp, slice) == std::vector<double>{0.0, -5.0 - 6.0});

  NN_CHECK_THROWS_MENTIONING(pack_sequences(sequences, 0, 0, scored_span::response), rescan::value_error,
                             "pack_sequences", "count = 0");
  NN_CHECK_THROWS_MENTIONING(pack_sequences(sequences, -1, 2, scored_span::response), rescan::value_error,
                             "pack_sequences", "[-1, 1)", "there are 4");
  NN_CHECK_THROWS_MENTIONING(pack_sequences(sequences, 3, 2, scored_span::response), rescan::value_error,
                             "[3, 5)");
  const std::vector<std::pair<lm_sequence, std::string>> malformed = {
      {make_sequence({bos}, 1), "sequence 1 has 1 tokens"},
      {make_sequence({}, 1), "sequence 1 has 0 tokens"},
      {make_sequence({bos, 3, 4}, 0), "response_begin 0"},
      {make_sequence({bos, 3, 4}, 4), "response_begin 4"}};
  for (const auto& [sequence, message] : malformed) {
    CAPTURE(message);
    const std::vector<lm_sequence> bad = {sequences[0], sequence};
    NN_CHECK_THROWS_MENTIONING(pack_sequences(bad, 0, 2, scored_span::all_tokens), rescan::value_error,
                               "pack_sequences", message.c_str());
  }
}

TEST_CASE("pack_sequences: a sequence that does not start with bos throws") {
  const std::vector<lm_sequence> bad = {make_sequence({5, 6, 7, eos}, 2)};
  CHECK_THROWS_AS(pack_sequences(bad, 0, 1, scored_span::response), rescan::value_error);
}

TEST_CASE("SFT masks: no gradient reaches rows predicting prompt or padding tokens; padding ids change nothing") {
  const lm_config config = tiny_config(8);
  mamba_lm<double> model(config);
  init_perturbed(model, 11, 0.2);
  const index_t V = config.vocabulary;
  const std::vector<lm_sequence> sequences = {make_sequence({bos, 3, 4, 5, 6, 7, eos}, 4),
                                              make_sequence({bos, 7, 6, eos}, 3),
                                              make_sequence({bos, 5, 5, 5, 3, eos}, 5)};
  for (const scored_span span : {scored_span::response, scored_span::all_tokens}) {
    const bool responses_only = span == scored_span::response;
    CAPTURE(responses_only);
    const token_batch batch = pack_sequences(sequences, 0, 3, span);
    const index_t B = batch.batch, L = batch.length;
    std::vector<double> logits(std::size_t(B * L * V)), logp;
    model.forward(batch.tokens.data(), B, L, logits.data(), pass::inference);
    token_log_probs(logits.data(), batch, V, logp);
    double scored = 0;
    for (const double m : batch.mask) scored += m;
    std::vector<double> dlogp(logp.size());
    for (std::size_t i = 0; i < logp.size(); ++i) dlogp[i] = -batch.mask[i] / scored;
    std::vector<double> dlogits(logits.size());
    token_log_probs_backward(logits.data(), batch, V, dlogp, dlogits.data());
    for (index_t b = 0; b < B; ++b) {
      const lm_sequence& s = sequences[std::size_t(b)];
      for (index_t t = 1; t <= L; ++t) {
        // Row b·L + t − 1 predicts token t (t = L: nothing).
        const bool padding = t >= s.size();
        const bool prompt = t < s.response_begin;
        const bool predicts_scored = !padding && !(responses_only && prompt);
        double row_abs = 0;
        for (index_t v = 0; v < V; ++v) row_abs += std::abs(dlogits[std::size_t((b * L + t - 1) * V + v)]);
        CAPTURE(b);
        CAPTURE(t);
        if (predicts_scored) {
          CHECK(row_abs > 1e-6);
        } else {
          CHECK(row_abs == 0.0);
        }
      }
    }
    const double loss = masked_mean_loss(logp, batch);
    // Any ids in the padding: the model is causal and the mask is zero there.
    token_batch repadded = batch;
    random_generator random(12);
    for (index_t b = 0; b < B; ++b) {
      for (index_t t = sequences[std::size_t(b)].size(); t < L; ++t)
        repadded.tokens[std::size_t(b * L + t)] = std::int32_t(random.below(V));
    }
    REQUIRE(repadded.tokens != batch.tokens);
    std::vector<double> repadded_logp;
    model.forward(repadded.tokens.data(), B, L, logits.data(), pass::inference);
    token_log_probs(logits.data(), repadded, V, repadded_logp);
    CHECK(masked_mean_loss(repadded_logp, repadded) == doctest::Approx(loss).epsilon(1e-12));
    // Each sequence scores the same alone (no padding) as padded in the batch.
    const std::vector<double> sums = masked_sums(logp, batch);
    for (index_t b = 0; b < B; ++b) {
      const token_batch alone = pack_sequences(sequences, b, 1, span);
      std::vector<double> alone_logits(std::size_t(alone.length * V)), alone_logp;
      model.forward(alone.tokens.data(), 1, alone.length, alone_logits.data(), pass::inference);
      token_log_probs(alone_logits.data(), alone, V, alone_logp);
      CHECK(masked_sums(alone_logp, alone)[0] == doctest::Approx(sums[std::size_t(b)]).epsilon(1e-12));
    }
    // A prompt token, by contrast, changes the response's scores.
    token_batch other_prompt = batch;
    other_prompt.tokens[1] = other_prompt.tokens[1] == 3 ? 4 : 3;
    std::vector<double> other_logp;
    model.forward(other_prompt.tokens.data(), B, L, logits.data(), pass::inference);
    token_log_probs(logits.data(), other_prompt, V, other_logp);
    CHECK(std::abs(masked_sums(other_logp, other_prompt)[0] - sums[0]) > 1e-6);
  }
}

TEST_CASE("train_next_token: its first loss is the masked mean of −log π computed one sequence at a time") {
  const lm_config config = generator_config();
  mamba_lm<float> start(config);
  init_generator_model(start, 13);
  const std::vector<lm_sequence> sequences = {make_sequence({bos, 3, 4, 5, 6, 7, eos}, 4),
                                              make_sequence({bos, 7, 6, eos}, 3),
                                              make_sequence({bos, 5, 5, 5, 3, eos}, 5),
                                              make_sequence({bos, 4, eos}, 3)};
  for (const scored_span span : {scored_span::response, scored_span::all_tokens}) {
    CAPTURE(span == scored_span::response);
    double sum = 0, scored = 0;
    for (const lm_sequence& s : sequences) {
      std::vector<float> logits(std::size_t(s.size() * config.vocabulary));
      start.forward(s.tokens.data(), 1, s.size(), logits.data(), pass::inference);
      const index_t first = span == scored_span::response ? s.response_begin : 1;
      for (index_t t = first; t < s.size(); ++t) {
        const std::vector<double> row =
            plain_log_softmax(&logits[std::size_t((t - 1) * config.vocabulary)], config.vocabulary);
        sum += row[std::size_t(s.tokens[std::size_t(t)])];
        scored += 1;
      }
    }
    mamba_lm<float> model(config);
    model.copy_parameters_from(start);
    lm_train_options options;
    options.batch = index_t(sequences.size());
    options.quiet = true;
    const lm_train_record record = train_next_token(model, sequences, span, options);
    REQUIRE(record.step_losses.size() == 1);
    CHECK(record.examples == 4);
    CHECK(record.step_losses[0] == doctest::Approx(-sum / scored).epsilon(1e-5));
  }
}

TEST_CASE("train_next_token: the loss falls on a tiny repeated data set") {
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  model.init(17);
  std::vector<lm_sequence> sequences;
  for (int copy = 0; copy < 4; ++copy) {
    sequences.push_back(make_sequence({bos, 3, 4, 5, 6, eos}, 3));
    sequences.push_back(make_sequence({bos, 7, 6, 5, 4, eos}, 3));
    sequences.push_back(make_sequence({bos, 3, 3, 7, 7, eos}, 3));
  }
  lm_train_options options;
  options.epochs = 20;
  options.batch = 6;
  options.learning_rate = 2e-2;
  options.warmup_fraction = 0.1;
  options.quiet = true;
  const lm_train_record record = train_next_token(model, sequences, scored_span::all_tokens, options);
  REQUIRE(record.step_losses.size() == 40);
  CHECK(record.examples == 240);
  CAPTURE(record.step_losses.front());
  CAPTURE(record.step_losses.back());
  CHECK(record.step_losses.back() < 0.6 * record.step_losses.front());
  for (const double loss : record.step_losses) CHECK(std::isfinite(loss));
}

TEST_CASE("generation equals parallel scoring: generated log-probs are response_log_probs' terms") {
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  init_generator_model(model, 19);
  std::vector<ids> prompts;
  for (int copy = 0; copy < 3; ++copy) {
    for (const ids& prompt : mixed_prompts()) prompts.push_back(prompt);
  }
  generation_options options;
  options.max_tokens = 8;
  const std::vector<generated_response> responses = generate_responses(model, prompts, options, 23);
  REQUIRE(responses.size() == prompts.size());
  check_response_shapes(responses, options.max_tokens);
  std::vector<lm_sequence> sequences;
  index_t finished = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ids tokens = prompts[i];
    tokens.insert(tokens.end(), responses[i].tokens.begin(), responses[i].tokens.end());
    sequences.push_back(make_sequence(tokens, index_t(prompts[i].size())));
    finished += responses[i].finished ? 1 : 0;
  }
  CHECK(finished > 0);                         // some responses end with eos,
  CHECK(finished < index_t(prompts.size()));  // others run into max_tokens
  const std::vector<double> sums = response_log_probs(model, sequences);
  const std::vector<double> one_by_one = response_log_probs(model, sequences, 1);
  REQUIRE(sums.size() == sequences.size());
  const token_batch batch = pack_sequences(sequences, 0, index_t(sequences.size()), scored_span::response);
  std::vector<float> logits(std::size_t(batch.batch * batch.length * config.vocabulary));
  model.forward(batch.tokens.data(), batch.batch, batch.length, logits.data(), pass::inference);
  std::vector<double> logp;
  token_log_probs(logits.data(), batch, config.vocabulary, logp);
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    CAPTURE(i);
    double generated = 0;
    for (std::size_t k = 0; k < responses[i].log_probs.size(); ++k) {
      generated += responses[i].log_probs[k];
      const std::size_t position = std::size_t(batch.length) * i + std::size_t(sequences[i].response_begin) + k;
      CHECK(logp[position] == doctest::Approx(responses[i].log_probs[k]).epsilon(1e-4).scale(1));
    }
    CHECK(sums[i] == doctest::Approx(generated).epsilon(1e-4).scale(1));
    CHECK(one_by_one[i] == doctest::Approx(sums[i]).epsilon(1e-5).scale(1));
  }
  CHECK(response_log_probs(model, {}).empty());
  NN_CHECK_THROWS_MENTIONING(response_log_probs(model, sequences, 0), rescan::value_error, "response_log_probs",
                             "batch = 0");
}

TEST_CASE("generate_responses: greedy is the argmax of forward()'s logits over the allowed ids, and deterministic") {
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  init_generator_model(model, 29);
  const std::vector<ids> prompts = mixed_prompts();
  generation_options options;
  options.sampling.greedy = true;
  options.max_tokens = 6;
  const std::vector<generated_response> responses = generate_responses(model, prompts, options, 1);
  check_same_responses(responses, generate_responses(model, prompts, options, 2), 0.0);  // no draws: the seed is unused
  check_response_shapes(responses, options.max_tokens);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    CAPTURE(i);
    ids tokens = prompts[i];
    tokens.insert(tokens.end(), responses[i].tokens.begin(), responses[i].tokens.end());
    const index_t L = index_t(tokens.size()), V = config.vocabulary;
    std::vector<float> logits(std::size_t(L * V));
    model.forward(tokens.data(), 1, L, logits.data(), pass::inference);
    for (index_t t = index_t(prompts[i].size()); t < L; ++t) {
      const float* row = &logits[std::size_t((t - 1) * V)];
      std::int32_t best = -1;
      for (std::int32_t v = 0; v < std::int32_t(V); ++v) {
        if (v == pad || v == bos) continue;
        if (best < 0 || row[v] > row[best]) best = v;
      }
      CAPTURE(t);
      CHECK(tokens[std::size_t(t)] == best);
    }
  }
}

TEST_CASE("generate_responses: a seed gives the same samples whatever the batch; another seed others") {
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  init_generator_model(model, 31);
  std::vector<ids> prompts = mixed_prompts();
  prompts.push_back({bos, 3, 4});  // the first prompt again: its own draws, not the first's
  generation_options options;
  options.max_tokens = 7;
  options.batch = 64;
  const std::vector<generated_response> reference = generate_responses(model, prompts, options, 37);
  check_response_shapes(reference, options.max_tokens);
  for (const index_t batch : {1, 3, 64}) {
    CAPTURE(batch);
    options.batch = batch;
    check_same_responses(reference, generate_responses(model, prompts, options, 37), 1e-5);
  }
  // The first prompts alone: response i depends on the seed and i only.
  const std::vector<ids> head(prompts.begin(), prompts.begin() + 2);
  const std::vector<generated_response> alone = generate_responses(model, head, options, 37);
  check_same_responses({reference[0], reference[1]}, alone, 1e-5);
  // Another seed draws other responses (not all 8 the same by chance).
  const std::vector<generated_response> other = generate_responses(model, prompts, options, 38);
  index_t differing = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) differing += other[i].tokens != reference[i].tokens ? 1 : 0;
  CHECK(differing > 0);
  CHECK(reference.back().tokens != reference.front().tokens);
  CHECK(generate_responses(model, {}, options, 37).empty());
}

TEST_CASE("generate_responses: max_tokens is respected; a response is finished exactly when it ends with eos") {
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  init_generator_model(model, 41);
  std::vector<ids> prompts;
  for (int copy = 0; copy < 4; ++copy) {
    for (const ids& prompt : mixed_prompts()) prompts.push_back(prompt);
  }
  for (const index_t max_tokens : {1, 2, 5}) {
    CAPTURE(max_tokens);
    generation_options options;
    options.max_tokens = max_tokens;
    const std::vector<generated_response> responses = generate_responses(model, prompts, options, 43);
    check_response_shapes(responses, max_tokens);
    index_t full = 0;
    for (const generated_response& r : responses) full += index_t(r.tokens.size()) == max_tokens ? 1 : 0;
    CHECK(full > 0);
  }
}

TEST_CASE("generate_responses: pad and bos are never drawn, even when the model favours them") {
  // A model whose mixers output zero (out_proj = 0), so the features are the normalized embedding of
  // the current token, and whose embedding rows share a first component: pad's and bos's is 3,
  // the others' 1, so pad and bos get the largest logits after every token (≈ 6 against ≈ 2).
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  model.init(47);
  for (const std::string layer : {"0", "1"})
    for (float& w : model.parameters().find("backbone.layers." + layer + ".mixer.out_proj.weight")->value) w = 0;
  random_generator random(48);
  std::vector<float>& embedding = model.parameters().find("backbone.embedding.weight")->value;
  for (index_t v = 0; v < config.vocabulary; ++v) {
    for (index_t d = 0; d < config.d_model; ++d) {
      embedding[std::size_t(v * config.d_model + d)] =
          d == 0 ? (v == pad || v == bos ? 3.0f : 1.0f) : float(random.uniform(-0.2, 0.2));
    }
  }
  std::vector<ids> prompts;
  for (int copy = 0; copy < 5; ++copy) {
    for (const ids& prompt : mixed_prompts()) prompts.push_back(prompt);
  }
  // The premise: the unrestricted argmax is pad or bos everywhere.
  const ids probe = {bos, 3, 4, 5, 6, 7, eos};
  std::vector<float> logits(probe.size() * std::size_t(config.vocabulary));
  model.forward(probe.data(), 1, index_t(probe.size()), logits.data(), pass::inference);
  for (std::size_t row = 0; row < probe.size(); ++row) {
    const auto first = logits.begin() + std::ptrdiff_t(row) * config.vocabulary;
    const auto argmax = std::max_element(first, first + config.vocabulary) - first;
    CHECK((argmax == pad || argmax == bos));
  }
  for (const bool greedy : {true, false}) {
    for (const double temperature : {1.0, 3.0}) {
      CAPTURE(greedy);
      CAPTURE(temperature);
      generation_options options;
      options.sampling.greedy = greedy;
      options.sampling.temperature = temperature;
      options.max_tokens = 6;
      const std::vector<generated_response> responses = generate_responses(model, prompts, options, 49);
      check_response_shapes(responses, options.max_tokens);
      for (const generated_response& r : responses) {
        for (const std::int32_t token : r.tokens) {
          CHECK(token != pad);
          CHECK(token != bos);
          CHECK(token >= 0);
          CHECK(token < std::int32_t(config.vocabulary));
        }
      }
    }
  }
}

TEST_CASE("generate_responses: prompts without bos and bad options throw naming them") {
  const lm_config config = generator_config();
  mamba_lm<float> model(config);
  model.init(53);
  generation_options options;
  NN_CHECK_THROWS_MENTIONING(generate_responses(model, {{bos, 3}, {}}, options, 1), rescan::value_error,
                             "generate_responses", "prompts[1] must start with bos");
  NN_CHECK_THROWS_MENTIONING(generate_responses(model, {{3, 4}}, options, 1), rescan::value_error,
                             "prompts[0] must start with bos");
  options.max_tokens = 0;
  NN_CHECK_THROWS_MENTIONING(generate_responses(model, {{bos}}, options, 1), rescan::value_error,
                             "options.max_tokens = 0");
  options = generation_options{};
  options.batch = 0;
  NN_CHECK_THROWS_MENTIONING(generate_responses(model, {{bos}}, options, 1), rescan::value_error,
                             "options.batch = 0");
  options = generation_options{};
  options.sampling.temperature = 0;
  NN_CHECK_THROWS_MENTIONING(generate_responses(model, {{bos}}, options, 1), rescan::value_error, "temperature = 0");
  options = generation_options{};
  NN_CHECK_THROWS_MENTIONING(generate_responses(model, {{bos, 8}}, options, 1), rescan::value_error,
                             "tokens[0] = 8");
}

}  // namespace rescan_examples::testing
