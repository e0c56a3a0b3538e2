// Command-line options of the examples' executables: `--name value` and `--flag`, each declared
// with its help text, read with typed getters that check the value. Anything unknown, repeated,
// missing its value or not parsable is a usage_error whose message names the option.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescan_examples {

class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class arguments;

// argv[first, argc) of one command. With --help or -h anywhere: prints "usage: <usage> [options]",
// the summary and the option list to standard output and returns false. Otherwise parses them into
// args (usage_error on anything wrong) and returns true.
bool parse_or_print_help(const std::string& usage, const std::string& summary, arguments& args, int argc,
                         const char* const* argv, int first);

// Sets OpenMP's thread count from the declared option "threads" (0 = leave OpenMP's default).
void apply_thread_option(const arguments& args);

class arguments {
 public:
  // Declares `--name <value>` (default shown in the help; an empty default means "not set").
  arguments& option(const std::string& name, const std::string& default_value, const std::string& help);
  // Declares `--name` without a value.
  arguments& flag(const std::string& name, const std::string& help);

  // argv[first, argc): parses every token; throws usage_error on anything not declared.
  void parse(int argc, const char* const* argv, int first);

  bool has(const std::string& name) const;  // given on the command line (or a non-empty default)
  bool flag_set(const std::string& name) const;
  std::string text(const std::string& name) const;
  // Integers and reals within [low, high] (inclusive); the message names the option and the range.
  std::int64_t integer(const std::string& name, std::int64_t low, std::int64_t high) const;
  double real(const std::string& name, double low, double high) const;

  // One line per option: "  --name <value>  help (default: x)".
  std::string help() const;

 private:
  struct declared {
    std::string default_value, help;
    bool is_flag = false;
  };
  const declared& find(const std::string& name) const;

  std::map<std::string, declared> declared_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> given_;
};

}  // namespace rescan_examples
