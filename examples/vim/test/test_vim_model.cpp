// The Vim model end to end: gradients of the whole model against central finite differences
// (double), merging with r = 0 is the unmerged model bit for bit, the class token is tracked
// through merging and pruning, parameter counts of the paper's models, checkpoint round trip.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "common/checkpoint/parameter_checkpoint.hpp"
#include "vim_model.hpp"

using namespace rescan_examples;

namespace {

// A Vim small enough for finite differences: 8×8×2 images in 2×2 patches (16 patches + class
// token), width 6, depth 5 (blocks 2 and 4 reduce), N 3.
vim_config small_config() {
  vim_config config;
  config.name = "small";
  config.image_size = 8;
  config.channels = 2;
  config.patch = 2;
  config.d_model = 6;
  config.depth = 5;
  config.d_state = 3;
  config.dt_rank = 2;
  config.classes = 3;
  return config;
}

std::vector<std::uint8_t> random_images(index_t count, const vim_config& config, std::uint64_t seed) {
  random_generator rng(seed);
  std::vector<std::uint8_t> images(static_cast<std::size_t>(count * config.channels * config.image_size * config.image_size));
  for (auto& pixel : images) pixel = static_cast<std::uint8_t>(rng.below(256));
  return images;
}

// Σ w ⊙ logits, with fixed random w: a scalar whose gradient reaches every parameter.
template <class T>
double objective(vim_model<T>& model, const std::vector<std::uint8_t>& images, index_t batch,
                 const std::vector<T>& weights, const token_reduction& reduction) {
  std::vector<T> logits(weights.size());
  model.forward(images.data(), batch, logits.data(), pass::inference, reduction);
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) sum += static_cast<double>(weights[i]) * static_cast<double>(logits[i]);
  return sum;
}

// Every parameter's gradient (`samples` entries of each, evenly spaced) against central differences.
void check_model_gradients(const token_reduction& reduction, const vim_config& config = small_config(),
                           index_t batch = 2, index_t samples = 7) {
  vim_model<double> model(config);
  model.init(7);
  // Perturb the trivial initial values (D = 1, norms = 1, zero biases) so no symmetry hides a bug.
  random_generator rng(11);
  for (parameter<double>& p : model.parameters()) {
    for (double& v : p.value) v += 0.1 * rng.uniform(-1, 1);
  }
  const auto images = random_images(batch, config, 3);
  std::vector<double> weights(static_cast<std::size_t>(batch * config.classes));
  for (double& w : weights) w = rng.uniform(-1, 1);

  std::vector<double> logits(weights.size());
  model.parameters().zero_grad();
  model.forward(images.data(), batch, logits.data(), pass::training, reduction);
  model.backward(weights.data());
  for (std::size_t i = 0; i < logits.size(); ++i) CHECK(std::isfinite(logits[i]));

  const double h = 1e-6;
  index_t checked = 0;
  for (parameter<double>& p : model.parameters()) {
    const index_t stride = std::max<index_t>(1, p.size() / samples);
    for (index_t i = 0; i < p.size(); i += stride) {
      const double saved = p.value[static_cast<std::size_t>(i)];
      p.value[static_cast<std::size_t>(i)] = saved + h;
      const double plus = objective(model, images, batch, weights, reduction);
      p.value[static_cast<std::size_t>(i)] = saved - h;
      const double minus = objective(model, images, batch, weights, reduction);
      p.value[static_cast<std::size_t>(i)] = saved;
      const double numeric = (plus - minus) / (2 * h);
      const double analytic = p.grad[static_cast<std::size_t>(i)];
      INFO(p.name, "[", i, "]: analytic ", analytic, ", numeric ", numeric);
      CHECK(std::fabs(analytic - numeric) <= 1e-6 + 1e-5 * std::fabs(numeric));
      ++checked;
    }
  }
  CHECK(checked > 50 * samples / 7);
}

}  // namespace

TEST_CASE("vim: gradients of the whole model match central differences") {
  SUBCASE("unmerged") { check_model_gradients({}); }
  SUBCASE("merging 3 tokens at blocks 2 and 4") {
    check_model_gradients(rmeeto_reduction(reduction_mode::merge, 3, small_config().depth));
  }
  SUBCASE("pruning 3 tokens at blocks 2 and 4") {
    check_model_gradients(rmeeto_reduction(reduction_mode::prune, 3, small_config().depth));
  }
  SUBCASE("merging 2 tokens at every block from 1 on") {
    check_model_gradients(rmeeto_reduction(reduction_mode::merge, 2, small_config().depth, 1));
  }
  SUBCASE("the demo's tiny model, merging as the demo does (r = 10 at blocks 2, 4, 6)") {
    const vim_config tiny = vim_config_named("tiny");
    check_model_gradients(rmeeto_reduction(reduction_mode::merge, 10, tiny.depth), tiny, 1, 2);
  }
}

TEST_CASE("vim: merging with r = 0 is the unmerged forward, bit for bit") {
  const vim_config config = small_config();
  vim_model<float> model(config);
  model.init(1);
  const index_t batch = 3;
  const auto images = random_images(batch, config, 5);
  std::vector<float> plain(static_cast<std::size_t>(batch * config.classes)), merged(plain.size());
  model.forward(images.data(), batch, plain.data(), pass::inference);
  token_reduction zero;
  zero.mode = reduction_mode::merge;
  zero.r_per_layer.assign(static_cast<std::size_t>(config.depth), 0);
  model.forward(images.data(), batch, merged.data(), pass::inference, zero);
  CHECK(std::memcmp(plain.data(), merged.data(), plain.size() * sizeof(float)) == 0);
  CHECK(model.tokens_seen() == std::vector<index_t>(static_cast<std::size_t>(config.depth), config.tokens()));
}

TEST_CASE("vim: the class token is followed through merging and pruning") {
  const vim_config config = small_config();
  vim_model<float> model(config);
  model.init(2);
  const index_t batch = 4;
  const auto images = random_images(batch, config, 9);
  std::vector<float> logits(static_cast<std::size_t>(batch * config.classes));
  for (reduction_mode mode : {reduction_mode::merge, reduction_mode::prune}) {
    const token_reduction reduction = rmeeto_reduction(mode, 4, config.depth);
    model.forward(images.data(), batch, logits.data(), pass::inference, reduction);
    CHECK(model.tokens_seen() == tokens_per_block(config, reduction));
    CHECK(model.tokens_seen().back() == config.tokens() - 8);
    const rescan::merge_plan plan = model.composed_plan();
    for (index_t b = 0; b < batch; ++b) {
      // The class token is never merged into another token, and it is where the head reads it.
      const index_t class_out = plan.destination()(b, config.class_position());
      CHECK(class_out == model.class_position());
      CHECK(plan.offsets()(b, class_out + 1) - plan.offsets()(b, class_out) == 1);
    }
  }
  // 17 tokens, r = 4 at blocks 2 and 4: 17 -> 13 -> 9, the class token from 8 to 8·13/17 = 6 to 6·9/13 = 4.
  CHECK(model.class_position() == 4);
}

TEST_CASE("vim: parameter counts of the paper's models") {
  CHECK(vim_model<float>(vim_config_named("ti")).parameters().total_size() == 7148008);
  CHECK(vim_model<float>(vim_config_named("s")).parameters().total_size() == 25796584);
  CHECK(vim_model<float>(vim_config_named("b")).parameters().total_size() == 97598440);
  CHECK(vim_model<float>(vim_config_named("ti", 10)).parameters().total_size() == 7148008 - 990 * 193);
  CHECK_THROWS_WITH_AS(vim_config_named("huge"), doctest::Contains("choose tiny, ti, s or b"), std::invalid_argument);
  vim_config odd = small_config();
  odd.patch = 3;
  CHECK_THROWS_WITH_AS(check_vim_config(odd), doctest::Contains("must divide image_size"), std::invalid_argument);
}

TEST_CASE("vim: Vim-Ti runs forward and backward at 224×224×3") {
  const vim_config config = vim_config_named("ti");
  vim_model<float> model(config);
  model.init(3);
  const auto images = random_images(1, config, 4);
  std::vector<float> logits(static_cast<std::size_t>(config.classes)), dlogits(logits.size(), 1e-3f);
  model.forward(images.data(), 1, logits.data(), pass::training, rmeeto_reduction(reduction_mode::merge, 5, config.depth));
  model.backward(dlogits.data());
  CHECK(model.tokens_seen().back() == 197 - 5 * 11);
  for (float v : logits) CHECK(std::isfinite(v));
  double norm = 0;
  for (const parameter<float>& p : model.parameters()) {
    for (float g : p.grad) norm += static_cast<double>(g) * g;
  }
  CHECK(std::isfinite(norm));
  CHECK(norm > 0);
  CHECK(model.parameters().find("layers.23.mixer.A_b_log") != nullptr);
  CHECK(model.parameters().find("patch_embed.proj.weight")->shape == std::vector<index_t>{192, 3, 16, 16});
}

TEST_CASE("vim: a checkpoint round trip keeps every bit; a model's misuse is an error") {
  const vim_config config = small_config();
  vim_model<float> model(config), loaded(config);
  model.init(4);
  loaded.init(5);
  const std::string path = (std::filesystem::temp_directory_path() / "rescan_vim_roundtrip.safetensors").string();
  save_checkpoint(path, model.parameters(), {{"config", "small"}});
  const auto metadata = load_checkpoint(path, loaded.parameters());
  CHECK(metadata.at("config") == "small");
  auto other = loaded.parameters().begin();
  for (const parameter<float>& p : model.parameters()) {
    CHECK(p.value == other->value);
    ++other;
  }
  vim_config wider = config;
  wider.d_model = 8;
  vim_model<float> misfit(wider);
  CHECK_THROWS_WITH_AS(load_checkpoint(path, misfit.parameters()), doctest::Contains("misshaped"), format_error);
  std::filesystem::remove(path);

  std::vector<float> dlogits(static_cast<std::size_t>(config.classes));
  CHECK_THROWS_WITH_AS(model.backward(dlogits.data()), doctest::Contains("no training forward pass"), std::logic_error);
  std::vector<float> logits(dlogits.size());
  CHECK_THROWS_WITH_AS(model.forward(nullptr, 0, logits.data(), pass::inference), doctest::Contains("batch = 0"),
                       std::invalid_argument);
}
