// `rmeeto demo`: R-MeeTo's story in miniature on Fashion-MNIST. Trains the tiny Vim, evaluates it,
// evaluates it with merging and with pruning (no re-training) at about 30 % token-layer
// reduction, re-trains the merged model with distillation from the unmerged one, evaluates it,
// measures inference throughput with and without merging, and writes results.json, the logs, the
// checkpoints and the figures into --out.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common/checkpoint/parameter_checkpoint.hpp"
#include "common/io/binary_file.hpp"
#include "common/report/line_chart.hpp"
#include "common/report/png.hpp"
#include "common/report/token_map.hpp"
#include "training.hpp"

namespace rescan_examples {

namespace {

// The r (same at every reducing block) whose token-layer reduction is closest to `target`.
index_t r_for_reduction(const vim_config& config, double target, index_t interval) {
  index_t best = 0;
  double best_gap = 1e9;
  for (index_t r = 0; r <= config.tokens() / 2; ++r) {
    const double gap = std::fabs(token_layer_reduction(config, rmeeto_reduction(reduction_mode::merge, r, config.depth, interval)) - target);
    if (gap < best_gap - 1e-12) {
      best = r;
      best_gap = gap;
    }
  }
  return best;
}

// Training and re-training curves: the loss of every step (per epoch fraction) and test top-1.
void write_curves(const std::string& directory, const std::vector<epoch_record>& training,
                  const std::vector<epoch_record>& retraining) {
  auto loss_series = [](const std::vector<epoch_record>& records, double offset, const std::string& label, rgb color) {
    line_series series{label, {}, {}, color};
    for (const epoch_record& record : records) {
      const double steps = static_cast<double>(record.step_losses.size());
      for (std::size_t i = 0; i < record.step_losses.size(); ++i) {
        series.x.push_back(offset + static_cast<double>(record.epoch - 1) + static_cast<double>(i + 1) / steps);
        series.y.push_back(record.step_losses[i]);
      }
    }
    return series;
  };
  auto accuracy_series = [](const std::vector<epoch_record>& records, double offset, const std::string& label, rgb color) {
    line_series series{label, {}, {}, color};
    for (const epoch_record& record : records) {
      series.x.push_back(offset + static_cast<double>(record.epoch));
      series.y.push_back(100 * record.test_top1);
    }
    return series;
  };
  const double offset = static_cast<double>(training.size());
  const rgb blue{31, 119, 180}, orange{255, 127, 14};
  write_png(directory + "/loss_curve.png",
            draw_line_chart("Training loss (per step)", "epoch", "loss",
                            {loss_series(training, 0, "train (unmerged)", blue),
                             loss_series(retraining, offset, "re-train (merged, distilled)", orange)}));
  write_png(directory + "/accuracy_curve.png",
            draw_line_chart("Test top-1 after each epoch", "epoch", "top-1 (%)",
                            {accuracy_series(training, 0, "train (unmerged)", blue),
                             accuracy_series(retraining, offset, "re-train (merged)", orange)}));
}

// Which patches ended up in one token, for the first `count` test images.
void write_token_map(const std::string& path, vim_model<float>& model, const image_dataset& test,
                     const token_reduction& reduction, index_t count) {
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  gather_batch(test, {}, 0, count, images, labels);
  std::vector<float> logits(static_cast<std::size_t>(count * model.config().classes));
  model.forward(images.data(), count, logits.data(), pass::inference, reduction);
  const rescan::merge_plan plan = model.composed_plan();
  const vim_config& config = model.config();
  std::vector<std::vector<int>> groups(static_cast<std::size_t>(count));
  std::vector<const std::uint8_t*> pointers;
  for (index_t b = 0; b < count; ++b) {
    pointers.push_back(&images[static_cast<std::size_t>(b * config.image_size * config.image_size)]);
    for (index_t m = 0; m < config.patches(); ++m) {
      const index_t token = m + (m >= config.class_position() ? 1 : 0);
      groups[static_cast<std::size_t>(b)].push_back(plan.empty() ? static_cast<int>(token)
                                                                 : static_cast<int>(plan.destination()(b, token)));
    }
  }
  write_png(path, draw_token_groups(pointers, config.image_size, config.image_size, config.patch, groups));
}

}  // namespace

int command_demo(int argc, const char* const* argv, int first) {
  arguments args;
  declare_common_options(args);
  args.flag("quick", "a short run on a subset (about a minute): the smoke test")
      .option("out", "vim_demo", "folder for results.json, logs, checkpoints and figures")
      .option("epochs", "3", "training epochs of the unmerged model")
      .option("retrain-epochs", "1", "re-training epochs of the merged model")
      .option("target-reduction", "0.3", "token-layer reduction to merge at (R-MeeTo's Vim-S: about 0.3)")
      .option("lr", "0.004", "peak learning rate of the training")
      .option("retrain-lr", "0.002", "peak learning rate of the re-training")
      .option("seed", "0", "random seed");
  if (!parse_command("demo",
                     "Trains the tiny Vim, evaluates it merged and pruned, re-trains the merged model with distillation,\n"
                     "measures the speed-up, and writes results.json and figures.",
                     args, argc, argv, first)) {
    return 0;
  }
  const bool quick = args.flag_set("quick");
  const std::string out = args.text("out");
  std::filesystem::create_directories(out);
  const fashion_mnist data = load_data(args);
  const vim_config config = vim_config_named("tiny");
  const index_t interval = 2;
  const index_t r = r_for_reduction(config, args.real("target-reduction", 0, 0.9), interval);
  const token_reduction merging = rmeeto_reduction(reduction_mode::merge, r, config.depth, interval);
  const token_reduction pruning = rmeeto_reduction(reduction_mode::prune, r, config.depth, interval);

  train_options training;
  training.epochs = quick ? 1 : args.integer("epochs", 1, 1000);
  training.learning_rate = args.real("lr", 0, 1);
  training.seed = static_cast<std::uint64_t>(args.integer("seed", 0, INT64_MAX));
  training.train_limit = quick ? 4000 : 0;
  training.test_limit = quick ? 1000 : 0;
  training.log_path = out + "/train_log.jsonl";
  std::filesystem::remove(training.log_path);

  vim_model<float> model(config);
  model.init(training.seed);
  std::printf("== R-MeeTo demo: Vim '%s' (%lld parameters, %lld tokens, depth %lld) on Fashion-MNIST%s\n",
              config.name.c_str(), static_cast<long long>(model.parameters().total_size()),
              static_cast<long long>(config.tokens()), static_cast<long long>(config.depth), quick ? " (quick)" : "");
  std::printf("   merging r = %lld at blocks 2, 4, ...: token-layer reduction %.1f%%\n", static_cast<long long>(r),
              100 * token_layer_reduction(config, merging));

  const auto training_records = train_vim(model, data.train, data.test, training);
  save_checkpoint(out + "/vim_tiny.safetensors", model.parameters(), {{"config", config.name}});
  const index_t test_limit = training.test_limit;
  // The last epoch's test evaluation is the baseline (the same model on the same images).
  const double baseline = training_records.back().test_top1;
  const double merged_no_retrain = evaluate_vim(model, data.test, merging, 256, test_limit);
  const double pruned_no_retrain = evaluate_vim(model, data.test, pruning, 256, test_limit);

  train_options retraining = training;
  retraining.epochs = quick ? 1 : args.integer("retrain-epochs", 1, 1000);
  retraining.learning_rate = args.real("retrain-lr", 0, 1);
  retraining.warmup_epochs = 0.1;
  retraining.reduction = merging;
  retraining.phase = "retrain";
  retraining.seed = training.seed + 1;
  vim_model<float> student(config);
  copy_parameters(model, student);
  const auto retraining_records = train_vim(student, data.train, data.test, retraining, &model);
  save_checkpoint(out + "/vim_tiny_retrained.safetensors", student.parameters(), {{"config", config.name}});
  const double retrained = retraining_records.back().test_top1;
  double retrain_seconds = 0;
  for (const epoch_record& record : retraining_records) retrain_seconds += record.seconds;

  const index_t bench_images = quick ? 512 : 2048, repeats = quick ? 3 : 5;
  const double throughput_unmerged = measure_vim_throughput(model, data.test, {}, 256, bench_images, repeats);
  const double throughput_merged = measure_vim_throughput(student, data.test, merging, 256, bench_images, repeats);

  std::printf("\n| model                         | top-1 (%%) | token-layer reduction | images/s |\n");
  std::printf("| ----------------------------- | --------- | --------------------- | -------- |\n");
  std::printf("| Vim-tiny (unmerged)           | %9.2f | %20.1f%% | %8.0f |\n", 100 * baseline, 0.0, throughput_unmerged);
  std::printf("| + merging, no re-training     | %9.2f | %20.1f%% |          |\n", 100 * merged_no_retrain,
              100 * token_layer_reduction(config, merging));
  std::printf("| + pruning, no re-training     | %9.2f | %20.1f%% |          |\n", 100 * pruned_no_retrain,
              100 * token_layer_reduction(config, pruning));
  std::printf("| + merging, re-trained %lld ep    | %9.2f | %20.1f%% | %8.0f |\n",
              static_cast<long long>(retraining.epochs), 100 * retrained, 100 * token_layer_reduction(config, merging),
              throughput_merged);
  std::printf("speed-up with merging: %.2fx; re-training took %.1f s\n", throughput_merged / throughput_unmerged,
              retrain_seconds);

  nlohmann::json results = {
      {"config", config.name},
      {"quick", quick},
      {"parameters", model.parameters().total_size()},
      {"merge_r", r},
      {"merge_interval", interval},
      {"tokens_per_block", tokens_per_block(config, merging)},
      {"train_epochs", training.epochs},
      {"baseline_top1", baseline},
      {"merged_top1_no_retrain", merged_no_retrain},
      {"pruned_top1_no_retrain", pruned_no_retrain},
      {"retrained_top1", retrained},
      {"retrain_epochs", retraining.epochs},
      {"retrain_seconds", retrain_seconds},
      {"token_layer_reduction", token_layer_reduction(config, merging)},
      {"throughput_unmerged_img_s", throughput_unmerged},
      {"throughput_merged_img_s", throughput_merged},
      {"speedup", throughput_merged / throughput_unmerged},
  };
  write_text_atomically(out + "/results.json", results.dump(2) + "\n");
  write_curves(out, training_records, retraining_records);
  write_token_map(out + "/merged_tokens.png", student, data.test, merging, 8);
  std::printf("wrote %s/results.json, train_log.jsonl, loss_curve.png, accuracy_curve.png, merged_tokens.png\n",
              out.c_str());
  return 0;
}

}  // namespace rescan_examples
