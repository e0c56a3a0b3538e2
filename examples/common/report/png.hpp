// PNG output of an rgb_image: 8-bit truecolour (colour type 2), no interlacing, every row with
// filter type 0 (none), one IDAT chunk of zlib-deflated rows; each chunk carries its CRC-32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/report/rgb_image.hpp"

namespace rescan_examples {

// The PNG file's bytes. Throws std::invalid_argument when the image is empty (PNG needs at least
// 1x1) or its pixels.size() differs from width * height * 3.
std::vector<std::uint8_t> encode_png(const rgb_image& image);

// encode_png, written atomically to path (see write_file_atomically); file_error when writing fails.
void write_png(const std::string& path, const rgb_image& image);

}  // namespace rescan_examples
