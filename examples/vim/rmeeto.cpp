// rmeeto: Vision Mamba with R-MeeTo token merging on Fashion-MNIST, built on rescan.
//   rmeeto train | eval | retrain | bench | demo | info [options]     (rmeeto <command> --help)
#include <cstdio>
#include <exception>
#include <string>

#include "commands.hpp"
#include "common/io/file_error.hpp"

namespace {

constexpr const char* usage =
    "usage: rmeeto <command> [options]\n"
    "\n"
    "Vision Mamba (Vim) with R-MeeTo token merging, on Fashion-MNIST.\n"
    "\n"
    "commands:\n"
    "  train    train a Vim from scratch and save a safetensors checkpoint\n"
    "  eval     test top-1 of a checkpoint, optionally merging (--merge-r) or pruning (--prune-r) tokens\n"
    "  retrain  re-train a checkpoint with token merging, distilled from the unmerged model\n"
    "  bench    inference images/s with and without token merging\n"
    "  demo     all of it in miniature: train, merge, prune, re-train, measure, write results.json\n"
    "  info     a configuration's parameter count and tokens per block (tiny, ti, s, b)\n"
    "\n"
    "rmeeto <command> --help lists the command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace rescan_examples;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "train") return command_train(argc, argv, 2);
    if (command == "eval") return command_eval(argc, argv, 2);
    if (command == "retrain") return command_retrain(argc, argv, 2);
    if (command == "bench") return command_bench(argc, argv, 2);
    if (command == "demo") return command_demo(argc, argv, 2);
    if (command == "info") return command_info(argc, argv, 2);
    std::fprintf(stderr, "rmeeto: unknown command '%s'\n\n%s", command.c_str(), usage);
    return 2;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "rmeeto %s: %s (see rmeeto %s --help)\n", command.c_str(), e.what(), command.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rmeeto %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
