// cream: the CREAM trainer on a small Mamba language model (cream_experiment.hpp).
//   cream run [--quick] [--consistency avg|dyn] [--seed n] [--out dir] [--threads n] [--quiet]
//   cream tasks [--seed n] [--count n]     generated examples of the five tasks
#include <cstdint>
#include <iostream>
#include <string>

#include "common/cli/arguments.hpp"
#include "cream_experiment.hpp"

namespace {

using namespace rescan_examples;

const char* const usage =
    "usage: cream <command> [options]\n"
    "  run     the whole experiment: M0, M1, two SRLM and two CREAM iterations, the tables,\n"
    "          cream_results.json and the plots\n"
    "  tasks   generated examples of the five tasks\n"
    "cream <command> --help lists the command's options.\n";

int command_run(int argc, const char* const* argv) {
  arguments args;
  args.flag("quick", "a small model and data set: every phase in about a second (the smoke test)")
      .option("consistency", "avg", "CREAM's consistency: avg (set-level C) or dyn (per-prompt C_j)")
      .option("seed", "0", "seed of the data, the initialization, the shuffling and every sample")
      .option("out", "build/cream", "output folder (created)")
      .option("threads", "0", "threads (0 = OpenMP's default: every core)")
      .option("d-model", "", "model width (64; quick 32)")
      .option("layers", "", "Mamba layers (4; quick 2)")
      .option("pretrain-epochs", "", "M0's epochs over the corpus (32; quick 2)")
      .option("sft-epochs", "", "M1's epochs over the seed set (4; quick 2)")
      .option("sft-lr", "", "M1's peak learning rate (3e-4)")
      .option("dpo-lr", "", "peak learning rate of each self-rewarding iteration (1e-4)")
      .option("dpo-epochs", "", "epochs over each iteration's pairs (1)")
      .option("beta", "", "the DPO beta (0.1)")
      .option("start-from", "", "folder of an earlier run (same seed and model): load its M0 and M1 instead of training")
      .flag("quiet", "no progress bars");
  if (!parse_or_print_help("cream run", "Runs the CREAM experiment in miniature and reports it.", args, argc, argv, 2)) {
    return 0;
  }
  apply_thread_option(args);
  cream_run_options options;
  options.quick = args.flag_set("quick");
  const std::string consistency = args.text("consistency");
  if (consistency != "avg" && consistency != "dyn") {
    throw usage_error("option --consistency = '" + consistency + "' but must be avg or dyn");
  }
  options.consistency = consistency == "avg" ? consistency_mode::average : consistency_mode::dynamic;
  options.seed = std::uint64_t(args.integer("seed", 0, INT64_MAX));
  options.out_dir = args.text("out");
  options.quiet = args.flag_set("quiet");
  options.start_from = args.text("start-from");
  cream_settings settings = options.quick ? quick_cream_settings() : full_cream_settings();
  const auto override_integer = [&](const char* name, index_t& value, index_t low, index_t high) {
    if (args.has(name)) value = index_t(args.integer(name, low, high));
  };
  const auto override_real = [&](const char* name, double& value, double low, double high) {
    if (args.has(name)) value = args.real(name, low, high);
  };
  override_integer("d-model", settings.model.d_model, 1, 4096);
  override_integer("layers", settings.model.layers, 1, 256);
  override_integer("pretrain-epochs", settings.pretrain.epochs, 0, 1000);
  override_integer("sft-epochs", settings.sft.epochs, 0, 1000);
  override_real("sft-lr", settings.sft.learning_rate, 0, 1);
  override_real("dpo-lr", settings.preference.learning_rate, 0, 1);
  override_integer("dpo-epochs", settings.preference.epochs, 0, 1000);
  override_real("beta", settings.beta, 1e-6, 1e6);
  run_cream(settings, options);
  return 0;
}

int command_tasks(int argc, const char* const* argv) {
  arguments args;
  args.option("seed", "0", "seed of the draws").option("count", "3", "examples per task");
  if (!parse_or_print_help("cream tasks", "Prints generated examples of the five tasks.", args, argc, argv, 2)) {
    return 0;
  }
  random_generator random(std::uint64_t(args.integer("seed", 0, INT64_MAX)));
  const auto count = args.integer("count", 1, 1000);
  for (const task_kind task : all_tasks()) {
    for (std::int64_t i = 0; i < count; ++i) {
      const task_example example = make_example(task, random);
      std::cout << task_name(task) << "  " << example.prompt << example.answer << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command.empty() || command == "--help" || command == "-h" || command == "help") {
    std::cout << usage;
    return command.empty() ? 2 : 0;
  }
  try {
    if (command == "run") return command_run(argc, argv);
    if (command == "tasks") return command_tasks(argc, argv);
    std::cerr << "cream: unknown command '" << command << "'\n" << usage;
    return 2;
  } catch (const usage_error& error) {
    std::cerr << "cream " << command << ": " << error.what() << " (see cream " << command << " --help)\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "cream " << command << ": " << error.what() << "\n";
    return 1;
  }
}
