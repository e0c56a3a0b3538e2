#include "common/report/progress_bar.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace rescan_examples {
namespace {

constexpr double terminal_redraw_seconds = 0.2;
constexpr double plain_every_seconds = 10.0;
constexpr int bar_cells = 24;

progress_style resolve(progress_style style, const std::ostream* out) {
  if (style != progress_style::automatic) return style;
  return out == &std::cerr && ::isatty(STDERR_FILENO) ? progress_style::terminal : progress_style::plain;
}

std::string format_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string format_values(const progress_values& values) {
  std::string text;
  for (const auto& [name, value] : values) text += "  " + name + " " + format_value(value);
  return text;
}

std::string bar(index_t done, index_t total) {
  const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  const int full = static_cast<int>(fraction * bar_cells);
  std::string cells(bar_cells, ' ');
  for (int i = 0; i < full; ++i) cells[static_cast<std::size_t>(i)] = '=';
  if (full < bar_cells && done > 0) cells[static_cast<std::size_t>(full)] = '>';
  return "[" + cells + "]";
}

}  // namespace

namespace detail {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto whole = static_cast<long long>(seconds);
  char text[32];
  if (whole >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", whole / 3600, whole / 60 % 60, whole % 60);
  else
    std::snprintf(text, sizeof text, "%02lld:%02lld", whole / 60, whole % 60);
  return text;
}

std::string format_rate(double units_per_second) {
  if (!std::isfinite(units_per_second) || units_per_second < 0) return "-";
  char text[32];
  if (units_per_second >= 100)
    std::snprintf(text, sizeof text, "%.0f", units_per_second);
  else if (units_per_second >= 10)
    std::snprintf(text, sizeof text, "%.1f", units_per_second);
  else
    std::snprintf(text, sizeof text, "%.3g", units_per_second);
  return text;
}

std::string format_progress_line(const std::string& label, index_t done, index_t total, const std::string& unit,
                                 double elapsed_seconds, const progress_values& values, bool with_bar) {
  const bool timed = elapsed_seconds > 0 && std::isfinite(elapsed_seconds);
  const double rate = timed ? static_cast<double>(done) / elapsed_seconds : -1;
  const double remaining = rate > 0 ? static_cast<double>(std::max<index_t>(0, total - done)) / rate : -1;
  std::ostringstream line;
  line << label << ' ';
  if (with_bar) line << bar(done, total) << ' ';
  line << done << '/' << total << "  " << format_rate(rate) << ' ' << unit << "/s" << format_values(values) << "  "
       << format_duration(elapsed_seconds) << '<' << format_duration(remaining);
  return line.str();
}

std::string format_progress_summary(const std::string& label, index_t done, const std::string& unit,
                                    double elapsed_seconds, const progress_values& values) {
  const bool timed = elapsed_seconds > 0 && std::isfinite(elapsed_seconds);
  std::ostringstream line;
  line << label << " done: " << done << ' ' << unit << " in " << format_duration(elapsed_seconds) << " ("
       << format_rate(timed ? static_cast<double>(done) / elapsed_seconds : -1) << ' ' << unit << "/s)"
       << format_values(values);
  return line.str();
}

}  // namespace detail

progress_bar::progress_bar(std::string label, index_t total, std::string unit, progress_style style, std::ostream* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      style_(resolve(style, out == nullptr ? &std::cerr : out)),
      out_(out == nullptr ? &std::cerr : out),
      start_(clock::now()),
      last_draw_(start_) {
  if (total < 0) throw std::invalid_argument("progress_bar: total = " + std::to_string(total) + " is negative");
}

double progress_bar::seconds_since_start() const {
  return std::chrono::duration<double>(clock::now() - start_).count();
}

void progress_bar::update(index_t done, const progress_values& values) {
  if (done < 0) throw std::invalid_argument("progress_bar::update: done = " + std::to_string(done) + " is negative");
  done_ = done;
  values_ = values;
  if (style_ == progress_style::quiet || finished_) return;
  const clock::time_point now = clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (style_ == progress_style::terminal) {
    if (drawn_ && since_draw < terminal_redraw_seconds && done != total_) return;
    *out_ << '\r' << detail::format_progress_line(label_, done, total_, unit_, elapsed, values, true) << "\x1b[K"
          << std::flush;
  } else {
    const index_t tenth = total_ > 0 ? std::min<index_t>(10, done * 10 / total_) : 10;
    if (tenth == last_plain_tenth_ && since_draw < plain_every_seconds) return;
    last_plain_tenth_ = tenth;
    *out_ << detail::format_progress_line(label_, done, total_, unit_, elapsed, values, false) << '\n' << std::flush;
  }
  last_draw_ = now;
  drawn_ = true;
}

void progress_bar::finish() {
  if (finished_) return;
  finished_ = true;
  if (style_ == progress_style::quiet) return;
  if (style_ == progress_style::terminal && drawn_) *out_ << '\r' << "\x1b[K";
  *out_ << detail::format_progress_summary(label_, done_, unit_, seconds_since_start(), values_) << '\n'
        << std::flush;
}

}  // namespace rescan_examples
