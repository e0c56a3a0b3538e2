// An 8-bit RGB raster with the few drawing operations the figures need. Coordinates are pixels,
// x to the right and y downwards from the top-left corner; drawing outside the image is clipped
// (silently ignored), reading outside it throws.
#pragma once

#include <cstdint>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_examples {

using rescan::index_t;

struct rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(rgb a, rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
  friend bool operator!=(rgb a, rgb b) { return !(a == b); }
};

inline constexpr rgb white{255, 255, 255};
inline constexpr rgb black{0, 0, 0};

// (1 - alpha) * below + alpha * above per channel, rounded; alpha is clamped to [0, 1].
rgb mix(rgb below, rgb above, double alpha);

struct rgb_image {
  index_t width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // (height, width, 3) row-major: r, g, b

  rgb_image() = default;
  // A width x height image filled with background. Throws std::invalid_argument when an extent is
  // negative or the image would exceed 2^28 pixels.
  rgb_image(index_t width, index_t height, rgb background = white);

  bool contains(index_t x, index_t y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  // The pixel at (x, y); throws std::out_of_range outside the image.
  rgb get(index_t x, index_t y) const;
  // Sets the pixel at (x, y); outside the image nothing happens.
  void set(index_t x, index_t y, rgb color);
  // Mixes color into the pixel at (x, y) with weight alpha (see mix); clipped like set.
  void blend(index_t x, index_t y, rgb color, double alpha);
  void fill(rgb color);
  // The rectangle [x, x + w) x [y, y + h), clipped; nothing when w or h <= 0.
  void fill_rect(index_t x, index_t y, index_t w, index_t h, rgb color);
  // A straight line from (x0, y0) to (x1, y1), both ends included (Bresenham), thickness pixels wide
  // (a square brush of side thickness centred on the line). Throws std::invalid_argument when a
  // coordinate is beyond +-2^20.
  void draw_line(index_t x0, index_t y0, index_t x1, index_t y1, rgb color, index_t thickness = 1);
  // Copies source with its top-left corner at (x, y), clipped.
  void paste(const rgb_image& source, index_t x, index_t y);
};

}  // namespace rescan_examples
