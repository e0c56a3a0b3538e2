#include "commands.hpp"

#include <chrono>
#include <cstdio>
#include <memory>

#include "common/checkpoint/parameter_checkpoint.hpp"
#include "training.hpp"

namespace rescan_examples {

namespace {

void declare_model_options(arguments& args) {
  args.option("config", "", "model configuration: tiny, ti, s or b (default: the checkpoint's, else tiny)");
}

void declare_reduction_options(arguments& args) {
  args.option("merge-r", "0", "tokens merged at every reducing block (R-MeeTo)")
      .option("prune-r", "0", "tokens pruned at every reducing block (the baseline)")
      .option("interval", "2", "blocks i > 0 with i % interval == 0 reduce");
}

void declare_training_options(arguments& args, const char* epochs, const char* lr) {
  args.option("epochs", epochs, "epochs")
      .option("batch", "64", "images per optimizer step")
      .option("lr", lr, "peak learning rate (AdamW, cosine schedule)")
      .option("weight-decay", "0.05", "AdamW's decoupled weight decay")
      .option("warmup", "0.3", "warm-up epochs")
      .option("label-smoothing", "0.1", "label smoothing of the cross-entropy")
      .option("limit", "0", "train on the first n images only (0 = all)")
      .option("test-limit", "0", "evaluate on the first n test images only (0 = all)")
      .option("seed", "0", "random seed (initialization, shuffling)")
      .option("log", "", "JSON-lines log of every epoch");
}

// The configuration: --config, else the checkpoint's metadata, else tiny.
vim_config config_for(const arguments& args, const std::map<std::string, std::string>& metadata) {
  std::string name = args.text("config");
  if (name.empty()) name = metadata.count("config") ? metadata.at("config") : "tiny";
  index_t classes = 0;
  if (metadata.count("classes")) classes = std::stoll(metadata.at("classes"));
  return vim_config_named(name, classes);
}

std::map<std::string, std::string> checkpoint_metadata(const vim_config& config) {
  return {{"format", "rescan vim"}, {"config", config.name}, {"classes", std::to_string(config.classes)}};
}

// A model from --checkpoint (required) and --config.
std::unique_ptr<vim_model<float>> load_model(const arguments& args) {
  if (!args.has("checkpoint")) throw usage_error("--checkpoint is required");
  const std::string path = args.text("checkpoint");
  const auto metadata = read_safetensors(path).metadata;
  auto model = std::make_unique<vim_model<float>>(config_for(args, metadata));
  load_checkpoint(path, model->parameters());
  return model;
}

train_options training_options_from(const arguments& args) {
  train_options options;
  options.epochs = args.integer("epochs", 0, 1000);
  options.batch = args.integer("batch", 1, 65536);
  options.learning_rate = args.real("lr", 0, 1);
  options.min_learning_rate = std::min(options.min_learning_rate, options.learning_rate);
  options.weight_decay = args.real("weight-decay", 0, 1);
  options.warmup_epochs = args.real("warmup", 0, 1000);
  options.label_smoothing = args.real("label-smoothing", 0, 1);
  options.train_limit = args.integer("limit", 0, 1 << 30);
  options.test_limit = args.integer("test-limit", 0, 1 << 30);
  options.seed = static_cast<std::uint64_t>(args.integer("seed", 0, INT64_MAX));
  options.log_path = args.text("log");
  return options;
}

}  // namespace

bool parse_command(const char* command, const char* summary, arguments& args, int argc, const char* const* argv,
                   int first) {
  if (!parse_or_print_help(std::string("rmeeto ") + command, summary, args, argc, argv, first)) return false;
  apply_thread_option(args);
  return true;
}

void declare_common_options(arguments& args) {
  args.option("threads", "0", "threads (0 = OpenMP's default: every core)")
      .option("data", "", "Fashion-MNIST directory (default: $RESCAN_FASHION_MNIST_DIR or the Debian package's)");
}

fashion_mnist load_data(const arguments& args) {
  return args.text("data").empty() ? load_fashion_mnist() : load_fashion_mnist(args.text("data"));
}

void check_reduction_options(const arguments& args) {
  const index_t merge_r = args.integer("merge-r", 0, 1 << 20), prune_r = args.integer("prune-r", 0, 1 << 20);
  if (merge_r > 0 && prune_r > 0) throw usage_error("give --merge-r or --prune-r, not both");
  args.integer("interval", 1, 1 << 20);
}

token_reduction reduction_from(const arguments& args, index_t depth) {
  check_reduction_options(args);
  const index_t merge_r = args.integer("merge-r", 0, 1 << 20), prune_r = args.integer("prune-r", 0, 1 << 20);
  const index_t interval = args.integer("interval", 1, 1 << 20);
  return merge_r > 0 ? rmeeto_reduction(reduction_mode::merge, merge_r, depth, interval)
                     : rmeeto_reduction(reduction_mode::prune, prune_r, depth, interval);
}

void copy_parameters(const vim_model<float>& from, vim_model<float>& to) {
  auto source = from.parameters().begin();
  for (parameter<float>& p : to.parameters()) {
    p.value = source->value;
    ++source;
  }
}

int command_train(int argc, const char* const* argv, int first) {
  arguments args;
  declare_common_options(args);
  declare_model_options(args);
  declare_training_options(args, "3", "0.004");
  args.option("out", "vim_tiny.safetensors", "checkpoint to write");
  if (!parse_command("train", "Trains a Vim on Fashion-MNIST from scratch and saves a safetensors checkpoint.", args,
                     argc, argv, first)) {
    return 0;
  }
  const vim_config config = config_for(args, {});
  train_options options = training_options_from(args);
  const fashion_mnist data = load_data(args);
  vim_model<float> model(config);
  model.init(options.seed);
  std::printf("Vim '%s': %lld parameters, %lld tokens, depth %lld\n", config.name.c_str(),
              static_cast<long long>(model.parameters().total_size()), static_cast<long long>(config.tokens()),
              static_cast<long long>(config.depth));
  const auto records = train_vim(model, data.train, data.test, options);
  save_checkpoint(args.text("out"), model.parameters(), checkpoint_metadata(config));
  std::printf("test top-1 %.2f%%; checkpoint %s\n", 100 * (records.empty() ? 0.0 : records.back().test_top1),
              args.text("out").c_str());
  return 0;
}

int command_eval(int argc, const char* const* argv, int first) {
  arguments args;
  declare_common_options(args);
  declare_model_options(args);
  declare_reduction_options(args);
  args.option("checkpoint", "", "checkpoint to evaluate (required)").option("limit", "0", "first n test images (0 = all)");
  if (!parse_command("eval", "Test top-1 of a checkpoint, optionally with token merging or pruning and no re-training.",
                     args, argc, argv, first)) {
    return 0;
  }
  check_reduction_options(args);
  auto model = load_model(args);
  const token_reduction reduction = reduction_from(args, model->config().depth);
  const fashion_mnist data = load_data(args);
  const double top1 = evaluate_vim(*model, data.test, reduction, 256, args.integer("limit", 0, 1 << 30));
  std::printf("test top-1 %.2f%% (%s, token-layer reduction %.1f%%)\n", 100 * top1, name_of(reduction.mode),
              100 * token_layer_reduction(model->config(), reduction));
  return 0;
}

int command_retrain(int argc, const char* const* argv, int first) {
  arguments args;
  declare_common_options(args);
  declare_model_options(args);
  declare_reduction_options(args);
  declare_training_options(args, "1", "0.002");
  args.option("checkpoint", "", "the trained, unmerged model: the student's start and the teacher (required)")
      .option("distill", "0.5", "weight of the distillation term")
      .option("out", "vim_tiny_retrained.safetensors", "checkpoint to write");
  if (!parse_command("retrain",
                     "Re-trains a checkpoint with token merging (R-MeeTo), distilled from the unmerged model.", args,
                     argc, argv, first)) {
    return 0;
  }
  check_reduction_options(args);
  training_options_from(args);  // every option checked before the checkpoint is read
  auto teacher = load_model(args);
  vim_model<float> student(teacher->config());
  copy_parameters(*teacher, student);
  train_options options = training_options_from(args);
  options.reduction = reduction_from(args, student.config().depth);
  options.distill_weight = args.real("distill", 0, 1);
  options.phase = "retrain";
  const fashion_mnist data = load_data(args);
  const auto records = train_vim(student, data.train, data.test, options, teacher.get());
  save_checkpoint(args.text("out"), student.parameters(), checkpoint_metadata(student.config()));
  std::printf("re-trained test top-1 %.2f%% with %s; checkpoint %s\n",
              100 * (records.empty() ? evaluate_vim(student, data.test, options.reduction) : records.back().test_top1),
              name_of(options.reduction.mode), args.text("out").c_str());
  return 0;
}

int command_bench(int argc, const char* const* argv, int first) {
  arguments args;
  declare_common_options(args);
  declare_model_options(args);
  declare_reduction_options(args);
  args.option("checkpoint", "", "checkpoint (default: a freshly initialized model)")
      .option("batch", "256", "images per forward pass")
      .option("images", "2048", "images per timed pass")
      .option("repeats", "5", "timed passes (the median is reported)");
  if (!parse_command("bench", "Inference images/s without and with token reduction, and their ratio.", args, argc, argv,
                     first)) {
    return 0;
  }
  std::unique_ptr<vim_model<float>> model;
  if (args.has("checkpoint")) {
    model = load_model(args);
  } else {
    model = std::make_unique<vim_model<float>>(config_for(args, {}));
    model->init(0);
  }
  token_reduction reduction = reduction_from(args, model->config().depth);
  if (!reduction.active()) reduction = rmeeto_reduction(reduction_mode::merge, 5, model->config().depth);
  const fashion_mnist data = load_data(args);
  const index_t batch = args.integer("batch", 1, 65536), images = args.integer("images", 1, 1 << 20);
  const index_t repeats = args.integer("repeats", 1, 1000);
  const double plain = measure_vim_throughput(*model, data.test, {}, batch, images, repeats);
  const double reduced = measure_vim_throughput(*model, data.test, reduction, batch, images, repeats);
  std::printf("unmerged %.0f img/s, %s (token-layer reduction %.1f%%) %.0f img/s, speed-up %.2fx\n", plain,
              name_of(reduction.mode), 100 * token_layer_reduction(model->config(), reduction), reduced,
              reduced / plain);
  return 0;
}

int command_info(int argc, const char* const* argv, int first) {
  arguments args;
  declare_common_options(args);
  declare_reduction_options(args);
  args.option("config", "tiny", "model configuration: tiny, ti, s or b");
  if (!parse_command("info",
                     "Builds a configuration, prints its parameter count and tokens per block, and times one training\n"
                     "step (forward + backward) on one random image.",
                     args, argc, argv, first)) {
    return 0;
  }
  check_reduction_options(args);
  const vim_config config = vim_config_named(args.text("config"));
  vim_model<float> model(config);
  model.init(0);
  const token_reduction reduction = reduction_from(args, config.depth);
  std::printf("Vim '%s': %lld parameters (%lld tensors); %lldx%lldx%lld images, patch %lld, %lld tokens, D %lld, depth %lld, "
              "N %lld\n",
              config.name.c_str(), static_cast<long long>(model.parameters().total_size()),
              static_cast<long long>(model.parameters().count()), static_cast<long long>(config.channels),
              static_cast<long long>(config.image_size), static_cast<long long>(config.image_size),
              static_cast<long long>(config.patch), static_cast<long long>(config.tokens()),
              static_cast<long long>(config.d_model), static_cast<long long>(config.depth),
              static_cast<long long>(config.d_state));
  std::printf("tokens per block (%s):", name_of(reduction.mode));
  for (index_t tokens : tokens_per_block(config, reduction)) std::printf(" %lld", static_cast<long long>(tokens));
  std::printf("; token-layer reduction %.1f%%\n", 100 * token_layer_reduction(config, reduction));
  random_generator rng(1);
  std::vector<std::uint8_t> image(static_cast<std::size_t>(config.channels * config.image_size * config.image_size));
  for (auto& pixel : image) pixel = static_cast<std::uint8_t>(rng.below(256));
  std::vector<float> logits(static_cast<std::size_t>(config.classes)), dlogits(logits.size(), 1.0f);
  const auto start = std::chrono::steady_clock::now();
  model.forward(image.data(), 1, logits.data(), pass::training, reduction);
  model.backward(dlogits.data());
  std::printf("one image forward + backward: %.1f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

}  // namespace rescan_examples
