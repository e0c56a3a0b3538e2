#include "cream_experiment.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/checkpoint/parameter_checkpoint.hpp"
#include "cream_output.hpp"

namespace rescan_examples {

namespace {

using clock_type = std::chrono::steady_clock;
using model_ptr = std::unique_ptr<mamba_lm<float>>;

// Seeds of the run's random streams, all derived from the run's seed.
enum stream : std::uint64_t { data_stream = 1, init_stream, corrupt_stream, pretrain_stream, sft_stream, sample_stream, dpo_stream };
std::uint64_t seed_of(std::uint64_t seed, stream s, index_t t = 0) {
  return random_generator(seed).fork(std::uint64_t(s) * 1000 + std::uint64_t(t)).next();
}

model_ptr copy_of(const mamba_lm<float>& model) {
  auto copy = std::make_unique<mamba_lm<float>>(model.config());
  copy->copy_parameters_from(model);
  return copy;
}

// Per-response scores of one model, identical responses sharing one.
std::vector<double> scores_of(mamba_lm<float>& model, const std::vector<lm_sequence>& responses, index_t per_prompt) {
  std::vector<double> scores = response_log_probs(model, responses);
  unify_identical_responses(responses, per_prompt, scores);
  return scores;
}

std::vector<double> difference(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> result(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) result[i] = a[i] - b[i];
  return result;
}

class phase_timer {
 public:
  explicit phase_timer(cream_report& report) : report_(report) {}
  void done(const std::string& phase) {
    const auto now = clock_type::now();
    report_.phase_seconds.emplace_back(phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  cream_report& report_;
  clock_type::time_point last_ = clock_type::now();
};

}  // namespace

cream_settings full_cream_settings() {
  cream_settings s;
  s.model.vocabulary = char_tokenizer().vocabulary_size();
  s.model.d_model = 64, s.model.layers = 4, s.model.d_state = 16;
  s.data.pretrain = 3000, s.data.seed = 100, s.data.unlabeled = 200, s.data.iterations = 2, s.data.test = 200;
  s.pretrain.epochs = 32, s.pretrain.batch = 32, s.pretrain.learning_rate = 3e-3, s.pretrain.phase = "M0 pretrain";
  s.sft.epochs = 4, s.sft.batch = 16, s.sft.learning_rate = 3e-4, s.sft.phase = "M1 SFT";
  s.preference.epochs = 1, s.preference.batch = 16, s.preference.learning_rate = 1e-4, s.preference.phase = "DPO";
  s.preference.weight_decay = 0;
  s.sampling.sampling.temperature = 0.8, s.sampling.sampling.top_p = 0.95;
  s.greedy.sampling.greedy = true;
  return s;
}

cream_settings quick_cream_settings() {
  cream_settings s = full_cream_settings();
  s.model.d_model = 32, s.model.layers = 2, s.model.d_state = 8;
  s.data.pretrain = 300, s.data.seed = 20, s.data.unlabeled = 20, s.data.test = 20;
  s.pretrain.epochs = 2, s.sft.epochs = 2;
  return s;
}

task_accuracy evaluate_tasks(mamba_lm<float>& model, const char_tokenizer& tokenizer,
                             const std::vector<task_example>& examples, const generation_options& greedy) {
  std::vector<std::vector<std::int32_t>> prompts;
  for (const task_example& example : examples) prompts.push_back(prompt_tokens(tokenizer, example));
  const std::vector<generated_response> responses = generate_responses(model, prompts, greedy, 0);
  std::vector<double> correct(std::size_t(task_count), 0.0), total(std::size_t(task_count), 0.0);
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const std::size_t task = std::size_t(task_index(examples[i].task));
    const generated_response& response = responses[i];
    total[task] += 1;
    if (!response.finished) continue;
    const std::string answer = tokenizer.decode(response.tokens.data(), index_t(response.tokens.size()) - 1);
    if (is_correct(examples[i], answer)) correct[task] += 1;
  }
  task_accuracy accuracy;
  for (std::size_t task = 0; task < std::size_t(task_count); ++task) {
    accuracy.per_task.push_back(total[task] > 0 ? correct[task] / total[task] : 0.0);
    accuracy.average += accuracy.per_task.back() / double(task_count);
  }
  return accuracy;
}

namespace {

// One run's state: its settings, data and the shared models, and the report it fills.
class experiment {
 public:
  experiment(const cream_settings& settings, const cream_run_options& options)
      : settings_(settings), options_(options),
        data_(make_task_data(settings.data, seed_of(options.seed, data_stream))), timer_(report_) {
    for (lm_train_options* train : {&settings_.pretrain, &settings_.sft, &settings_.preference}) {
      train->quiet = options.quiet;
    }
  }

  cream_report run() {
    const auto start = clock_type::now();
    if (!options_.start_from.empty()) load_starting_models();  // before anything is written
    std::filesystem::create_directories(options_.out_dir);
    print_settings(std::cout, settings_, options_, data_);
    if (options_.start_from.empty()) train_starting_models();
    const std::map<std::string, std::string> metadata = {
        {"format", "rescan cream"}, {"seed", std::to_string(options_.seed)}, {"starting_settings", starting_settings()}};
    save_checkpoint(options_.out_dir + "/M0.safetensors", m0_->parameters(), metadata);
    save_checkpoint(options_.out_dir + "/M1.safetensors", m1_->parameters(), metadata);
    evaluate("M0", *m0_);
    evaluate("M1", *m1_);
    timer_.done("evaluate M0, M1");
    for (const consistency_mode mode : {consistency_mode::srlm, options_.consistency}) run_method(mode);
    report_.total_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    print_tables(std::cout, report_);
    write_cream_outputs(options_.out_dir, settings_, options_, report_);
    return report_;
  }

 private:
  // What an iteration leaves for the next one and for Table 2.
  struct iteration_result {
    model_ptr next;
    std::vector<lm_sequence> responses;
    std::vector<double> reward, log_probs_0;
  };

  // M0: next-token training on the task-formatted corpus, a third of its answers wrong. M1: SFT of
  // M0 on the correct seed set, loss on the responses only.
  void train_starting_models() {
    m0_ = std::make_unique<mamba_lm<float>>(settings_.model);
    m0_->init(seed_of(options_.seed, init_stream));
    random_generator corrupt(seed_of(options_.seed, corrupt_stream));
    std::vector<lm_sequence> corpus;
    for (const task_example& example : data_.pretrain) {
      const bool wrong = corrupt.uniform() < settings_.corrupt_fraction;
      corpus.push_back(answer_sequence(tokenizer_, example, wrong ? corrupt_answer(example, corrupt) : example.answer));
    }
    settings_.pretrain.seed = seed_of(options_.seed, pretrain_stream);
    train_next_token(*m0_, corpus, scored_span::all_tokens, settings_.pretrain);
    timer_.done("M0 pretraining");

    m1_ = copy_of(*m0_);
    std::vector<lm_sequence> seed_set;
    for (const task_example& example : data_.seed) {
      seed_set.push_back(answer_sequence(tokenizer_, example, example.answer));
    }
    settings_.sft.seed = seed_of(options_.seed, sft_stream);
    train_next_token(*m1_, seed_set, scored_span::response, settings_.sft);
    timer_.done("M1 SFT");
  }

  // What M0 and M1 depend on besides the seed, as one canonical string: the model, the data sizes,
  // the corruption and both trainings.
  std::string starting_settings() const {
    const auto training = [](const lm_train_options& t) {
      return nlohmann::json{{"epochs", t.epochs},     {"batch", t.batch},
                            {"lr", t.learning_rate},  {"min_lr", t.min_learning_rate},
                            {"warmup", t.warmup_fraction}, {"weight_decay", t.weight_decay},
                            {"clip", t.clip_norm}};
    };
    const lm_config& m = settings_.model;
    const data_sizes& d = settings_.data;
    return nlohmann::json{{"model", {m.vocabulary, m.d_model, m.layers, m.d_state, m.expand, m.d_conv}},
                          {"data", {d.pretrain, d.seed, d.unlabeled, d.iterations, d.test}},
                          {"corrupt_fraction", settings_.corrupt_fraction},
                          {"pretrain", training(settings_.pretrain)},
                          {"sft", training(settings_.sft)}}
        .dump();
  }

  // M0 and M1 of an earlier run with this run's seed and starting settings (so their data is this
  // run's: neither saw its test prompts), from another folder than the one this run writes.
  void load_starting_models() {
    namespace fs = std::filesystem;
    if (fs::exists(options_.out_dir) && fs::equivalent(options_.start_from, options_.out_dir)) {
      detail::fail("run_cream: start_from and out_dir are both ", options_.out_dir,
                   ": this run would overwrite the models and results it starts from");
    }
    m0_ = std::make_unique<mamba_lm<float>>(settings_.model);
    m1_ = std::make_unique<mamba_lm<float>>(settings_.model);
    const std::string expected = starting_settings();
    for (const auto& [name, model] : {std::pair{"M0", m0_.get()}, std::pair{"M1", m1_.get()}}) {
      const std::string path = options_.start_from + "/" + name + ".safetensors";
      const auto metadata = load_checkpoint(path, model->parameters());
      const auto seed = metadata.find("seed");
      if (seed == metadata.end() || seed->second != std::to_string(options_.seed)) {
        detail::fail("run_cream: ", path, " was trained with seed ", seed == metadata.end() ? "?" : seed->second,
                     ", not ", options_.seed, " (its data would overlap this run's test set)");
      }
      const auto stored = metadata.find("starting_settings");
      if (stored == metadata.end() || stored->second != expected) {
        detail::fail("run_cream: ", path, " was trained with other settings than this run's\n  its:  ",
                     stored == metadata.end() ? "(none recorded)" : stored->second, "\n  this: ", expected);
      }
    }
    timer_.done("M0, M1 loaded");
  }

  void evaluate(const std::string& name, mamba_lm<float>& model) {
    report_.accuracy[name] = evaluate_tasks(model, tokenizer_, data_.test, labelled(settings_.greedy, "evaluate " + name));
  }

  // options with a progress bar under label (none when the run is quiet).
  generation_options labelled(generation_options options, const std::string& label) const {
    options.progress_label = options_.quiet ? "" : label;
    return options;
  }

  // The iterations of one method from M1, then its Table 2 row: the last iteration's responses
  // (sampled from M2) ranked by M3's reward and by M2's.
  void run_method(consistency_mode mode) {
    const std::string method = mode == consistency_mode::srlm ? "SRLM" : "CREAM";
    const index_t N = settings_.responses_per_prompt;
    model_ptr previous, current = copy_of(*m1_);
    iteration_result last;
    for (index_t t = 1; t <= settings_.data.iterations; ++t) {
      iteration_result result = iterate(method, mode, t, *current, previous.get());
      const std::string name = method + "-M" + std::to_string(t + 1);
      evaluate(name, *result.next);
      timer_.done(name);
      previous = std::move(current);
      current = std::move(result.next);
      last = std::move(result);
    }
    const std::vector<double> final_reward = difference(scores_of(*current, last.responses, N), last.log_probs_0);
    report_.m3_vs_m2[method + "-M" + std::to_string(settings_.data.iterations + 1)] =
        compare_rankings(final_reward, last.reward, N);
    timer_.done(method + " consistency");
  }

  // Iteration t: M_t (current) -> M_{t+1}; previous is M_{t−1} (nullptr at t = 1: M0's mean
  // per-token log-likelihood ranks instead, its reward against itself being zero).
  iteration_result iterate(const std::string& method, consistency_mode mode, index_t t, mamba_lm<float>& current,
                           mamba_lm<float>* previous) {
    const auto start = clock_type::now();
    const index_t N = settings_.responses_per_prompt;
    const std::vector<task_example>& prompts = data_.unlabeled[std::size_t(t - 1)];
    iteration_result result;
    result.responses = sample_response_groups(current, tokenizer_, prompts, N,
                                              labelled(settings_.sampling, method + " M" + std::to_string(t) + " samples"),
                                              seed_of(options_.seed, sample_stream, t));
    const std::vector<double> log_probs_t = scores_of(current, result.responses, N);
    result.log_probs_0 = scores_of(*m0_, result.responses, N);
    result.reward = difference(log_probs_t, result.log_probs_0);
    std::vector<double> previous_scores(result.responses.size());
    if (previous == nullptr) {
      for (std::size_t i = 0; i < result.responses.size(); ++i) {
        previous_scores[i] = result.log_probs_0[i] / double(result.responses[i].response_length());
      }
    } else {
      previous_scores = difference(scores_of(*previous, result.responses, N), result.log_probs_0);
    }
    iteration_record record;
    record.method = method;
    record.t = t;
    record.groups = index_t(prompts.size());
    record.agreement = compare_rankings(result.reward, previous_scores, N);
    const std::vector<preference_pair> pairs =
        make_preference_pairs(result.responses, N, result.reward, log_probs_t, record.agreement, mode);
    record.pairs = index_t(pairs.size());
    for (const preference_pair& pair : pairs) record.mean_pair_consistency += pair.consistency / double(pairs.size());
    result.next = copy_of(current);
    if (!pairs.empty()) {
      lm_train_options train = settings_.preference;
      train.seed = seed_of(options_.seed, dpo_stream, t);
      train.phase = method + " M" + std::to_string(t + 1) + " DPO";
      const lm_train_record trained = train_preferences(*result.next, pairs, settings_.beta, train);
      record.final_loss = trained.step_losses.empty() ? std::nan("") : trained.step_losses.back();
    }
    record.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    report_.iterations.push_back(record);
    print_iteration(std::cout, record);
    return result;
  }

  cream_settings settings_;
  const cream_run_options& options_;
  const char_tokenizer tokenizer_{};
  const task_data data_;
  cream_report report_;
  phase_timer timer_;
  model_ptr m0_, m1_;
};

}  // namespace

cream_report run_cream(const cream_settings& settings, const cream_run_options& options) {
  if (options.consistency == consistency_mode::srlm) {
    detail::fail("run_cream: options.consistency must be CREAM's average or dynamic (SRLM runs beside it anyway)");
  }
  return experiment(settings, options).run();
}

}  // namespace rescan_examples
