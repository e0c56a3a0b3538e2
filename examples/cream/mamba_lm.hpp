// A small Mamba language model (mamba_ssm's MambaLMHeadModel, in miniature), forward and backward by
// hand on rescan's primitives. For B sequences of L token ids:
//
//   hidden    (B·L, D)   embedding[tokens]
//   layer i:  residual = hidden + residual (hidden alone at i = 0); normed = RMSNorm(residual)
//             hidden   = unidirectional Mamba mixer (normed)
//   features  (B·L, D)   RMSNorm_f(hidden + residual)
//   logits    (B·L, V)   features · embeddingᵀ   (the LM head is tied to the embedding)
//
// Row b·L + t of the logits scores the token at position t + 1 of sequence b. Two ways to run it
// that agree (up to rounding): forward() over whole sequences (the selective scan), and step() one
// token at a time with O(1) state per sequence (the conv window and rescan::selective_state_update),
// for generation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/nn/add_rms_norm.hpp"
#include "common/nn/mamba_mixer.hpp"
#include "common/nn/matrix.hpp"
#include "common/nn/parameter.hpp"
#include "common/nn/pass.hpp"
#include "common/nn/random.hpp"

namespace rescan_examples {

struct lm_config {
  index_t vocabulary = 0;  // V
  index_t d_model = 64;    // D
  index_t layers = 4;
  index_t d_state = 16;    // N
  index_t expand = 2;      // E = expand · D
  index_t d_conv = 4;

  mixer_config mixer() const {
    mixer_config config;
    config.d_model = d_model, config.d_state = d_state, config.expand = expand, config.d_conv = d_conv;
    config.bidirectional = false;
    config.layers = layers;
    return config;
  }
};

template <class T>
class mamba_lm {
 public:
  // Parameters under mamba_ssm's names: backbone.embedding.weight (V, D), backbone.layers.<i>.mixer.*,
  // backbone.layers.<i>.norm.weight (D), backbone.norm_f.weight (D); no separate lm_head.weight.
  explicit mamba_lm(const lm_config& config) : config_(config) {
    const std::string function = "mamba_lm";
    detail::check_at_least(function, "config.vocabulary", config.vocabulary, 1);
    detail::check_at_least(function, "config.layers", config.layers, 1);
    const mixer_config mixer = config.mixer();
    check_mixer_config(function, mixer);
    embedding_ = &params_.add("backbone.embedding.weight", {config.vocabulary, config.d_model});
    layers_.reserve(static_cast<std::size_t>(config.layers));
    for (index_t i = 0; i < config.layers; ++i) {
      const std::string prefix = "backbone.layers." + std::to_string(i);
      layer l;
      l.mixer = mamba_mixer<T>(params_, prefix + ".mixer", mixer);
      l.norm = add_rms_norm<T>(params_, prefix + ".norm", config.d_model);
      layers_.push_back(std::move(l));
    }
    norm_f_ = add_rms_norm<T>(params_, "backbone.norm_f", config.d_model);
  }
  mamba_lm(const mamba_lm&) = delete;  // layers point into params_
  mamba_lm& operator=(const mamba_lm&) = delete;

  const lm_config& config() const { return config_; }
  parameter_set<T>& parameters() { return params_; }
  const parameter_set<T>& parameters() const { return params_; }

  // mamba_ssm's initialization: embedding N(0, 0.02²), each mixer as mamba_simple does it (out_proj
  // rescaled by 1/sqrt(layers)), norms one.
  void init(std::uint64_t seed) {
    random_generator random(seed);
    for (T& w : embedding_->value) w = T(0.02 * random.normal());
    for (layer& l : layers_) l.mixer.init(random);
  }

  // Copies every parameter value from a model of the same configuration (gradients untouched).
  // Throws value_error when the configurations differ (nothing copied then).
  void copy_parameters_from(const mamba_lm& other) {
    const lm_config& a = config_;
    const lm_config& b = other.config_;
    if (a.vocabulary != b.vocabulary || a.d_model != b.d_model || a.layers != b.layers || a.d_state != b.d_state ||
        a.expand != b.expand || a.d_conv != b.d_conv) {
      detail::fail("mamba_lm::copy_parameters_from: the other model has another configuration");
    }
    auto to = params_.begin();
    for (const parameter<T>& from : other.params_) (to++)->value = from.value;
  }

  // tokens: (batch, length) ids in [0, V) -> logits: (batch · length, V), written. In training mode
  // the activations the backward pass needs are kept.
  void forward(const std::int32_t* tokens, index_t batch, index_t length, T* logits, pass mode) {
    constexpr const char* function = "mamba_lm::forward";
    detail::check_at_least(function, "batch", batch, 1);
    detail::check_at_least(function, "length", length, 1);
    detail::check_given(function, "logits", logits);
    const index_t rows = batch * length, D = config_.d_model;
    trained_ = false;
    embed(tokens, rows, function);
    residual_.clear();
    std::vector<T> residual_out(static_cast<std::size_t>(rows * D));
    normed_.resize(static_cast<std::size_t>(rows * D));
    for (layer& l : layers_) {
      l.norm.forward(hidden_.data(), residual_.empty() ? nullptr : residual_.data(), rows, residual_out.data(),
                     normed_.data(), mode);
      l.mixer.forward(normed_.data(), batch, length, hidden_.data(), mode);
      residual_.swap(residual_out);
      residual_out.resize(static_cast<std::size_t>(rows * D));
    }
    norm_f_.forward(hidden_.data(), residual_.data(), rows, residual_out.data(), normed_.data(), mode);
    project(normed_.data(), rows, logits);
    rows_ = rows;
    trained_ = mode == pass::training;
  }

  // dlogits: (batch · length, V) for the last training forward pass. Adds every parameter's
  // gradient (the embedding's from both its uses).
  void backward(const T* dlogits) {
    constexpr const char* function = "mamba_lm::backward";
    if (!trained_) detail::fail(function, ": no training forward pass to differentiate");
    detail::check_given(function, "dlogits", dlogits);
    trained_ = false;
    const index_t rows = rows_, D = config_.d_model, V = config_.vocabulary;
    const auto dlogits_matrix = detail::as_matrix(dlogits, rows, V);
    // logits = features · Eᵀ:  dE += dlogitsᵀ · features,  dfeatures = dlogits · E.
    detail::as_matrix(embedding_->grad.data(), V, D).noalias() +=
        dlogits_matrix.transpose() * detail::as_matrix<const T>(normed_.data(), rows, D);
    std::vector<T> dnormed(static_cast<std::size_t>(rows * D)), gradient(dnormed.size());
    detail::as_matrix(dnormed.data(), rows, D).noalias() = dlogits_matrix * embedding_matrix();
    norm_f_.backward(dnormed.data(), nullptr, gradient.data());
    // gradient: of the current layer's output hidden and residual alike.
    for (auto l = layers_.rbegin(); l != layers_.rend(); ++l) {
      l->mixer.backward(gradient.data(), dnormed.data());
      l->norm.backward(dnormed.data(), gradient.data(), gradient.data());
    }
    for (index_t row = 0; row < rows; ++row) {
      T* target = embedding_->grad.data() + std::size_t(tokens_[std::size_t(row)]) * std::size_t(D);
      const T* source = gradient.data() + row * D;
      for (index_t d = 0; d < D; ++d) target[d] += source[d];
    }
  }

  // Token-by-token decoding of `batch` sequences: one mixer state per layer.
  struct decoding_state {
    index_t batch = 0;
    std::vector<typename mamba_mixer<T>::decoding_state> layers;
  };
  decoding_state start_decoding(index_t batch) const {
    decoding_state state;
    state.batch = batch;
    for (const layer& l : layers_) state.layers.push_back(l.mixer.start_decoding(batch));
    return state;
  }

  // tokens: (batch), the next token of each sequence -> logits: (batch, V), written, scoring the
  // token after it; state advanced. Equals forward()'s rows for that position (up to rounding).
  void step(const std::int32_t* tokens, decoding_state& state, T* logits) {
    constexpr const char* function = "mamba_lm::step";
    detail::check_given(function, "logits", logits);
    if (state.layers.size() != layers_.size()) detail::fail(function, ": state does not fit this model");
    const index_t rows = state.batch, D = config_.d_model;
    trained_ = false;
    embed(tokens, rows, function);
    std::vector<T> residual(static_cast<std::size_t>(rows * D)), normed(residual.size());
    bool first = true;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i].norm.forward(hidden_.data(), first ? nullptr : residual.data(), rows, residual.data(), normed.data(),
                              pass::inference);
      layers_[i].mixer.step(normed.data(), state.layers[i], hidden_.data());
      first = false;
    }
    norm_f_.forward(hidden_.data(), residual.data(), rows, residual.data(), normed.data(), pass::inference);
    project(normed.data(), rows, logits);
  }

 private:
  struct layer {
    mamba_mixer<T> mixer;
    add_rms_norm<T> norm;
  };

  auto embedding_matrix() const {
    return detail::as_matrix<const T>(embedding_->value.data(), config_.vocabulary, config_.d_model);
  }

  // hidden_ (rows, D) = embedding rows of tokens (rows); tokens_ keeps the ids for backward.
  void embed(const std::int32_t* tokens, index_t rows, const char* function) {
    detail::check_given(function, "tokens", tokens);
    const index_t D = config_.d_model;
    for (index_t row = 0; row < rows; ++row) {
      if (tokens[row] < 0 || tokens[row] >= config_.vocabulary) {
        detail::fail(function, ": tokens[", row, "] = ", tokens[row], " but ids must be in [0, ", config_.vocabulary,
                     ")");
      }
    }
    tokens_.assign(tokens, tokens + rows);
    hidden_.resize(static_cast<std::size_t>(rows * D));
    for (index_t row = 0; row < rows; ++row) {
      std::copy_n(embedding_->value.data() + std::size_t(tokens[row]) * std::size_t(D), D, hidden_.data() + row * D);
    }
  }

  // logits (rows, V) = features (rows, D) · Eᵀ
  void project(const T* features, index_t rows, T* logits) const {
    detail::as_matrix(logits, rows, config_.vocabulary).noalias() =
        detail::as_matrix(features, rows, config_.d_model) * embedding_matrix().transpose();
  }

  lm_config config_;
  parameter_set<T> params_;
  parameter<T>* embedding_ = nullptr;  // (V, D)
  std::vector<layer> layers_;
  add_rms_norm<T> norm_f_;

  // The last forward pass.
  index_t rows_ = 0;
  bool trained_ = false;
  std::vector<std::int32_t> tokens_;        // (rows)
  std::vector<T> hidden_, residual_;        // (rows, D)
  std::vector<T> normed_;                   // (rows, D): the final features after forward()
};

}  // namespace rescan_examples
