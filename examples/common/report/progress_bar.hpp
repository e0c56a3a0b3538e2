// A progress line for long loops (training epochs, evaluation). On a terminal it redraws one
// "\r" line at most about 5 times a second:
//   train [=========>              ] 12800/60000  4012 img/s  loss 0.4123  acc 0.85  00:03<00:11
// Elsewhere (a log file, CI) it prints a plain line every 10% or 10 s, whichever comes first.
// finish() prints the final line with the total time and average rate.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_examples {

using rescan::index_t;

// Named values shown after the rate, e.g. {{"loss", 0.41}, {"acc", 0.85}}.
using progress_values = std::vector<std::pair<std::string, double>>;

enum class progress_style {
  automatic,  // terminal when the output is standard error and that is a TTY, plain otherwise
  terminal,   // redrawn "\r" line
  plain,      // one line per 10% or 10 s
  quiet,      // nothing
};

class progress_bar {
 public:
  // total: the number of units the loop processes (>= 0); out: where to write (nullptr: std::cerr).
  // Throws std::invalid_argument when total is negative.
  progress_bar(std::string label, index_t total, std::string unit = "img",
               progress_style style = progress_style::automatic, std::ostream* out = nullptr);

  // done: units processed so far, in [0, total] (larger values are shown as they are). Throws
  // std::invalid_argument when done is negative.
  void update(index_t done, const progress_values& values = {});

  // Prints the final line (total time, average rate, the last values) once; later calls do nothing.
  void finish();

  progress_style style() const { return style_; }

 private:
  using clock = std::chrono::steady_clock;
  double seconds_since_start() const;

  std::string label_, unit_;
  index_t total_, done_ = 0;
  progress_style style_;
  std::ostream* out_;
  progress_values values_;
  clock::time_point start_, last_draw_;
  index_t last_plain_tenth_ = -1;
  bool drawn_ = false, finished_ = false;
};

namespace detail {

// "mm:ss", or "h:mm:ss" from an hour on; "--:--" for a negative or non-finite time.
std::string format_duration(double seconds);

// A rate with 3 significant digits at most and no exponent: "4012", "37.5", "0.123".
std::string format_rate(double units_per_second);

// One progress line (no "\r" or newline): label, the bar when with_bar, done/total, the rate,
// the values, then elapsed<remaining. The rate and remaining time are "-" before any time passed.
std::string format_progress_line(const std::string& label, index_t done, index_t total, const std::string& unit,
                                 double elapsed_seconds, const progress_values& values, bool with_bar);

// The final line: "label done: 60000 img in 00:15 (4000 img/s)  loss 0.31".
std::string format_progress_summary(const std::string& label, index_t done, const std::string& unit,
                                    double elapsed_seconds, const progress_values& values);

}  // namespace detail
}  // namespace rescan_examples
