#include "cream_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

#include <nlohmann/json.hpp>

#include "common/io/binary_file.hpp"
#include "common/report/line_chart.hpp"
#include "common/report/png.hpp"

namespace rescan_examples {

namespace {

// The rows of Table 1, in the paper's order.
const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"M0", "M1", "SRLM-M2", "SRLM-M3", "CREAM-M2", "CREAM-M3"};
  return names;
}

std::string fixed(double value, int decimals, int width = 0) {
  char text[64];
  std::snprintf(text, sizeof text, "%*.*f", width, decimals, value);
  return text;
}

nlohmann::json agreement_json(const ranking_agreement& a) {
  return {{"tau_mean", a.tau_mean},
          {"tau_std", a.tau_std},
          {"C_mean", a.consistency_mean},
          {"spearman_mean", a.spearman_mean},
          {"top_agreement", a.best_agreement},
          {"bottom_agreement", a.worst_agreement},
          {"prompts_ranked", a.groups_ranked},
          {"tau", a.tau}};
}

nlohmann::json train_json(const lm_train_options& t) {
  return {{"epochs", t.epochs}, {"batch", t.batch}, {"learning_rate", t.learning_rate}, {"weight_decay", t.weight_decay}};
}

// Iteration 0 = M0, 1 = M1, t + 1 = M_{t+1}: each method's average accuracy along its iterations.
rgb_image accuracy_chart(const cream_report& report) {
  std::vector<line_series> series;
  for (const std::string method : {"SRLM", "CREAM"}) {
    line_series s{method + " average", {}, {}, chart_color(index_t(series.size()))};
    for (index_t model = 0;; ++model) {
      const std::string name = model < 2 ? "M" + std::to_string(model) : method + "-M" + std::to_string(model);
      const auto found = report.accuracy.find(name);
      if (found == report.accuracy.end()) break;
      s.x.push_back(double(model));
      s.y.push_back(100 * found->second.average);
    }
    series.push_back(s);
  }
  return draw_line_chart("Exact match, average of the five tasks", "model M_t", "accuracy (%)", series);
}

// The share of the ranked prompts in each bin of tau (11 bins 0.2 wide, centred on -1, -0.8, ..., 1), per method.
rgb_image tau_chart(const cream_report& report) {
  std::vector<line_series> series;
  for (const auto& [name, agreement] : report.m3_vs_m2) {
    line_series s{name + " vs M2", {}, {}, chart_color(index_t(series.size()))};
    const index_t bins = 11;
    std::vector<double> counts(std::size_t(bins), 0.0);
    double total = 0;
    for (const double tau : agreement.tau) {
      if (!std::isfinite(tau)) continue;
      counts[std::size_t(std::lround((tau + 1) / 2 * double(bins - 1)))] += 1;
      total += 1;
    }
    for (index_t bin = 0; bin < bins; ++bin) {
      s.x.push_back(-1 + 2 * double(bin) / double(bins - 1));
      s.y.push_back(total > 0 ? counts[std::size_t(bin)] / total : 0.0);
    }
    series.push_back(s);
  }
  return draw_line_chart("Ranking consistency per prompt (Kendall tau-b, M3 vs M2)", "tau (bins 0.2 wide)",
                         "share of ranked prompts", series);
}

}  // namespace

void print_settings(std::ostream& out, const cream_settings& s, const cream_run_options& options,
                    const task_data& data) {
  out << "CREAM in miniature" << (options.quick ? " (quick)" : "") << ": Mamba LM d_model " << s.model.d_model
      << ", " << s.model.layers << " layers, d_state " << s.model.d_state << ", vocabulary " << s.model.vocabulary
      << "; consistency " << consistency_mode_name(options.consistency) << ", seed " << options.seed << "\n"
      << "data: " << data.pretrain.size() << " pretraining sequences (" << fixed(100 * s.corrupt_fraction, 0)
      << "% wrong answers), " << data.seed.size() << " seed examples, " << data.unlabeled.size() << " x "
      << (data.unlabeled.empty() ? 0 : data.unlabeled[0].size()) << " unlabeled prompts, " << data.test.size()
      << " test prompts; " << s.responses_per_prompt << " responses per prompt (temperature "
      << s.sampling.sampling.temperature << ", top-p " << s.sampling.sampling.top_p << "), beta " << s.beta << "\n";
}

void print_iteration(std::ostream& out, const iteration_record& r) {
  out << r.method << " t=" << r.t << ": tau(M" << r.t << ", M" << r.t - 1 << ") " << fixed(r.agreement.tau_mean, 3)
      << " +- " << fixed(r.agreement.tau_std, 3) << ", C " << fixed(r.agreement.consistency_mean, 3) << " over "
      << r.agreement.groups_ranked << " ranked prompts; "
      << r.pairs << " pairs of " << r.groups << " prompts, mean pair C " << fixed(r.mean_pair_consistency, 3)
      << ", last DPO loss " << fixed(r.final_loss, 4) << ", " << fixed(r.seconds, 1) << " s\n";
}

void print_tables(std::ostream& out, const cream_report& report) {
  out << "\nTable 1: exact-match accuracy (%) on the held-out test prompts, greedy decoding\n";
  out << "  model     ";
  for (const task_kind task : all_tasks()) {
    const std::string label = task_name(task);
    out << "  " << std::string(std::max<std::size_t>(label.size(), 5) - label.size(), ' ') << label;
  }
  out << "    avg\n";
  for (const std::string& name : model_names()) {
    const auto found = report.accuracy.find(name);
    if (found == report.accuracy.end()) continue;
    out << "  " << name << std::string(10 - name.size(), ' ');
    for (std::size_t task = 0; task < found->second.per_task.size(); ++task) {
      const std::string label = task_name(all_tasks()[task]);
      out << "  " << fixed(100 * found->second.per_task[task], 1, int(std::max<std::size_t>(label.size(), 5)));
    }
    out << "  " << fixed(100 * found->second.average, 1, 5) << "\n";
  }
  out << "\nTable 2: consistency of the M3 and M2 rankings of the same responses (per prompt with a ranking)\n"
      << "  method      C      tau mean +- std   Spearman   top agree   bottom agree   prompts ranked\n";
  for (const auto& [name, a] : report.m3_vs_m2) {
    out << "  " << name << std::string(10 - std::min<std::size_t>(name.size(), 10), ' ') << fixed(a.consistency_mean, 3, 6)
        << "   " << fixed(a.tau_mean, 3, 6) << " +- " << fixed(a.tau_std, 3) << "   " << fixed(a.spearman_mean, 3, 8)
        << "   " << fixed(a.best_agreement, 3, 9) << "   " << fixed(a.worst_agreement, 3, 12) << "   "
        << a.groups_ranked << " of " << a.tau.size() << "\n";
  }
  out << "\ntotal " << fixed(report.total_seconds, 1) << " s:";
  for (const auto& [phase, seconds] : report.phase_seconds) out << "  " << phase << " " << fixed(seconds, 1) << " s";
  out << "\n";
}

void write_cream_outputs(const std::string& out_dir, const cream_settings& settings, const cream_run_options& options,
                         const cream_report& report) {
  nlohmann::json results;
  for (const task_kind task : all_tasks()) results["tasks"].push_back(task_name(task));
  for (const auto& [name, accuracy] : report.accuracy) {
    nlohmann::json row;
    for (std::size_t task = 0; task < accuracy.per_task.size(); ++task) row[task_name(all_tasks()[task])] = accuracy.per_task[task];
    row["avg"] = accuracy.average;
    results["accuracy"][name] = row;
  }
  for (const auto& [name, agreement] : report.m3_vs_m2) results["consistency"][name] = agreement_json(agreement);
  for (const iteration_record& r : report.iterations) {
    nlohmann::json record = agreement_json(r.agreement);
    record.erase("tau");
    record["method"] = r.method;
    record["t"] = r.t;
    record["pairs"] = r.pairs;
    record["prompts"] = r.groups;
    record["mean_pair_C"] = r.mean_pair_consistency;
    record["final_dpo_loss"] = r.final_loss;
    record["seconds"] = r.seconds;
    results["iterations"].push_back(record);
  }
  for (const auto& [phase, seconds] : report.phase_seconds) results["phases"].push_back({{"phase", phase}, {"seconds", seconds}});
  results["total_seconds"] = report.total_seconds;
  results["settings"] = {{"quick", options.quick},
                         {"start_from", options.start_from},
                         {"seed", options.seed},
                         {"consistency", consistency_mode_name(options.consistency)},
                         {"d_model", settings.model.d_model},
                         {"layers", settings.model.layers},
                         {"d_state", settings.model.d_state},
                         {"vocabulary", settings.model.vocabulary},
                         {"responses_per_prompt", settings.responses_per_prompt},
                         {"beta", settings.beta},
                         {"corrupt_fraction", settings.corrupt_fraction},
                         {"temperature", settings.sampling.sampling.temperature},
                         {"top_p", settings.sampling.sampling.top_p},
                         {"pretrain", train_json(settings.pretrain)},
                         {"sft", train_json(settings.sft)},
                         {"dpo", train_json(settings.preference)}};
  write_text_atomically(out_dir + "/cream_results.json", results.dump(2) + "\n");
  write_png(out_dir + "/accuracy_per_iteration.png", accuracy_chart(report));
  write_png(out_dir + "/tau_distribution.png", tau_chart(report));
}

}  // namespace rescan_examples
