#include "common/report/line_chart.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace rescan_examples {
namespace {

// Pixels of color inside [x0, x1) x [y0, y1).
index_t count_color(const rgb_image& image, rgb color, index_t x0, index_t y0, index_t x1, index_t y1) {
  index_t count = 0;
  for (index_t y = y0; y < y1; ++y)
    for (index_t x = x0; x < x1; ++x) count += image.get(x, y) == color;
  return count;
}

TEST_CASE("nice ticks are round and cover the range") {
  CHECK(detail::nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  CHECK(detail::nice_ticks(3, 97, 5) == std::vector<double>{0, 20, 40, 60, 80, 100});
  CHECK(detail::nice_ticks(-0.3, 0.05, 5) == std::vector<double>{-0.30000000000000004, -0.2, -0.1, 0, 0.1});
  const std::vector<double> wide = detail::nice_ticks(-1e300, 1e300, 5);
  CHECK(wide.size() >= 2);
  CHECK(wide.front() <= -1e300);
  CHECK(wide.back() >= 1e300);
  const std::vector<double> narrow = detail::nice_ticks(1e17, 1e17 + 32, 5);  // beyond double's integer steps
  CHECK(narrow.size() >= 2);
  CHECK(narrow.front() < narrow.back());
}

TEST_CASE("tick labels carry as many decimals as the step needs") {
  CHECK(detail::format_tick(0.25, 0.05) == "0.25");
  CHECK(detail::format_tick(0.2, 0.2) == "0.2");
  CHECK(detail::format_tick(2000, 500) == "2000");
  CHECK(detail::format_tick(-1e-17, 0.1) == "0.0");
  CHECK(detail::format_tick(3e6, 1e6) == "3e+06");
}

TEST_CASE("a chart has series pixels inside the plot area and a title above it") {
  line_series loss{"loss", {}, {}, chart_color(0)};
  line_series accuracy{"acc", {}, {}, chart_color(1)};
  for (int step = 0; step <= 100; ++step) {
    loss.x.push_back(step);
    loss.y.push_back(2.0 * std::exp(-step / 30.0));
    accuracy.x.push_back(step);
    accuracy.y.push_back(step == 50 ? std::numeric_limits<double>::quiet_NaN() : 1 - std::exp(-step / 20.0));
  }
  const rgb_image chart = draw_line_chart("Training", "step", "value", {loss, accuracy}, 640, 400);
  CHECK(chart.width == 640);
  CHECK(chart.height == 400);
  // The middle of the plot holds both series' colours; the top strip holds the title's dark text.
  CHECK(count_color(chart, chart_color(0), 100, 60, 600, 340) > 200);
  CHECK(count_color(chart, chart_color(1), 100, 60, 600, 340) > 200);
  index_t dark_in_title = 0;
  for (index_t y = 0; y < 30; ++y)
    for (index_t x = 0; x < 640; ++x) dark_in_title += chart.get(x, y).r < 100;
  CHECK(dark_in_title > 50);
}

TEST_CASE("empty series, all-NaN series and constant series draw without throwing") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  CHECK_NOTHROW(draw_line_chart("empty", "x", "y", {}));
  CHECK_NOTHROW(draw_line_chart("none", "x", "y", {{"a", {}, {}, chart_color(0)}}));
  CHECK_NOTHROW(draw_line_chart("nan", "x", "y", {{"a", {nan, 1, inf}, {1, nan, 2}, chart_color(0)}}));
  const rgb_image flat = draw_line_chart("flat", "x", "y", {{"c", {0, 1, 2}, {5, 5, 5}, chart_color(2)}});
  CHECK(count_color(flat, chart_color(2), 0, 0, flat.width, flat.height) > 100);
  CHECK_NOTHROW(draw_line_chart("huge", "x", "y", {{"h", {-1e300, 1e300}, {1e-300, 1e300}, chart_color(3)}}));
}

TEST_CASE("a non-finite point breaks the line: its neighbours are drawn as dots only") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const line_series range{"range", {0, 2}, {0, 10}, chart_color(0)};
  const line_series broken{"broken", {0, 1, 2}, {5, nan, 5}, chart_color(1)};
  const rgb_image chart = draw_line_chart("gap", "x", "y", {range, broken}, 400, 300);
  const index_t drawn = count_color(chart, chart_color(1), 0, 0, chart.width, chart.height);
  CHECK(drawn > 4);   // the two end dots
  CHECK(drawn < 60);  // the legend sample is about 38 pixels; no segment through the gap
}

TEST_CASE("bad sizes and mismatched series are rejected") {
  CHECK_THROWS_AS(draw_line_chart("t", "x", "y", {}, 100, 500), std::invalid_argument);
  CHECK_THROWS_AS(draw_line_chart("t", "x", "y", {}, 800, 10), std::invalid_argument);
  CHECK_THROWS_WITH_AS(draw_line_chart("t", "x", "y", {{"s", {1, 2}, {1}, chart_color(0)}}),
                       "draw_line_chart: series \"s\" has 2 x values but 1 y values", std::invalid_argument);
}

}  // namespace
}  // namespace rescan_examples
