#include "common/report/progress_bar.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace rescan_examples {
namespace {

std::size_t count_of(const std::string& text, char c) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), c)); }

TEST_CASE("durations and rates are formatted compactly") {
  CHECK(detail::format_duration(0) == "00:00");
  CHECK(detail::format_duration(75.9) == "01:15");
  CHECK(detail::format_duration(3 * 3600 + 62) == "3:01:02");
  CHECK(detail::format_duration(-1) == "--:--");
  CHECK(detail::format_rate(4012.4) == "4012");
  CHECK(detail::format_rate(37.54) == "37.5");
  CHECK(detail::format_rate(0.1234) == "0.123");
  CHECK(detail::format_rate(-1) == "-");
}

TEST_CASE("a progress line shows the bar, counts, rate, values, elapsed and remaining time") {
  const std::string line =
      detail::format_progress_line("train", 250, 1000, "img", 5.0, {{"loss", 0.41234}, {"acc", 0.85}}, true);
  CHECK(line == "train [======>                 ] 250/1000  50.0 img/s  loss 0.4123  acc 0.85  00:05<00:15");
  CHECK(detail::format_progress_line("eval", 0, 10, "batch", 0.0, {}, false) == "eval 0/10  - batch/s  00:00<--:--");
  CHECK(detail::format_progress_line("x", 10, 10, "img", 2.0, {}, true) ==
        "x [========================] 10/10  5 img/s  00:02<00:00");
  CHECK(detail::format_progress_summary("train", 60000, "img", 15.0, {{"loss", 0.31}}) ==
        "train done: 60000 img in 00:15 (4000 img/s)  loss 0.31");
}

TEST_CASE("plain style prints about one line per 10% and the summary") {
  std::ostringstream out;
  progress_bar bar("epoch 1", 100, "img", progress_style::plain, &out);
  for (index_t done = 0; done <= 100; ++done) bar.update(done, {{"loss", 1.0}});
  bar.finish();
  bar.finish();  // once only
  const std::string text = out.str();
  CHECK(count_of(text, '\n') == 12);  // 0%, 10%, ..., 100%, the summary
  CHECK(count_of(text, '\r') == 0);
  CHECK(text.find("epoch 1 0/100") == 0);
  CHECK(text.find("epoch 1 done: 100 img in ") != std::string::npos);
  CHECK(text.find("loss 1") != std::string::npos);
}

TEST_CASE("terminal style redraws one \\r line and ends with a newline") {
  std::ostringstream out;
  progress_bar bar("train", 10, "img", progress_style::terminal, &out);
  for (index_t done = 1; done <= 10; ++done) bar.update(done);
  bar.finish();
  const std::string text = out.str();
  CHECK(text.front() == '\r');
  CHECK(text.find("train [") != std::string::npos);
  CHECK(text.find("10/10") != std::string::npos);  // the last update is always drawn
  CHECK(text.back() == '\n');
  CHECK(count_of(text, '\n') == 1);
}

TEST_CASE("quiet style writes nothing; automatic on a string stream is plain") {
  std::ostringstream out;
  progress_bar quiet("q", 5, "img", progress_style::quiet, &out);
  quiet.update(3);
  quiet.finish();
  CHECK(out.str().empty());
  CHECK(progress_bar("a", 5, "img", progress_style::automatic, &out).style() == progress_style::plain);
}

TEST_CASE("negative totals and counts are rejected") {
  std::ostringstream out;
  CHECK_THROWS_WITH_AS(progress_bar("x", -1, "img", progress_style::plain, &out), "progress_bar: total = -1 is negative",
                       std::invalid_argument);
  progress_bar bar("x", 3, "img", progress_style::plain, &out);
  CHECK_THROWS_WITH_AS(bar.update(-2), "progress_bar::update: done = -2 is negative", std::invalid_argument);
}

}  // namespace
}  // namespace rescan_examples
