// A built-in 5x7 bitmap font for labels on figures: digits, A-Z, a-z, space and the punctuation
// . , : ; - + % ( ) / _ = < > [ ] ' " ! ? * # | ~ ^ &. Each glyph occupies a 5x7 cell and characters
// advance 6 pixels; at scale s every font pixel becomes an s x s block. Characters without a glyph
// are drawn as a hollow box.
#pragma once

#include <string>

#include "common/report/rgb_image.hpp"

namespace rescan_examples {

inline constexpr index_t glyph_width = 5;
inline constexpr index_t glyph_height = 7;
inline constexpr index_t glyph_advance = 6;

// Whether the font pixel (column, row) of character c is set; column in [0, 5), row in [0, 7)
// from the top, false outside. Characters without a glyph give the hollow box.
bool glyph_pixel(char c, index_t column, index_t row);

// Whether c has its own glyph.
bool has_glyph(char c);

// The width in pixels text takes at scale (no trailing gap): 6 * scale * n - scale, 0 when empty.
index_t text_width(const std::string& text, index_t scale = 1);
// The height in pixels of one line at scale: 7 * scale.
inline index_t text_height(index_t scale = 1) { return glyph_height * scale; }

// Draws text with its top-left corner at (x, y) in color, clipped to the image. Throws
// std::invalid_argument when scale < 1.
void draw_text(rgb_image& image, index_t x, index_t y, const std::string& text, rgb color, index_t scale = 1);

}  // namespace rescan_examples
