// Training, re-training, evaluation and throughput of a Vim on an image data set.
//
// Training: AdamW (decoupled weight decay), linear warm-up then cosine decay per step, label-
// smoothed cross-entropy, gradient clipping. Re-training (R-MeeTo): the same on the merged model,
// plus soft distillation from the unmerged teacher: loss = (1 − w)·CE + w·τ²·KL(teacher ‖ student).
// Deterministic given the seed and the thread count.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/io/fashion_mnist.hpp"
#include "vim_model.hpp"

namespace rescan_examples {

struct train_options {
  index_t epochs = 3;
  index_t batch = 64;
  double learning_rate = 4e-3;      // peak, after warm-up
  double min_learning_rate = 1e-5;  // at the end of the cosine
  double warmup_epochs = 0.3;
  double weight_decay = 0.05;
  double label_smoothing = 0.1;
  double clip_norm = 1.0;           // 0 = no clipping
  double distill_weight = 0.5;      // re-training only (with a teacher)
  double distill_temperature = 1.0;
  index_t train_limit = 0;          // use the first n training images only (0 = all)
  index_t test_limit = 0;           // evaluate on the first n test images only (0 = all)
  std::uint64_t seed = 0;
  token_reduction reduction;        // the student's merging / pruning while (re-)training
  std::string log_path;             // JSON lines, one per epoch ("" = none)
  std::string phase = "train";      // name in the log and the progress bar
  bool quiet = false;
};

struct epoch_record {
  index_t epoch = 0;                // 1-based
  double train_loss = 0, train_top1 = 0, test_top1 = 0;
  double learning_rate = 0;         // at the end of the epoch
  double seconds = 0, images_per_second = 0;
  std::vector<double> step_losses;  // mean loss of every optimizer step (for the curves)
};

// Trains model in place. With a teacher (re-training), adds its distillation term.
std::vector<epoch_record> train_vim(vim_model<float>& model, const image_dataset& train, const image_dataset& test,
                                    const train_options& options, vim_model<float>* teacher = nullptr);

// Top-1 accuracy in [0, 1] over the first `limit` images (0 = all), batches of `batch`.
double evaluate_vim(vim_model<float>& model, const image_dataset& data, const token_reduction& reduction,
                    index_t batch = 256, index_t limit = 0);

// Inference throughput in images/s: the median over `repeats` timed passes of `images` test
// images in batches of `batch` (after one warm-up pass).
double measure_vim_throughput(vim_model<float>& model, const image_dataset& data, const token_reduction& reduction,
                              index_t batch = 256, index_t images = 2048, index_t repeats = 5);

// Copies images [first, first + count) of data in the order of `order` (or in order when empty)
// into a contiguous (count, C, H, W) buffer, and their labels.
void gather_batch(const image_dataset& data, const std::vector<index_t>& order, index_t first, index_t count,
                  std::vector<std::uint8_t>& images, std::vector<std::int32_t>& labels);

}  // namespace rescan_examples
