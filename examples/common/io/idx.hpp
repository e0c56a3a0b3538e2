// The IDX format of the MNIST family of data sets: a 4-byte magic 00 00 <type> <rank>, then rank
// extents as big-endian u32, then the elements in row-major order. Only type 0x08 (unsigned byte)
// is read; the other IDX types (0x09 signed byte, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64) are
// rejected by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_examples {

using rescan::index_t;

// An IDX array of unsigned bytes. dims: its extents (1 to 4 of them, each >= 0);
// bytes: the elements, row-major, product(dims) of them.
struct idx_array {
  std::vector<index_t> dims;
  std::vector<std::uint8_t> bytes;
};

// The most extents parse_idx accepts (MNIST images have 3).
inline constexpr int max_idx_rank = 4;

// data: a whole IDX file of size bytes; what: its name for error messages. Throws format_error when
// the header is shorter than 4 + 4 * rank bytes, the magic does not start with two zero bytes, the
// type is not 0x08, the rank is 0 or above max_idx_rank, the element count overflows, or the payload
// is shorter or longer than the extents say.
idx_array parse_idx(const std::uint8_t* data, std::size_t size, const std::string& what);

// Reads the gzipped IDX file at path (read_file, gunzip, parse_idx); errors name the path.
idx_array read_idx_gz(const std::string& path);

}  // namespace rescan_examples
