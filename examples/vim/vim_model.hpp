// Vision Mamba (Vim, hustvl/Vim "v2" models) with R-MeeTo token merging, forward and backward by
// hand on rescan's primitives. Per image (B images in a batch):
//
//   patches   (B, M, C·p·p)   each p×p patch unfolded channel-major (c, y, x), M = (size / p)²
//   tokens    (B, T, D)       patch_embed(patches) with the class token inserted at M / 2 (T = M + 1),
//                             plus pos_embed (1, T, D)
//   block i:  [reduce]        merge (or prune) r_i tokens of hidden and residual with one plan,
//                             sizes tracked (R-MeeTo, token_reduction.hpp); T shrinks
//             residual = hidden + residual (hidden alone at i = 0); normed = RMSNorm(residual)
//             hidden   = bidirectional Mamba mixer (normed)
//   head      logits (B, classes) = head(RMSNorm_f(hidden + residual) at the class token)
//
// Backward: the gradient reaching a block's hidden input equals the one reaching its residual input
// (they are summed), so one tensor g flows back: through the mixer, the norm, and the merge's adjoint.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <rescan/rescan.hpp>

#include "common/nn/add_rms_norm.hpp"
#include "common/nn/linear.hpp"
#include "common/nn/mamba_mixer.hpp"
#include "common/nn/parameter.hpp"
#include "common/nn/pass.hpp"
#include "common/nn/random.hpp"
#include "token_reduction.hpp"
#include "vim_config.hpp"

namespace rescan_examples {

// Fashion-MNIST pixel statistics (mean and standard deviation of the training images in [0, 1]).
inline constexpr double fashion_mnist_mean = 0.2860;
inline constexpr double fashion_mnist_std = 0.3530;

template <class T>
class vim_model {
 public:
  explicit vim_model(const vim_config& config) : config_(config) {
    check_vim_config(config_);
    const index_t D = config_.d_model;
    patch_embed_ = linear<T>(params_, "patch_embed.proj", config_.patch_features(), D, true,
                             {D, config_.channels, config_.patch, config_.patch});
    cls_token_ = &params_.add("cls_token", {1, 1, D}, false);
    pos_embed_ = &params_.add("pos_embed", {1, config_.tokens(), D}, false);
    const mixer_config mixer = config_.mixer();
    blocks_.reserve(static_cast<std::size_t>(config_.depth));
    for (index_t i = 0; i < config_.depth; ++i) {
      const std::string prefix = "layers." + std::to_string(i);
      block b;
      b.mixer = mamba_mixer<T>(params_, prefix + ".mixer", mixer);
      b.norm = add_rms_norm<T>(params_, prefix + ".norm", D);
      blocks_.push_back(std::move(b));
    }
    norm_f_ = add_rms_norm<T>(params_, "norm_f", D);
    head_ = linear<T>(params_, "head", D, config_.classes, true);
  }
  vim_model(const vim_model&) = delete;  // layers point into params_
  vim_model& operator=(const vim_model&) = delete;

  const vim_config& config() const { return config_; }
  parameter_set<T>& parameters() { return params_; }
  const parameter_set<T>& parameters() const { return params_; }

  // Vim's initialization: patch embedding lecun-normal (truncated at 2 std), head and the
  // class/position embeddings truncated normal (std 0.02), biases zero, norms one; each mixer as
  // mamba_simple initializes it, out_proj rescaled by 1/sqrt(depth).
  void init(std::uint64_t seed) {
    random_generator rng(seed);
    const double patch_std = std::sqrt(1.0 / static_cast<double>(config_.patch_features())) / 0.87962566103423978;
    for (T& w : patch_embed_.weight().value) w = static_cast<T>(patch_std * truncated_standard_normal(rng));
    fill(patch_embed_.bias()->value, T(0));
    for (T& w : head_.weight().value) w = static_cast<T>(rng.truncated_normal(0.02));
    fill(head_.bias()->value, T(0));
    for (T& w : cls_token_->value) w = static_cast<T>(rng.truncated_normal(0.02));
    for (T& w : pos_embed_->value) w = static_cast<T>(rng.truncated_normal(0.02));
    for (block& b : blocks_) b.mixer.init(rng);
  }

  // images: (B, C, H, W) pixels in [0, 255]; logits: (B, classes) written. In training mode the
  // activations the backward pass needs are kept. reduction: none, or R-MeeTo merging / pruning.
  void forward(const std::uint8_t* images, index_t batch, T* logits, pass mode,
               const token_reduction& reduction = {}) {
    embed(images, batch, mode);
    run_blocks(batch, mode, reduction);
    classify(batch, logits, mode);
  }

  // dlogits: (B, classes), the gradient of the loss with respect to the logits of the last
  // training forward pass. Adds every parameter's gradient.
  void backward(const T* dlogits) {
    if (!trained_) throw std::logic_error("vim_model::backward: no training forward pass to differentiate");
    const index_t B = batch_, D = config_.d_model;
    // head and final norm, on the class token's row only.
    std::vector<T> dfeatures(static_cast<std::size_t>(B * D));
    head_.backward(dlogits, dfeatures.data());
    std::vector<T> dclass_sum(static_cast<std::size_t>(B * D));
    norm_f_.backward(dfeatures.data(), nullptr, dclass_sum.data());
    grad_.assign(static_cast<std::size_t>(B * tokens_ * D), T(0));
    for (index_t b = 0; b < B; ++b) {
      std::copy_n(&dclass_sum[static_cast<std::size_t>(b * D)], D, &grad_[static_cast<std::size_t>((b * tokens_ + class_position_) * D)]);
    }
    // blocks, last to first: g is the gradient of the block's output hidden and residual alike.
    std::vector<T> dnormed;
    for (index_t i = config_.depth - 1; i >= 0; --i) {
      block& b = blocks_[static_cast<std::size_t>(i)];
      dnormed.resize(grad_.size());
      b.mixer.backward(grad_.data(), dnormed.data());
      std::vector<T> dsum(grad_.size());
      b.norm.backward(dnormed.data(), grad_.data(), dsum.data());
      grad_.swap(dsum);
      if (!b.plan.empty()) {  // the merge's adjoint, the plan and the sizes held constant
        std::vector<T> spread(static_cast<std::size_t>(B * b.tokens_before * D));
        rescan::merge_weighted_backward(rescan::cpu, b.plan,
                                        rescan::make_view(static_cast<const T*>(b.sizes_before.data()), {B, b.tokens_before}),
                                        rescan::make_view(static_cast<const T*>(grad_.data()), {B, b.tokens_after, D}),
                                        rescan::make_view(spread.data(), {B, b.tokens_before, D}));
        grad_.swap(spread);
      }
    }
    embed_backward();
    trained_ = false;
  }

  // The number of tokens each block saw in the last forward pass (depth entries), and the merge
  // plans of the reducing blocks composed into one (original tokens -> final tokens; empty when
  // nothing was reduced): what token_map visualizations draw.
  const std::vector<index_t>& tokens_seen() const { return tokens_seen_; }
  // The class token's position in the last block's sequence of the last forward pass.
  index_t class_position() const { return class_position_; }
  rescan::merge_plan composed_plan() const {
    rescan::merge_plan composed;
    for (const block& b : blocks_) {
      if (b.plan.empty()) continue;
      composed = composed.empty() ? b.plan : rescan::compose(rescan::cpu, composed, b.plan);
    }
    return composed;
  }

 private:
  struct block {
    mamba_mixer<T> mixer;
    add_rms_norm<T> norm;
    rescan::merge_plan plan;        // of the last forward pass; empty when the block reduced nothing
    std::vector<T> sizes_before;    // (B, tokens_before) sizes the plan merged with
    index_t tokens_before = 0, tokens_after = 0;
  };

  static void fill(std::vector<T>& values, T value) { std::fill(values.begin(), values.end(), value); }
  static double truncated_standard_normal(random_generator& rng) {
    for (;;) {
      const double x = rng.normal();
      if (std::fabs(x) <= 2.0) return x;
    }
  }

  // images (B, C, H, W) -> hidden_ (B, T, D): patch embedding, class token at M / 2, positions.
  void embed(const std::uint8_t* images, index_t batch, pass mode) {
    const index_t B = batch, C = config_.channels, S = config_.image_size, p = config_.patch, g = config_.grid();
    const index_t M = config_.patches(), F = config_.patch_features(), D = config_.d_model, T0 = config_.tokens();
    if (batch < 1) throw std::invalid_argument("vim_model::forward: batch = " + std::to_string(batch) + " but must be >= 1");
    batch_ = B;
    std::vector<T> patches(static_cast<std::size_t>(B * M * F));
    const T scale = static_cast<T>(1.0 / (255.0 * fashion_mnist_std)), shift = static_cast<T>(fashion_mnist_mean / fashion_mnist_std);
#pragma omp parallel for schedule(static)
    for (index_t b = 0; b < B; ++b) {
      for (index_t patch = 0; patch < M; ++patch) {
        const index_t py = patch / g, px = patch % g;
        T* row = &patches[static_cast<std::size_t>((b * M + patch) * F)];
        for (index_t c = 0; c < C; ++c) {
          for (index_t y = 0; y < p; ++y) {
            const std::uint8_t* pixel = images + ((b * C + c) * S + py * p + y) * S + px * p;
            for (index_t x = 0; x < p; ++x) *row++ = static_cast<T>(pixel[x]) * scale - shift;
          }
        }
      }
    }
    std::vector<T> projected(static_cast<std::size_t>(B * M * D));
    patch_embed_.forward(patches.data(), B * M, projected.data(), mode);
    tokens_ = T0;
    class_position_ = config_.class_position();
    hidden_.resize(static_cast<std::size_t>(B * T0 * D));
    const T* pos = pos_embed_->value.data();
    for (index_t b = 0; b < B; ++b) {
      for (index_t t = 0; t < T0; ++t) {
        const T* source = t == class_position_ ? cls_token_->value.data()
                                               : &projected[static_cast<std::size_t>((b * M + t - (t > class_position_)) * D)];
        T* out = &hidden_[static_cast<std::size_t>((b * T0 + t) * D)];
        for (index_t d = 0; d < D; ++d) out[d] = source[d] + pos[t * D + d];
      }
    }
    residual_.clear();
  }

  // grad_ (B, T0, D) -> the gradients of pos_embed, cls_token and the patch embedding.
  void embed_backward() {
    const index_t B = batch_, M = config_.patches(), D = config_.d_model, T0 = config_.tokens();
    std::vector<T> dprojected(static_cast<std::size_t>(B * M * D));
    T* dpos = pos_embed_->grad.data();
    T* dcls = cls_token_->grad.data();
    for (index_t b = 0; b < B; ++b) {
      for (index_t t = 0; t < T0; ++t) {
        const T* g = &grad_[static_cast<std::size_t>((b * T0 + t) * D)];
        T* target = t == config_.class_position() ? dcls : &dprojected[static_cast<std::size_t>((b * M + t - (t > config_.class_position())) * D)];
        for (index_t d = 0; d < D; ++d) {
          dpos[t * D + d] += g[d];
          target[d] += g[d];
        }
      }
    }
    patch_embed_.backward(dprojected.data(), nullptr);
  }

  void run_blocks(index_t B, pass mode, const token_reduction& reduction) {
    const index_t D = config_.d_model;
    std::vector<T> sizes(static_cast<std::size_t>(B * tokens_), T(1));
    std::vector<T> normed, residual_out;
    tokens_seen_.clear();
    for (index_t i = 0; i < config_.depth; ++i) {
      block& b = blocks_[static_cast<std::size_t>(i)];
      b.plan = rescan::merge_plan();
      const index_t r = reduction.r_at(i);
      if (r > 0 && i > 0) reduce_tokens(b, B, r, reduction.mode, sizes, mode);
      tokens_seen_.push_back(tokens_);
      const index_t rows = B * tokens_;
      residual_out.resize(static_cast<std::size_t>(rows * D));
      normed.resize(static_cast<std::size_t>(rows * D));
      b.norm.forward(hidden_.data(), residual_.empty() ? nullptr : residual_.data(), rows, residual_out.data(),
                     normed.data(), mode);
      b.mixer.forward(normed.data(), B, tokens_, hidden_.data(), mode);
      residual_.swap(residual_out);
    }
  }

  // Merges (or prunes) r tokens of hidden_ and residual_ with one plan matched on hidden_.
  void reduce_tokens(block& b, index_t B, index_t r, reduction_mode reduce_mode, std::vector<T>& sizes, pass mode) {
    const index_t D = config_.d_model;
    rescan::matching_options options;
    options.class_token = class_position_;
    options.mode = reduce_mode == reduction_mode::prune ? rescan::merge_mode::prune : rescan::merge_mode::merge;
    auto hidden_in = rescan::make_view(static_cast<const T*>(hidden_.data()), {B, tokens_, D});
    b.plan = rescan::bipartite_soft_matching(rescan::cpu, hidden_in, r, options);
    const index_t after = b.plan.tokens_out();
    if (after == tokens_) {  // r clamped to nothing
      b.plan = rescan::merge_plan();
      return;
    }
    auto size_in = rescan::make_view(static_cast<const T*>(sizes.data()), {B, tokens_});
    std::vector<T> hidden_out(static_cast<std::size_t>(B * after * D)), residual_out(hidden_out.size());
    std::vector<T> sizes_out(static_cast<std::size_t>(B * after));
    rescan::merge_weighted(rescan::cpu, b.plan, hidden_in, size_in, rescan::make_view(hidden_out.data(), {B, after, D}),
                           rescan::make_view(sizes_out.data(), {B, after}));
    rescan::merge_weighted(rescan::cpu, b.plan, rescan::make_view(static_cast<const T*>(residual_.data()), {B, tokens_, D}),
                           size_in, rescan::make_view(residual_out.data(), {B, after, D}));
    b.tokens_before = tokens_;
    b.tokens_after = after;
    if (mode == pass::training) b.sizes_before = sizes;
    hidden_.swap(hidden_out);
    residual_.swap(residual_out);
    sizes.swap(sizes_out);
    tokens_ = after;
    class_position_ = b.plan.shared_class_token_out();
  }

  // hidden_ + residual_ at the class token -> final norm -> head -> logits (B, classes).
  void classify(index_t B, T* logits, pass mode) {
    const index_t D = config_.d_model;
    std::vector<T> hidden_class(static_cast<std::size_t>(B * D)), residual_class(hidden_class.size());
    for (index_t b = 0; b < B; ++b) {
      const std::size_t at = static_cast<std::size_t>((b * tokens_ + class_position_) * D);
      std::copy_n(&hidden_[at], D, &hidden_class[static_cast<std::size_t>(b * D)]);
      std::copy_n(&residual_[at], D, &residual_class[static_cast<std::size_t>(b * D)]);
    }
    std::vector<T> sum(hidden_class.size()), features(hidden_class.size());
    norm_f_.forward(hidden_class.data(), residual_class.data(), B, sum.data(), features.data(), mode);
    head_.forward(features.data(), B, logits, mode);
    trained_ = mode == pass::training;
  }

  vim_config config_;
  parameter_set<T> params_;
  linear<T> patch_embed_;
  parameter<T>* cls_token_ = nullptr;
  parameter<T>* pos_embed_ = nullptr;
  std::vector<block> blocks_;
  add_rms_norm<T> norm_f_;
  linear<T> head_;

  // State of the last forward pass.
  index_t batch_ = 0, tokens_ = 0, class_position_ = 0;
  std::vector<T> hidden_, residual_;  // (B, tokens_, D)
  std::vector<T> grad_;               // backward: gradient of the current block's output
  std::vector<index_t> tokens_seen_;
  bool trained_ = false;
};

}  // namespace rescan_examples
