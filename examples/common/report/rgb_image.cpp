#include "common/report/rgb_image.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace rescan_examples {
namespace {

constexpr index_t max_pixels = index_t{1} << 28;
// Lines are walked pixel by pixel, so their ends must stay within a sane distance of the image.
constexpr index_t max_line_coordinate = index_t{1} << 20;

std::uint8_t mix_channel(std::uint8_t below, std::uint8_t above, double alpha) {
  return static_cast<std::uint8_t>(std::lround((1.0 - alpha) * below + alpha * above));
}

}  // namespace

rgb mix(rgb below, rgb above, double alpha) {
  alpha = std::isnan(alpha) ? 0.0 : std::clamp(alpha, 0.0, 1.0);
  return {mix_channel(below.r, above.r, alpha), mix_channel(below.g, above.g, alpha),
          mix_channel(below.b, above.b, alpha)};
}

rgb_image::rgb_image(index_t width_, index_t height_, rgb background) : width(width_), height(height_) {
  if (width < 0 || height < 0 || (width > 0 && height > max_pixels / width))
    throw std::invalid_argument("rgb_image: width = " + std::to_string(width) + ", height = " +
                                std::to_string(height) + " is negative or above 2^28 pixels");
  pixels.resize(static_cast<std::size_t>(width * height * 3));
  fill(background);
}

rgb rgb_image::get(index_t x, index_t y) const {
  if (!contains(x, y))
    throw std::out_of_range("rgb_image::get: (" + std::to_string(x) + ", " + std::to_string(y) +
                            ") is outside the " + std::to_string(width) + "x" + std::to_string(height) + " image");
  const std::uint8_t* pixel = &pixels[static_cast<std::size_t>((y * width + x) * 3)];
  return {pixel[0], pixel[1], pixel[2]};
}

void rgb_image::set(index_t x, index_t y, rgb color) {
  if (!contains(x, y)) return;
  std::uint8_t* pixel = &pixels[static_cast<std::size_t>((y * width + x) * 3)];
  pixel[0] = color.r;
  pixel[1] = color.g;
  pixel[2] = color.b;
}

void rgb_image::blend(index_t x, index_t y, rgb color, double alpha) {
  if (contains(x, y)) set(x, y, mix(get(x, y), color, alpha));
}

void rgb_image::fill(rgb color) {
  for (std::size_t i = 0; i < pixels.size(); i += 3) {
    pixels[i] = color.r;
    pixels[i + 1] = color.g;
    pixels[i + 2] = color.b;
  }
}

void rgb_image::fill_rect(index_t x, index_t y, index_t w, index_t h, rgb color) {
  if (w <= 0 || h <= 0) return;
  const index_t x_begin = std::max<index_t>(x, 0), x_end = std::min(width, x > width - w ? width : x + w);
  const index_t y_begin = std::max<index_t>(y, 0), y_end = std::min(height, y > height - h ? height : y + h);
  for (index_t row = y_begin; row < y_end; ++row)
    for (index_t column = x_begin; column < x_end; ++column) set(column, row, color);
}

void rgb_image::draw_line(index_t x0, index_t y0, index_t x1, index_t y1, rgb color, index_t thickness) {
  for (const index_t coordinate : {x0, y0, x1, y1})
    if (coordinate < -max_line_coordinate || coordinate > max_line_coordinate)
      throw std::invalid_argument("rgb_image::draw_line: (" + std::to_string(x0) + ", " + std::to_string(y0) +
                                  ") to (" + std::to_string(x1) + ", " + std::to_string(y1) + ") leaves [-2^20, 2^20]");
  thickness = std::max<index_t>(thickness, 1);
  const index_t before = (thickness - 1) / 2;
  const index_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const index_t step_x = x0 < x1 ? 1 : -1, step_y = y0 < y1 ? 1 : -1;
  index_t error = dx + dy;
  for (;;) {
    fill_rect(x0 - before, y0 - before, thickness, thickness, color);
    if (x0 == x1 && y0 == y1) break;
    const index_t doubled = 2 * error;
    if (doubled >= dy) {
      error += dy;
      x0 += step_x;
    }
    if (doubled <= dx) {
      error += dx;
      y0 += step_y;
    }
  }
}

void rgb_image::paste(const rgb_image& source, index_t x, index_t y) {
  for (index_t row = 0; row < source.height; ++row)
    for (index_t column = 0; column < source.width; ++column) set(x + column, y + row, source.get(column, row));
}

}  // namespace rescan_examples
