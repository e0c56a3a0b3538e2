// gzip decompression (RFC 1952) with zlib. Concatenated gzip members decompress to the
// concatenation of their contents, as the gzip tool does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rescan_examples {

// The largest output gunzip produces unless told otherwise: 1 GiB.
inline constexpr std::size_t default_gunzip_limit = std::size_t{1} << 30;

// bytes: a whole gzip file; what: the name to put in error messages (usually its path).
// Returns the decompressed bytes. Throws format_error when bytes are empty, not gzip, corrupt
// (bad header, bad deflate data, CRC or length mismatch) or truncated, and when the output would
// exceed max_output bytes (a decompression bomb).
std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& what,
                                 std::size_t max_output = default_gunzip_limit);

// The same on [data, data + size).
std::vector<std::uint8_t> gunzip(const std::uint8_t* data, std::size_t size, const std::string& what,
                                 std::size_t max_output = default_gunzip_limit);

}  // namespace rescan_examples
