#include "common/report/line_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "common/report/text.hpp"

namespace rescan_examples {
namespace {

constexpr rgb grid_color{225, 225, 225};
constexpr rgb axis_color{60, 60, 60};
constexpr rgb text_color{20, 20, 20};
constexpr index_t min_width = 200, min_height = 150;

// The plot area inside the image, in pixels: [left, right] x [top, bottom].
struct plot_area {
  index_t left, top, right, bottom;
};

struct value_range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void include(double value) {
    low = std::min(low, value);
    high = std::max(high, value);
  }
  bool empty() const { return !(low <= high); }
};

// Coordinates beyond +-1e300 are treated like infinities, so that ranges and ticks stay finite.
constexpr double max_coordinate = 1e300;
// Ticks are at most this many intervals (a guard for ranges where double precision runs out).
constexpr double max_tick_intervals = 100;

bool finite_point(const line_series& s, std::size_t i) {
  return std::fabs(s.x[i]) <= max_coordinate && std::fabs(s.y[i]) <= max_coordinate;
}

// Widens an empty or zero-width range so that ticks can be placed.
void make_usable(value_range& range) {
  if (range.empty()) range = {0.0, 1.0};
  if (range.low == range.high) {
    const double pad = range.low == 0 ? 1.0 : std::fabs(range.low) * 0.5;
    range.low -= pad;
    range.high += pad;
  }
}

// Maps value in [low, high] to a pixel in [from, to] (to may be smaller, for the y axis); values
// outside land at most one plot size beyond.
index_t to_pixel(double value, double low, double high, index_t from, index_t to) {
  double t = (value - low) / (high - low);
  t = std::isnan(t) ? 0.0 : std::clamp(t, -1.0, 2.0);
  return from + static_cast<index_t>(std::lround(t * static_cast<double>(to - from)));
}

void draw_legend(rgb_image& image, const plot_area& area, const std::vector<line_series>& series) {
  if (series.empty()) return;
  index_t longest = 0;
  for (const line_series& s : series) longest = std::max(longest, text_width(s.label));
  const index_t row_height = text_height() + 6;
  const index_t box_width = longest + 34, box_height = row_height * static_cast<index_t>(series.size()) + 6;
  const index_t x = area.right - box_width - 8, y = area.top + 8;
  image.fill_rect(x, y, box_width, box_height, white);
  image.draw_line(x, y, x + box_width, y, axis_color);
  image.draw_line(x, y + box_height, x + box_width, y + box_height, axis_color);
  image.draw_line(x, y, x, y + box_height, axis_color);
  image.draw_line(x + box_width, y, x + box_width, y + box_height, axis_color);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const index_t row_y = y + 6 + row_height * static_cast<index_t>(i);
    image.draw_line(x + 6, row_y + 3, x + 24, row_y + 3, series[i].color, 2);
    draw_text(image, x + 30, row_y, series[i].label, text_color);
  }
}

// Draws one series, breaking the line at non-finite points; coordinates are clamped a little
// outside the plot so that the clipped drawing stays cheap.
void draw_series(rgb_image& image, const plot_area& area, const value_range& xs, const value_range& ys,
                 const line_series& s) {
  bool have_previous = false;
  index_t previous_x = 0, previous_y = 0;
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!finite_point(s, i)) {
      have_previous = false;
      continue;
    }
    const index_t px = to_pixel(s.x[i], xs.low, xs.high, area.left, area.right);
    const index_t py = to_pixel(s.y[i], ys.low, ys.high, area.bottom, area.top);
    if (have_previous) image.draw_line(previous_x, previous_y, px, py, s.color, 2);
    else image.fill_rect(px - 1, py - 1, 2, 2, s.color);
    previous_x = px;
    previous_y = py;
    have_previous = true;
  }
}

}  // namespace

namespace detail {

std::vector<double> nice_ticks(double low, double high, int target_count) {
  const double rough = (high - low) / std::max(1, target_count);
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power;
  for (const double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * power;
    if (step >= rough) break;
  }
  const double first = std::floor(low / step), intervals = std::ceil(high / step) - first;
  if (!(intervals >= 1 && intervals <= max_tick_intervals)) return {low, high};
  std::vector<double> ticks;
  for (int k = 0; k <= static_cast<int>(intervals); ++k) ticks.push_back((first + k) * step);
  if (!(ticks.front() < ticks.back())) return {low, high};
  return ticks;
}

std::string format_tick(double value, double step) {
  char text[32];
  if (std::fabs(value) < step * 1e-9) value = 0;  // -0 and round-off around zero
  const double magnitude = std::max(std::fabs(value), step);
  if (magnitude >= 1e6 || step < 1e-4) {
    std::snprintf(text, sizeof text, "%.3g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
  }
  return text;
}

}  // namespace detail

rgb chart_color(index_t i) {
  static constexpr rgb palette[] = {{31, 119, 180}, {214, 39, 40},  {44, 160, 44},  {255, 127, 14},
                                    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
  const index_t count = static_cast<index_t>(sizeof palette / sizeof palette[0]);
  return palette[((i % count) + count) % count];
}

rgb_image draw_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<line_series>& series, index_t width, index_t height) {
  if (width < min_width || height < min_height)
    throw std::invalid_argument("draw_line_chart: width = " + std::to_string(width) + ", height = " +
                                std::to_string(height) + " is below 200 x 150");
  value_range xs, ys;
  for (const line_series& s : series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("draw_line_chart: series \"" + s.label + "\" has " + std::to_string(s.x.size()) +
                                  " x values but " + std::to_string(s.y.size()) + " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (finite_point(s, i)) {
        xs.include(s.x[i]);
        ys.include(s.y[i]);
      }
  }
  make_usable(xs);
  make_usable(ys);
  const std::vector<double> x_ticks = detail::nice_ticks(xs.low, xs.high, 6);
  const std::vector<double> y_ticks = detail::nice_ticks(ys.low, ys.high, 5);
  xs = {x_ticks.front(), x_ticks.back()};
  ys = {y_ticks.front(), y_ticks.back()};
  const double x_step = x_ticks[1] - x_ticks[0], y_step = y_ticks[1] - y_ticks[0];

  index_t widest_y_label = 0;
  for (const double tick : y_ticks) widest_y_label = std::max(widest_y_label, text_width(detail::format_tick(tick, y_step)));
  const plot_area area{widest_y_label + 16, 2 * text_height(2) + 12, width - 20, height - 2 * text_height() - 26};

  rgb_image image(width, height, white);
  draw_text(image, (width - text_width(title, 2)) / 2, 8, title, text_color, 2);
  draw_text(image, 8, area.top - text_height() - 8, y_label, text_color);
  draw_text(image, area.left + (area.right - area.left - text_width(x_label)) / 2, height - text_height() - 8,
            x_label, text_color);
  for (const double tick : x_ticks) {
    const index_t px = to_pixel(tick, xs.low, xs.high, area.left, area.right);
    image.draw_line(px, area.top, px, area.bottom, grid_color);
    image.draw_line(px, area.bottom, px, area.bottom + 4, axis_color);
    const std::string label = detail::format_tick(tick, x_step);
    draw_text(image, px - text_width(label) / 2, area.bottom + 8, label, text_color);
  }
  for (const double tick : y_ticks) {
    const index_t py = to_pixel(tick, ys.low, ys.high, area.bottom, area.top);
    image.draw_line(area.left, py, area.right, py, grid_color);
    image.draw_line(area.left - 4, py, area.left, py, axis_color);
    const std::string label = detail::format_tick(tick, y_step);
    draw_text(image, area.left - 8 - text_width(label), py - text_height() / 2, label, text_color);
  }
  image.draw_line(area.left, area.top, area.left, area.bottom, axis_color);
  image.draw_line(area.left, area.bottom, area.right, area.bottom, axis_color);
  for (const line_series& s : series) draw_series(image, area, xs, ys, s);
  draw_legend(image, area, series);
  return image;
}

}  // namespace rescan_examples
