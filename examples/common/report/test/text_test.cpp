#include "common/report/text.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

namespace rescan_examples {
namespace {

// The glyph of c as 7 strings of '#' and '.', read back through glyph_pixel.
std::vector<std::string> rows_of(char c) {
  std::vector<std::string> rows;
  for (index_t row = 0; row < glyph_height; ++row) {
    std::string line;
    for (index_t column = 0; column < glyph_width; ++column) line += glyph_pixel(c, column, row) ? '#' : '.';
    rows.push_back(line);
  }
  return rows;
}

TEST_CASE("known glyphs have the expected pixels") {
  CHECK(rows_of('1') == std::vector<std::string>{"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."});
  CHECK(rows_of('-') == std::vector<std::string>{".....", ".....", ".....", "#####", ".....", ".....", "....."});
  CHECK(rows_of('T') == std::vector<std::string>{"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."});
  CHECK(rows_of(' ') == std::vector<std::string>(7, "....."));
  CHECK_FALSE(glyph_pixel('T', 5, 0));  // outside the cell
  CHECK_FALSE(glyph_pixel('T', 0, -1));
}

TEST_CASE("every promised character has a glyph, and the rest draw a box") {
  const std::string promised = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:-+%()/_=";
  for (const char c : promised) {
    CAPTURE(c);
    CHECK(has_glyph(c));
    if (c != ' ') CHECK(rows_of(c) != std::vector<std::string>(7, "....."));
  }
  CHECK_FALSE(has_glyph('\x01'));
  CHECK(rows_of('\x80') == std::vector<std::string>{"#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"});
  // Letters and digits that look alike in small fonts still differ here.
  CHECK(rows_of('0') != rows_of('O'));
  CHECK(rows_of('1') != rows_of('l'));
  CHECK(rows_of('5') != rows_of('S'));
}

TEST_CASE("draw_text puts the glyph pixels at the given corner and scale, clipped") {
  rgb_image image(20, 20, white);
  draw_text(image, 2, 3, "-", black, 2);  // the bar is font row 3: image rows 9 and 10, columns 2..11
  for (index_t y = 0; y < 20; ++y)
    for (index_t x = 0; x < 20; ++x) CHECK((image.get(x, y) == black) == (y >= 9 && y <= 10 && x >= 2 && x <= 11));
  rgb_image corner(4, 4, white);
  draw_text(corner, -2, -3, "T", black);  // the stem (font column 2, rows 3..6) lands in column 0
  for (index_t y = 0; y < 4; ++y)
    for (index_t x = 0; x < 4; ++x) CHECK((corner.get(x, y) == black) == (x == 0));
  CHECK_THROWS_AS(draw_text(image, 0, 0, "x", black, 0), std::invalid_argument);
}

TEST_CASE("text_width and text_height") {
  CHECK(text_width("") == 0);
  CHECK(text_width("A") == 5);
  CHECK(text_width("AB") == 11);
  CHECK(text_width("AB", 3) == 33);
  CHECK(text_height(2) == 14);
}

}  // namespace
}  // namespace rescan_examples
