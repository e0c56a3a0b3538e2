#include "common/io/idx.hpp"

#include <limits>

#include "common/io/binary_file.hpp"
#include "common/io/file_error.hpp"
#include "common/io/gzip.hpp"

namespace rescan_examples {
namespace {

constexpr std::uint8_t unsigned_byte_type = 0x08;
constexpr std::size_t magic_bytes = 4;
constexpr std::size_t extent_bytes = 4;

std::uint32_t read_big_endian_u32(const std::uint8_t* bytes) {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 | std::uint32_t{bytes[2]} << 8 |
         std::uint32_t{bytes[3]};
}

// The IDX type byte's meaning, for the message that rejects it.
const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "32-bit float";
    case 0x0E: return "64-bit float";
    default: return "not an IDX type";
  }
}

}  // namespace

idx_array parse_idx(const std::uint8_t* data, std::size_t size, const std::string& what) {
  if (data == nullptr && size != 0) detail::raise_file_error("parse_idx: ", what, ": data is null but size = ", size);
  if (size < magic_bytes)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": ", size,
                                           " bytes, shorter than the 4-byte IDX magic number");
  if (data[0] != 0 || data[1] != 0)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": not IDX (magic starts with ", int{data[0]}, ", ",
                                           int{data[1]}, " instead of 0, 0)");
  const std::uint8_t type = data[2];
  if (type != unsigned_byte_type)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": element type 0x", std::hex, int{type}, std::dec,
                                           " (", idx_type_name(type),
                                           ") is not supported; only 0x08 (unsigned byte) is");
  const int rank = data[3];
  if (rank == 0 || rank > max_idx_rank)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": rank ", rank, " is outside [1, ", max_idx_rank,
                                           "]");
  const std::size_t header = magic_bytes + extent_bytes * static_cast<std::size_t>(rank);
  if (size < header)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": truncated header: ", size, " bytes but rank ",
                                           rank, " needs ", header);

  idx_array array;
  std::size_t count = 1;
  bool overflow = false;
  for (int axis = 0; axis < rank; ++axis) {
    const std::uint32_t extent = read_big_endian_u32(data + magic_bytes + extent_bytes * static_cast<std::size_t>(axis));
    array.dims.push_back(static_cast<index_t>(extent));
    if (extent != 0 && count > std::numeric_limits<std::size_t>::max() / extent) overflow = true;
    count *= extent;
  }
  const std::size_t payload = size - header;
  if (overflow)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": the extents' product overflows (payload is ",
                                           payload, " bytes)");
  if (payload != count)
    detail::raise_file_error<format_error>("parse_idx: ", what, ": the extents say ", count, " bytes of data but ",
                                           payload, " follow the header",
                                           payload < count ? " (truncated)" : " (trailing bytes)");
  array.bytes.assign(data + header, data + size);
  return array;
}

idx_array read_idx_gz(const std::string& path) {
  const std::vector<std::uint8_t> decompressed = gunzip(read_file(path), path);
  return parse_idx(decompressed.data(), decompressed.size(), path + " (after gunzip)");
}

}  // namespace rescan_examples
