#include "training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/nn/adamw.hpp"
#include "common/nn/losses.hpp"
#include "common/report/jsonl_log.hpp"
#include "common/report/progress_bar.hpp"

namespace rescan_examples {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

index_t limited(index_t count, index_t limit) { return limit > 0 ? std::min(count, limit) : count; }

index_t image_size(const image_dataset& data) { return data.channels * data.height * data.width; }

void check_fits(const vim_model<float>& model, const image_dataset& data, const char* function) {
  const vim_config& config = model.config();
  if (data.channels != config.channels || data.height != config.image_size || data.width != config.image_size) {
    throw std::invalid_argument(std::string(function) + ": images are " + std::to_string(data.channels) + "x" +
                                std::to_string(data.height) + "x" + std::to_string(data.width) + " but the model '" +
                                config.name + "' takes " + std::to_string(config.channels) + "x" +
                                std::to_string(config.image_size) + "x" + std::to_string(config.image_size));
  }
}

}  // namespace

void gather_batch(const image_dataset& data, const std::vector<index_t>& order, index_t first, index_t count,
                  std::vector<std::uint8_t>& images, std::vector<std::int32_t>& labels) {
  const index_t size = image_size(data);
  images.resize(static_cast<std::size_t>(count * size));
  labels.resize(static_cast<std::size_t>(count));
  for (index_t i = 0; i < count; ++i) {
    const index_t source = order.empty() ? first + i : order[static_cast<std::size_t>(first + i)];
    std::copy_n(&data.pixels[static_cast<std::size_t>(source * size)], size, &images[static_cast<std::size_t>(i * size)]);
    labels[static_cast<std::size_t>(i)] = data.labels[static_cast<std::size_t>(source)];
  }
}

std::vector<epoch_record> train_vim(vim_model<float>& model, const image_dataset& train, const image_dataset& test,
                                    const train_options& options, vim_model<float>* teacher) {
  check_fits(model, train, "train_vim");
  if (options.batch < 1) throw std::invalid_argument("train_vim: batch = " + std::to_string(options.batch) + " but must be >= 1");
  const index_t count = limited(train.count, options.train_limit);
  const index_t steps_per_epoch = (count + options.batch - 1) / options.batch;
  const index_t total_steps = steps_per_epoch * options.epochs;
  const auto warmup_steps = static_cast<index_t>(std::lround(options.warmup_epochs * static_cast<double>(steps_per_epoch)));
  const index_t classes = model.config().classes;

  adamw_options optimizer_options;
  optimizer_options.weight_decay = options.weight_decay;
  adamw<float> optimizer(model.parameters(), optimizer_options);
  random_generator shuffler(options.seed ^ 0x5eed5eed5eedULL);
  std::unique_ptr<jsonl_log> log;
  if (!options.log_path.empty()) log = std::make_unique<jsonl_log>(options.log_path);

  std::vector<index_t> order(static_cast<std::size_t>(count));
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  std::vector<float> logits, teacher_logits, dlogits, ddistill;
  std::vector<epoch_record> records;
  for (index_t epoch = 1; epoch <= options.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), index_t(0));
    shuffler.shuffle(order);
    epoch_record record;
    record.epoch = epoch;
    progress_bar bar(options.phase + " epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), count,
                     "img", options.quiet ? progress_style::quiet : progress_style::automatic);
    const auto start = clock_type::now();
    double loss_sum = 0;
    index_t correct = 0;
    for (index_t first = 0, step = 0; first < count; first += options.batch, ++step) {
      const index_t B = std::min(options.batch, count - first);
      gather_batch(train, order, first, B, images, labels);
      logits.resize(static_cast<std::size_t>(B * classes));
      dlogits.resize(logits.size());
      model.parameters().zero_grad();
      model.forward(images.data(), B, logits.data(), pass::training, options.reduction);
      const double weight = teacher ? options.distill_weight : 0.0;
      double loss = (1.0 - weight) * cross_entropy(logits.data(), labels.data(), B, classes, options.label_smoothing,
                                                   dlogits.data(), 1.0 - weight);
      if (teacher) {
        teacher_logits.resize(logits.size());
        ddistill.resize(logits.size());
        teacher->forward(images.data(), B, teacher_logits.data(), pass::inference);
        loss += weight * kl_distillation(logits.data(), teacher_logits.data(), B, classes, options.distill_temperature,
                                         ddistill.data(), weight);
        for (std::size_t i = 0; i < dlogits.size(); ++i) dlogits[i] += ddistill[i];
      }
      if (!std::isfinite(loss)) {
        throw std::runtime_error("train_vim: the loss became " + std::to_string(loss) + " at epoch " +
                                 std::to_string(epoch) + ", step " + std::to_string(step) +
                                 " (lower --lr or raise --clip)");
      }
      model.backward(dlogits.data());
      if (options.clip_norm > 0) clip_grad_norm(model.parameters(), options.clip_norm);
      const index_t global_step = (epoch - 1) * steps_per_epoch + step;
      record.learning_rate = cosine_schedule(global_step, total_steps, warmup_steps, options.learning_rate,
                                             options.min_learning_rate);
      optimizer.step(record.learning_rate);

      record.step_losses.push_back(loss);
      loss_sum += loss * static_cast<double>(B);
      correct += count_correct(logits.data(), labels.data(), B, classes);
      bar.update(first + B, {{"loss", loss_sum / static_cast<double>(first + B)},
                             {"acc", static_cast<double>(correct) / static_cast<double>(first + B)}});
    }
    record.seconds = seconds_since(start);
    bar.finish();
    record.train_loss = loss_sum / static_cast<double>(count);
    record.train_top1 = static_cast<double>(correct) / static_cast<double>(count);
    record.images_per_second = static_cast<double>(count) / record.seconds;
    record.test_top1 = evaluate_vim(model, test, options.reduction, 256, options.test_limit);
    if (!options.quiet) {
      std::fprintf(stderr, "%s epoch %lld: loss %.4f, train top-1 %.2f%%, test top-1 %.2f%%, %.0f img/s\n",
                   options.phase.c_str(), static_cast<long long>(epoch), record.train_loss, 100 * record.train_top1,
                   100 * record.test_top1, record.images_per_second);
    }
    if (log) {
      log->write({{"phase", options.phase},
                  {"epoch", epoch},
                  {"train_loss", record.train_loss},
                  {"train_top1", record.train_top1},
                  {"test_top1", record.test_top1},
                  {"learning_rate", record.learning_rate},
                  {"seconds", record.seconds},
                  {"images_per_second", record.images_per_second},
                  {"reduction", name_of(options.reduction.mode)},
                  {"r_per_layer", options.reduction.r_per_layer}});
    }
    records.push_back(std::move(record));
  }
  return records;
}

double evaluate_vim(vim_model<float>& model, const image_dataset& data, const token_reduction& reduction, index_t batch,
                    index_t limit) {
  check_fits(model, data, "evaluate_vim");
  const index_t count = limited(data.count, limit), classes = model.config().classes;
  if (count == 0) return 0.0;
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  std::vector<float> logits(static_cast<std::size_t>(batch * classes));
  index_t correct = 0;
  for (index_t first = 0; first < count; first += batch) {
    const index_t B = std::min(batch, count - first);
    gather_batch(data, {}, first, B, images, labels);
    model.forward(images.data(), B, logits.data(), pass::inference, reduction);
    correct += count_correct(logits.data(), labels.data(), B, classes);
  }
  return static_cast<double>(correct) / static_cast<double>(count);
}

double measure_vim_throughput(vim_model<float>& model, const image_dataset& data, const token_reduction& reduction,
                              index_t batch, index_t images, index_t repeats) {
  check_fits(model, data, "measure_vim_throughput");
  images = std::min(images, data.count);
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  gather_batch(data, {}, 0, images, pixels, labels);
  std::vector<float> logits(static_cast<std::size_t>(batch * model.config().classes));
  const index_t size = image_size(data);
  auto one_pass = [&] {
    for (index_t first = 0; first < images; first += batch) {
      const index_t B = std::min(batch, images - first);
      model.forward(&pixels[static_cast<std::size_t>(first * size)], B, logits.data(), pass::inference, reduction);
    }
  };
  one_pass();
  std::vector<double> rates;
  for (index_t i = 0; i < repeats; ++i) {
    const auto start = clock_type::now();
    one_pass();
    rates.push_back(static_cast<double>(images) / seconds_since(start));
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace rescan_examples
