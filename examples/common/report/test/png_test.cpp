#include "common/report/png.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <stdexcept>
#include <string>

#include "common/io/binary_file.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

// CRC-32 (IEEE, reflected polynomial 0xEDB88320) bit by bit, independent of zlib's table.
std::uint32_t reference_crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xffffffffu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 | std::uint32_t{bytes[2]} << 8 | bytes[3];
}

// A minimal PNG reader for what encode_png writes: checks the signature and every chunk's CRC,
// reads IHDR, inflates the IDAT data and undoes filter type 0.
rgb_image decode_png(const std::vector<std::uint8_t>& png, std::vector<std::string>& chunk_types) {
  const std::uint8_t signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  REQUIRE(png.size() >= 8);
  REQUIRE(std::equal(signature, signature + 8, png.begin()));
  std::size_t at = 8;
  index_t width = 0, height = 0;
  std::vector<std::uint8_t> idat;
  while (at < png.size()) {
    REQUIRE(at + 12 <= png.size());
    const std::uint32_t length = big_endian_u32(&png[at]);
    REQUIRE(at + 12 + length <= png.size());
    const std::string type(png.begin() + static_cast<std::ptrdiff_t>(at + 4), png.begin() + static_cast<std::ptrdiff_t>(at + 8));
    chunk_types.push_back(type);
    CHECK_MESSAGE(big_endian_u32(&png[at + 8 + length]) == reference_crc32(&png[at + 4], 4 + length), type);
    const std::uint8_t* data = &png[at + 8];
    if (type == "IHDR") {
      REQUIRE(length == 13);
      width = big_endian_u32(data);
      height = big_endian_u32(data + 4);
      CHECK(data[8] == 8);   // bit depth
      CHECK(data[9] == 2);   // truecolour
      CHECK(data[12] == 0);  // no interlace
    }
    if (type == "IDAT") idat.insert(idat.end(), data, data + length);
    at += 12 + length;
  }
  const std::size_t row_bytes = static_cast<std::size_t>(width) * 3 + 1;
  std::vector<std::uint8_t> raw(row_bytes * static_cast<std::size_t>(height));
  uLongf raw_size = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(raw.data(), &raw_size, idat.data(), static_cast<uLong>(idat.size())) == Z_OK);
  REQUIRE(raw_size == raw.size());
  rgb_image image(width, height);
  for (index_t y = 0; y < height; ++y) {
    const std::uint8_t* row = &raw[static_cast<std::size_t>(y) * row_bytes];
    CHECK(row[0] == 0);
    for (index_t x = 0; x < width; ++x) image.set(x, y, {row[1 + 3 * x], row[2 + 3 * x], row[3 + 3 * x]});
  }
  return image;
}

TEST_CASE("encode_png round trips through an independent decoder, with correct CRCs") {
  rgb_image image(37, 11);
  for (index_t y = 0; y < image.height; ++y)
    for (index_t x = 0; x < image.width; ++x)
      image.set(x, y, {static_cast<std::uint8_t>(x * 7), static_cast<std::uint8_t>(y * 23), static_cast<std::uint8_t>(x ^ y)});
  std::vector<std::string> chunks;
  const rgb_image back = decode_png(encode_png(image), chunks);
  CHECK(chunks == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  CHECK(back.width == 37);
  CHECK(back.height == 11);
  CHECK(back.pixels == image.pixels);
}

TEST_CASE("write_png writes the encoded bytes to a file") {
  test::scratch_directory scratch;
  rgb_image image(1, 1, {1, 2, 3});
  write_png(scratch.file("one.png"), image);
  CHECK(read_file(scratch.file("one.png")) == encode_png(image));
  std::vector<std::string> chunks;
  CHECK(decode_png(read_file(scratch.file("one.png")), chunks).get(0, 0) == rgb{1, 2, 3});
}

TEST_CASE("encode_png rejects empty images and inconsistent pixel buffers") {
  const std::string empty = test::message_of<std::invalid_argument>([] { encode_png(rgb_image()); });
  test::check_mentions(empty, {"encode_png", "0x0", "1x1"});
  rgb_image broken(2, 2);
  broken.pixels.pop_back();
  test::check_mentions(test::message_of<std::invalid_argument>([&] { encode_png(broken); }),
                       {"encode_png", "pixels.size() = 11", "12"});
}

TEST_CASE("rgb_image: construction, get/set with clipping, blend, rectangles, lines, paste") {
  rgb_image image(6, 4, {10, 20, 30});
  CHECK(image.pixels.size() == 72);
  CHECK(image.get(5, 3) == rgb{10, 20, 30});
  image.set(-1, 0, black);  // clipped
  image.set(6, 0, black);
  CHECK(image.get(0, 0) == rgb{10, 20, 30});
  CHECK_THROWS_AS(image.get(6, 0), std::out_of_range);
  CHECK_THROWS_AS(image.get(0, -1), std::out_of_range);
  CHECK_THROWS_AS(rgb_image(-1, 3), std::invalid_argument);
  CHECK_THROWS_AS(rgb_image(1 << 20, 1 << 20), std::invalid_argument);

  CHECK(mix({0, 100, 200}, {200, 100, 0}, 0.25) == rgb{50, 100, 150});
  CHECK(mix({0, 0, 0}, {255, 255, 255}, 2.0) == rgb{255, 255, 255});  // alpha clamped
  image.blend(1, 1, {110, 120, 130}, 0.5);
  CHECK(image.get(1, 1) == rgb{60, 70, 80});

  image.fill(white);
  image.fill_rect(4, 2, 10, 10, black);  // clipped to (4..5, 2..3)
  for (index_t y = 0; y < 4; ++y)
    for (index_t x = 0; x < 6; ++x) CHECK((image.get(x, y) == black) == (x >= 4 && y >= 2));

  image.fill(white);
  image.draw_line(0, 0, 5, 3, black);  // ends included
  CHECK(image.get(0, 0) == black);
  CHECK(image.get(5, 3) == black);
  index_t dark = 0;
  for (index_t x = 0; x < 6; ++x) dark += image.get(x, 1) == black || image.get(x, 2) == black;
  CHECK(dark >= 2);
  CHECK_THROWS_AS(image.draw_line(0, 0, index_t{1} << 40, 0, black), std::invalid_argument);

  rgb_image small(2, 2, {1, 1, 1});
  image.fill(white);
  image.paste(small, 5, 3);  // only (5, 3) lands inside
  CHECK(image.get(5, 3) == rgb{1, 1, 1});
  CHECK(image.get(4, 3) == white);
}

}  // namespace
}  // namespace rescan_examples
