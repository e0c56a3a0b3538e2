#include "cream_experiment.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

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

// options with a progress bar under label (none when the run is quiet).
generation_options labelled(generation_options options, const std::string& label, const cream_run_options& run) {
  options.progress_label = run.quiet ? "" : label;
  return options;
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

cream_report run_cream(const cream_settings& chosen_settings, const cream_run_options& options) {
  if (options.consistency == consistency_mode::srlm) {
    detail::fail("run_cream: options.consistency must be CREAM's average or dynamic (SRLM runs beside it anyway)");
  }
  const auto start = clock_type::now();
  cream_settings settings = chosen_settings;
  for (lm_train_options* train : {&settings.pretrain, &settings.sft, &settings.preference}) train->quiet = options.quiet;
  std::filesystem::create_directories(options.out_dir);
  const char_tokenizer tokenizer;
  const index_t N = settings.responses_per_prompt;
  cream_report report;
  phase_timer timer(report);
  std::ostream& out = std::cout;

  const task_data data = make_task_data(settings.data, seed_of(options.seed, data_stream));
  print_settings(out, settings, options, data);

  auto m0 = std::make_unique<mamba_lm<float>>(settings.model);
  model_ptr m1;
  if (!options.start_from.empty()) {
    m1 = std::make_unique<mamba_lm<float>>(settings.model);
    for (const auto& [name, model] : {std::pair{"M0", m0.get()}, std::pair{"M1", m1.get()}}) {
      const auto metadata = load_checkpoint(options.start_from + "/" + name + ".safetensors", model->parameters());
      const auto seed = metadata.find("seed");
      if (seed == metadata.end() || seed->second != std::to_string(options.seed)) {
        detail::fail("run_cream: ", options.start_from, "/", name, ".safetensors was trained with seed ",
                     seed == metadata.end() ? "?" : seed->second, ", not ", options.seed,
                     " (its data would overlap this run's test set)");
      }
    }
    timer.done("M0, M1 loaded");
  } else {
    // M0: next-token training on the task-formatted corpus, a third of its answers wrong.
    m0->init(seed_of(options.seed, init_stream));
    random_generator corrupt(seed_of(options.seed, corrupt_stream));
    std::vector<lm_sequence> corpus;
    for (const task_example& example : data.pretrain) {
      const bool wrong = corrupt.uniform() < settings.corrupt_fraction;
      corpus.push_back(answer_sequence(tokenizer, example, wrong ? corrupt_answer(example, corrupt) : example.answer));
    }
    settings.pretrain.seed = seed_of(options.seed, pretrain_stream);
    train_next_token(*m0, corpus, scored_span::all_tokens, settings.pretrain);
    timer.done("M0 pretraining");

    // M1: SFT on the correct seed set, loss on the responses only.
    m1 = copy_of(*m0);
    std::vector<lm_sequence> seed_set;
    for (const task_example& example : data.seed) seed_set.push_back(answer_sequence(tokenizer, example, example.answer));
    settings.sft.seed = seed_of(options.seed, sft_stream);
    train_next_token(*m1, seed_set, scored_span::response, settings.sft);
    timer.done("M1 SFT");
  }
  const std::map<std::string, std::string> metadata = {{"format", "rescan cream"}, {"seed", std::to_string(options.seed)}};
  save_checkpoint(options.out_dir + "/M0.safetensors", m0->parameters(), metadata);
  save_checkpoint(options.out_dir + "/M1.safetensors", m1->parameters(), metadata);
  report.accuracy["M0"] = evaluate_tasks(*m0, tokenizer, data.test, labelled(settings.greedy, "evaluate M0", options));
  report.accuracy["M1"] = evaluate_tasks(*m1, tokenizer, data.test, labelled(settings.greedy, "evaluate M1", options));
  timer.done("evaluate M0, M1");

  for (const consistency_mode mode : {consistency_mode::srlm, options.consistency}) {
    const std::string method = mode == consistency_mode::srlm ? "SRLM" : "CREAM";
    model_ptr previous, current = copy_of(*m1);
    std::vector<lm_sequence> last_responses;
    std::vector<double> last_reward, reference0;
    for (index_t t = 1; t <= settings.data.iterations; ++t) {
      const auto iteration_start = clock_type::now();
      const std::vector<task_example>& prompts = data.unlabeled[std::size_t(t - 1)];
      const std::string name = method + "-M" + std::to_string(t + 1);
      const std::vector<lm_sequence> responses =
          sample_response_groups(*current, tokenizer, prompts, N,
                                 labelled(settings.sampling, method + " M" + std::to_string(t) + " samples", options),
                                 seed_of(options.seed, sample_stream, t));
      const std::vector<double> log_probs_t = scores_of(*current, responses, N);
      const std::vector<double> log_probs_0 = scores_of(*m0, responses, N);
      const std::vector<double> reward = difference(log_probs_t, log_probs_0);
      // M_{t−1}'s ranking: its reward, or at t = 1 (M0, whose reward is zero) M0's mean per-token log-likelihood.
      std::vector<double> previous_scores(responses.size());
      if (t == 1) {
        for (std::size_t i = 0; i < responses.size(); ++i) {
          previous_scores[i] = log_probs_0[i] / double(responses[i].response_length());
        }
      } else {
        previous_scores = difference(scores_of(*previous, responses, N), log_probs_0);
      }
      iteration_record record;
      record.method = method;
      record.t = t;
      record.groups = index_t(prompts.size());
      record.agreement = compare_rankings(reward, previous_scores, N);
      const std::vector<preference_pair> pairs =
          make_preference_pairs(responses, N, reward, log_probs_t, record.agreement, mode);
      record.pairs = index_t(pairs.size());
      for (const preference_pair& pair : pairs) record.mean_pair_consistency += pair.consistency / double(pairs.size());
      model_ptr next = copy_of(*current);
      if (!pairs.empty()) {
        lm_train_options train = settings.preference;
        train.seed = seed_of(options.seed, dpo_stream, t);
        train.phase = method + " M" + std::to_string(t + 1) + " DPO";
        const lm_train_record trained = train_preferences(*next, pairs, settings.beta, train);
        record.final_loss = trained.step_losses.empty() ? std::nan("") : trained.step_losses.back();
      }
      record.seconds = std::chrono::duration<double>(clock_type::now() - iteration_start).count();
      report.iterations.push_back(record);
      print_iteration(out, record);
      report.accuracy[name] = evaluate_tasks(*next, tokenizer, data.test, labelled(settings.greedy, "evaluate " + name, options));
      timer.done(name);
      last_responses = responses;
      last_reward = reward;
      reference0 = log_probs_0;
      previous = std::move(current);
      current = std::move(next);
    }
    // Table 2: the last iteration's responses (sampled from M2), ranked by M3's and by M2's rewards.
    const std::vector<double> final_reward = difference(scores_of(*current, last_responses, N), reference0);
    report.m3_vs_m2[method + "-M" + std::to_string(settings.data.iterations + 1)] =
        compare_rankings(final_reward, last_reward, N);
    timer.done(method + " consistency");
  }
  report.total_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  print_tables(out, report);
  write_cream_outputs(options.out_dir, settings, options, report);
  return report;
}

}  // namespace rescan_examples
