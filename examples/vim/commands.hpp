// The subcommands of `rmeeto`. Each takes the command line after its own name (argv[first..argc)),
// prints its results, and returns the process exit code; usage_error and file_error propagate to
// main, which prints them.
#pragma once

#include <string>

#include "common/cli/arguments.hpp"
#include "common/io/fashion_mnist.hpp"
#include "vim_model.hpp"

namespace rescan_examples {

int command_train(int argc, const char* const* argv, int first);
int command_eval(int argc, const char* const* argv, int first);
int command_retrain(int argc, const char* const* argv, int first);
int command_bench(int argc, const char* const* argv, int first);
int command_demo(int argc, const char* const* argv, int first);
int command_info(int argc, const char* const* argv, int first);

// Shared by the commands.
// When argv[first..argc) asks for --help: prints the command's usage and options and returns false.
// Otherwise parses it into args (usage_error on a bad option), applies --threads, returns true.
bool parse_command(const char* command, const char* summary, arguments& args, int argc, const char* const* argv,
                   int first);
void declare_common_options(arguments& args);               // --threads, --data
fashion_mnist load_data(const arguments& args);              // from --data or the default directory
// --merge-r and --prune-r in range and not both non-zero, --interval >= 1 (usage_error otherwise).
void check_reduction_options(const arguments& args);
// --merge-r / --prune-r / --interval -> the reduction for a model of `depth` blocks (at most one of
// the two r options may be non-zero).
token_reduction reduction_from(const arguments& args, index_t depth);
// Copies every parameter value of `from` into `to` (same configuration).
void copy_parameters(const vim_model<float>& from, vim_model<float>& to);

}  // namespace rescan_examples
