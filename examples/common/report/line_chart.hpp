// Line charts for training curves (loss and accuracy against step or epoch): a title, a plot area
// with a light grid at "nice" round ticks (1, 2 or 5 times a power of ten) labelled on both axes,
// one polyline per series, and a legend in the plot's top-right corner.
#pragma once

#include <string>
#include <vector>

#include "common/report/rgb_image.hpp"

namespace rescan_examples {

// x, y: the points, same length; a point with a NaN or infinite coordinate (or one beyond +-1e300)
// is skipped and breaks the line there.
struct line_series {
  std::string label;
  std::vector<double> x, y;
  rgb color;
};

// The i-th of 8 distinct colours that print well on white (cycling).
rgb chart_color(index_t i);

// Draws the series into a width x height image. The axes span the finite points of all series,
// widened to whole ticks; with no finite point they span [0, 1]. Empty series are listed in the
// legend only. Throws std::invalid_argument when width < 200, height < 150, or a series' x and y
// differ in length.
rgb_image draw_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<line_series>& series, index_t width = 800, index_t height = 500);

namespace detail {

// Round tick positions covering [low, high]: a step of 1, 2 or 5 times a power of ten giving about
// target_count intervals; the first tick is <= low and the last >= high. low < high, both finite.
// Where double precision cannot place such ticks it returns {low, high}; always 2 ticks or more.
std::vector<double> nice_ticks(double low, double high, int target_count = 5);

// A tick label with just enough decimals for step: format_tick(0.25, 0.05) = "0.25",
// format_tick(2000, 500) = "2000"; very large or small values use an exponent ("1e+06").
std::string format_tick(double value, double step);

}  // namespace detail
}  // namespace rescan_examples
