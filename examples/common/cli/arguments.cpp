#include "arguments.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rescan_examples {

arguments& arguments::option(const std::string& name, const std::string& default_value, const std::string& help) {
  declared_[name] = declared{default_value, help, false};
  order_.push_back(name);
  return *this;
}

arguments& arguments::flag(const std::string& name, const std::string& help) {
  declared_[name] = declared{"", help, true};
  order_.push_back(name);
  return *this;
}

const arguments::declared& arguments::find(const std::string& name) const {
  const auto it = declared_.find(name);
  if (it == declared_.end()) throw std::logic_error("arguments: option --" + name + " was never declared");
  return it->second;
}

void arguments::parse(int argc, const char* const* argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string token = argv[i];
    if (token.rfind("--", 0) != 0 || token.size() == 2) {
      throw usage_error("unexpected argument '" + token + "' (options start with --)");
    }
    std::string name = token.substr(2), value;
    const std::size_t equals = name.find('=');
    const bool inline_value = equals != std::string::npos;
    if (inline_value) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    const auto it = declared_.find(name);
    if (it == declared_.end()) throw usage_error("unknown option --" + name);
    if (given_.count(name)) throw usage_error("option --" + name + " given twice");
    if (it->second.is_flag) {
      if (inline_value) throw usage_error("option --" + name + " takes no value");
      value = "1";
    } else if (!inline_value) {
      if (i + 1 >= argc) throw usage_error("option --" + name + " needs a value");
      value = argv[++i];
    }
    given_[name] = value;
  }
}

bool arguments::has(const std::string& name) const {
  return given_.count(name) > 0 || !find(name).default_value.empty();
}

bool arguments::flag_set(const std::string& name) const {
  find(name);
  return given_.count(name) > 0;
}

std::string arguments::text(const std::string& name) const {
  const declared& d = find(name);
  const auto it = given_.find(name);
  return it != given_.end() ? it->second : d.default_value;
}

std::int64_t arguments::integer(const std::string& name, std::int64_t low, std::int64_t high) const {
  const std::string value = text(name);
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno == ERANGE || parsed < low || parsed > high) {
    throw usage_error("option --" + name + " = '" + value + "' but must be an integer in [" + std::to_string(low) +
                      ", " + std::to_string(high) + "]");
  }
  return parsed;
}

double arguments::real(const std::string& name, double low, double high) const {
  const std::string value = text(name);
  char* end = nullptr;
  const double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(parsed) || parsed < low || parsed > high) {
    std::ostringstream range;
    range << '[' << low << ", " << high << ']';
    throw usage_error("option --" + name + " = '" + value + "' but must be a number in " + range.str());
  }
  return parsed;
}

std::string arguments::help() const {
  std::ostringstream out;
  for (const std::string& name : order_) {
    const declared& d = declared_.at(name);
    std::string left = "  --" + name + (d.is_flag ? "" : " <value>");
    if (left.size() < 26) left.resize(26, ' ');
    out << left << ' ' << d.help;
    if (!d.is_flag && !d.default_value.empty()) out << " (default: " << d.default_value << ')';
    out << '\n';
  }
  return out.str();
}

bool parse_or_print_help(const std::string& usage, const std::string& summary, arguments& args, int argc,
                         const char* const* argv, int first) {
  for (int i = first; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << "usage: " << usage << " [options]\n\n" << summary << "\n\noptions:\n" << args.help();
      return false;
    }
  }
  args.parse(argc, argv, first);
  return true;
}

void apply_thread_option(const arguments& args) {
  const auto threads = static_cast<int>(args.integer("threads", 0, 4096));
#ifdef _OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

}  // namespace rescan_examples
