#include "common/report/png.hpp"

#include <zlib.h>

#include <stdexcept>

#include "common/io/binary_file.hpp"

namespace rescan_examples {
namespace {

constexpr std::uint8_t png_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

void append_big_endian_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (const int shift : {24, 16, 8, 0}) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// length, type, data, CRC-32 of type + data.
void append_chunk(std::vector<std::uint8_t>& out, const char (&type)[5], const std::vector<std::uint8_t>& data) {
  append_big_endian_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t type_start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32_z(crc, out.data() + type_start, out.size() - type_start);
  append_big_endian_u32(out, static_cast<std::uint32_t>(crc));
}

}  // namespace

std::vector<std::uint8_t> encode_png(const rgb_image& image) {
  if (image.width <= 0 || image.height <= 0)
    throw std::invalid_argument("encode_png: the image is " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + "; PNG needs at least 1x1");
  const auto row_bytes = static_cast<std::size_t>(image.width) * 3;
  if (image.pixels.size() != row_bytes * static_cast<std::size_t>(image.height))
    throw std::invalid_argument("encode_png: pixels.size() = " + std::to_string(image.pixels.size()) + " but " +
                                std::to_string(image.width) + "x" + std::to_string(image.height) + "x3 = " +
                                std::to_string(row_bytes * static_cast<std::size_t>(image.height)));
  std::vector<std::uint8_t> raw;
  raw.reserve((row_bytes + 1) * static_cast<std::size_t>(image.height));
  for (index_t row = 0; row < image.height; ++row) {
    raw.push_back(0);  // filter type: none
    const auto begin = image.pixels.begin() + static_cast<std::ptrdiff_t>(row_bytes * static_cast<std::size_t>(row));
    raw.insert(raw.end(), begin, begin + static_cast<std::ptrdiff_t>(row_bytes));
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> compressed(compressed_size);
  if (compress2(compressed.data(), &compressed_size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
    throw std::runtime_error("encode_png: zlib could not compress the image");
  compressed.resize(compressed_size);

  std::vector<std::uint8_t> header;
  append_big_endian_u32(header, static_cast<std::uint32_t>(image.width));
  append_big_endian_u32(header, static_cast<std::uint32_t>(image.height));
  header.insert(header.end(), {8, 2, 0, 0, 0});  // bit depth, colour type RGB, deflate, filter 0, no interlace

  std::vector<std::uint8_t> png(std::begin(png_signature), std::end(png_signature));
  append_chunk(png, "IHDR", header);
  append_chunk(png, "IDAT", compressed);
  append_chunk(png, "IEND", {});
  return png;
}

void write_png(const std::string& path, const rgb_image& image) {
  const std::vector<std::uint8_t> bytes = encode_png(image);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace rescan_examples
