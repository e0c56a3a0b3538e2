// `cream run`: the CREAM paper's experiment in miniature, end to end (DESIGN.md §5).
//   data     five generated tasks (tasks.hpp): a "pretraining" corpus whose answers are a third
//            wrong, a small correct seed set, disjoint unlabeled prompt slices, a held-out test set
//   M0       next-token training on the corpus (knows the formats, unreliable)
//   M1       SFT of M0 on the seed set, loss on the response tokens only
//   SRLM     two self-rewarding iterations from M1 (C = 1), producing M2 and M3
//   CREAM    the same iterations on the same prompts and seeds, pairs weighed by the ranking
//            consistency C ("avg": set-level, "dyn": per prompt)
//   report   greedy exact-match accuracy per task of M0, M1 and every iteration (Table 1), the
//            consistency of each method's M3 and M2 rankings (Table 2), cream_results.json, and
//            the plots accuracy_per_iteration.png and tau_distribution.png.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "generation.hpp"
#include "lm_training.hpp"
#include "preference_loss.hpp"
#include "self_rewarding.hpp"
#include "tasks.hpp"

namespace rescan_examples {

// The sizes and hyperparameters of one run.
struct cream_settings {
  lm_config model;
  data_sizes data;
  double corrupt_fraction = 1.0 / 3.0;  // of the pretraining corpus's answers
  index_t responses_per_prompt = 5;     // N
  double beta = default_preference_beta;
  lm_train_options pretrain, sft, preference;
  generation_options sampling, greedy;
};
cream_settings full_cream_settings();   // about 3 minutes on two cores
cream_settings quick_cream_settings();  // every phase in about a second (the smoke test)

struct cream_run_options {
  bool quick = false;  // settings are quick_cream_settings() (reported in the outputs)
  consistency_mode consistency = consistency_mode::average;  // CREAM's (average or dynamic)
  std::uint64_t seed = 0;
  std::string out_dir = "build/cream";
  bool quiet = false;  // no progress bars
  // A folder holding M0.safetensors and M1.safetensors of an earlier run with the same seed and
  // model settings: they are loaded instead of trained ("" = train them). Every run saves both.
  std::string start_from;
};

// Greedy exact-match accuracy on each task and their mean.
struct task_accuracy {
  std::vector<double> per_task;  // task_count entries, in all_tasks() order
  double average = 0;
};

// One self-rewarding iteration t (M_t -> M_{t+1}) of one method.
struct iteration_record {
  std::string method;  // "SRLM" or "CREAM"
  index_t t = 0;
  ranking_agreement agreement;  // M_t's rankings against M_{t−1}'s
  index_t pairs = 0, groups = 0;
  double mean_pair_consistency = 0;
  double final_loss = 0, seconds = 0;
};

struct cream_report {
  std::map<std::string, task_accuracy> accuracy;  // M0, M1, SRLM-M2, SRLM-M3, CREAM-M2, CREAM-M3
  std::map<std::string, ranking_agreement> m3_vs_m2;  // SRLM-M3, CREAM-M3
  std::vector<iteration_record> iterations;
  std::vector<std::pair<std::string, double>> phase_seconds;
  double total_seconds = 0;
};

// Runs everything with settings, prints the progress and the tables to standard output (progress
// bars to standard error) and writes the outputs into options.out_dir (created).
cream_report run_cream(const cream_settings& settings, const cream_run_options& options);

// Greedy exact-match accuracy of model on examples.
task_accuracy evaluate_tasks(mamba_lm<float>& model, const char_tokenizer& tokenizer,
                             const std::vector<task_example>& examples, const generation_options& greedy);

}  // namespace rescan_examples
