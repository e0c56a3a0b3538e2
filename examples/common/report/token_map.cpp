#include "common/report/token_map.hpp"

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

namespace rescan_examples {
namespace {

constexpr index_t max_figure_side = index_t{1} << 14;

[[noreturn]] void reject(const std::string& what) { throw std::invalid_argument("draw_token_groups: " + what); }

void check_arguments(const std::vector<const std::uint8_t*>& images, index_t height, index_t width, index_t patch,
                     const std::vector<std::vector<int>>& groups, index_t scale) {
  if (images.empty()) reject("images is empty");
  if (images.size() != groups.size())
    reject(std::to_string(images.size()) + " images but " + std::to_string(groups.size()) + " group vectors");
  if (patch < 1) reject("patch = " + std::to_string(patch) + " is below 1");
  if (scale < 1) reject("scale = " + std::to_string(scale) + " is below 1");
  if (height < patch || width < patch || height % patch != 0 || width % patch != 0)
    reject("height = " + std::to_string(height) + ", width = " + std::to_string(width) +
           " are not positive multiples of patch = " + std::to_string(patch));
  if (height > max_figure_side / scale || width > max_figure_side / scale ||
      static_cast<index_t>(images.size()) > max_figure_side / (height * scale))
    reject("the figure would be larger than 2^14 pixels on a side");
  const std::size_t patches = static_cast<std::size_t>((height / patch) * (width / patch));
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (images[i] == nullptr) reject("images[" + std::to_string(i) + "] is null");
    if (groups[i].size() != patches)
      reject("groups[" + std::to_string(i) + "] has " + std::to_string(groups[i].size()) + " ids but the " +
             std::to_string(height / patch) + "x" + std::to_string(width / patch) + " patch grid needs " +
             std::to_string(patches));
    for (std::size_t p = 0; p < patches; ++p)
      if (groups[i][p] < -1)
        reject("groups[" + std::to_string(i) + "][" + std::to_string(p) + "] = " + std::to_string(groups[i][p]) +
               " is below -1");
  }
}

rgb gray(std::uint8_t value) { return {value, value, value}; }

// The token map of one image: each group's pixels replaced by the group's tinted mean, then lines
// on the edges between patches of different groups.
void draw_token_panel(rgb_image& figure, index_t left, index_t top, const std::uint8_t* image, index_t height,
                      index_t width, index_t patch, const std::vector<int>& ids, index_t scale) {
  const index_t grid_w = width / patch, grid_h = height / patch;
  std::map<int, double> sums;
  std::map<int, index_t> counts, order;
  for (index_t y = 0; y < height; ++y)
    for (index_t x = 0; x < width; ++x) {
      const int id = ids[static_cast<std::size_t>((y / patch) * grid_w + x / patch)];
      sums[id] += image[y * width + x];
      ++counts[id];
      if (id >= 0 && order.count(id) == 0) order.emplace(id, static_cast<index_t>(order.size()));
    }
  for (index_t row = 0; row < grid_h; ++row)
    for (index_t column = 0; column < grid_w; ++column) {
      const int id = ids[static_cast<std::size_t>(row * grid_w + column)];
      const rgb color = id < 0 ? pruned_patch_color
                               : mix(gray(static_cast<std::uint8_t>(std::lround(sums[id] / counts[id]))),
                                     token_color(order[id]), token_tint_alpha);
      figure.fill_rect(left + column * patch * scale, top + row * patch * scale, patch * scale, patch * scale, color);
    }
  const index_t cell = patch * scale;
  for (index_t row = 0; row < grid_h; ++row)
    for (index_t column = 0; column < grid_w; ++column) {
      const int id = ids[static_cast<std::size_t>(row * grid_w + column)];
      const index_t x = left + column * cell, y = top + row * cell;
      if (column + 1 < grid_w && ids[static_cast<std::size_t>(row * grid_w + column + 1)] != id)
        figure.draw_line(x + cell - 1, y, x + cell - 1, y + cell - 1, token_boundary_color);
      if (row + 1 < grid_h && ids[static_cast<std::size_t>((row + 1) * grid_w + column)] != id)
        figure.draw_line(x, y + cell - 1, x + cell - 1, y + cell - 1, token_boundary_color);
    }
}

}  // namespace

rgb token_color(index_t k) {
  const double golden = 0.6180339887498949;
  const double hue = std::fmod(static_cast<double>(k) * golden, 1.0) * 6.0;
  const double saturation = 0.75, value = 0.95;
  const int sector = static_cast<int>(hue) % 6;
  const double f = hue - std::floor(hue);
  const double p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f));
  double r = value, g = t, b = p;
  switch (sector) {
    case 1: r = q, g = value, b = p; break;
    case 2: r = p, g = value, b = t; break;
    case 3: r = p, g = q, b = value; break;
    case 4: r = t, g = p, b = value; break;
    case 5: r = value, g = p, b = q; break;
    default: break;
  }
  const auto channel = [](double c) { return static_cast<std::uint8_t>(std::lround(c * 255)); };
  return {channel(r), channel(g), channel(b)};
}

rgb_image draw_token_groups(const std::vector<const std::uint8_t*>& images, index_t height, index_t width,
                            index_t patch, const std::vector<std::vector<int>>& groups, index_t scale) {
  check_arguments(images, height, width, patch, groups, scale);
  const index_t panel_w = width * scale, panel_h = height * scale;
  const auto count = static_cast<index_t>(images.size());
  rgb_image figure(2 * panel_w + 3 * token_panel_gap, count * (panel_h + token_panel_gap) + token_panel_gap, white);
  for (index_t i = 0; i < count; ++i) {
    const std::uint8_t* image = images[static_cast<std::size_t>(i)];
    const index_t top = token_panel_gap + i * (panel_h + token_panel_gap);
    for (index_t y = 0; y < height; ++y)
      for (index_t x = 0; x < width; ++x)
        figure.fill_rect(token_panel_gap + x * scale, top + y * scale, scale, scale, gray(image[y * width + x]));
    draw_token_panel(figure, 2 * token_panel_gap + panel_w, top, image, height, width, patch,
                     groups[static_cast<std::size_t>(i)], scale);
  }
  return figure;
}

}  // namespace rescan_examples
