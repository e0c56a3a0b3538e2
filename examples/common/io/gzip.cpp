#include "common/io/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "common/io/file_error.hpp"

namespace rescan_examples {
namespace {

// windowBits for inflateInit2: 15 (the largest window) + 16 (expect a gzip wrapper, not zlib).
constexpr int gzip_window_bits = 15 + 16;
constexpr std::size_t output_step = std::size_t{1} << 18;

// Ends the zlib stream on every way out of gunzip.
class inflate_stream {
 public:
  explicit inflate_stream(const std::string& what) {
    if (inflateInit2(&stream_, gzip_window_bits) != Z_OK)
      detail::raise_file_error("gunzip: ", what, ": zlib could not start inflating (out of memory)");
  }
  inflate_stream(const inflate_stream&) = delete;
  inflate_stream& operator=(const inflate_stream&) = delete;
  ~inflate_stream() { inflateEnd(&stream_); }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
};

// Deflate expands at most about 1032 times, which bounds what a gzip file can honestly claim.
constexpr std::size_t max_deflate_ratio = 1032;

// The first guess of the output size: the last member's ISIZE field (size mod 2^32), capped by
// the limit and by what the input can hold, so a lying trailer cannot make gunzip reserve much.
std::size_t size_hint(const std::uint8_t* data, std::size_t size, std::size_t max_output) {
  if (size < 18) return 0;
  const std::uint8_t* tail = data + size - 4;
  const std::size_t isize = std::size_t{tail[0]} | std::size_t{tail[1]} << 8 | std::size_t{tail[2]} << 16 |
                            std::size_t{tail[3]} << 24;
  const std::size_t possible = size <= max_output / max_deflate_ratio ? size * max_deflate_ratio : max_output;
  return std::min({isize, max_output, possible});
}

}  // namespace

std::vector<std::uint8_t> gunzip(const std::uint8_t* data, std::size_t size, const std::string& what,
                                 std::size_t max_output) {
  if (data == nullptr && size != 0) detail::raise_file_error("gunzip: ", what, ": data is null but size = ", size);
  if (size == 0) detail::raise_file_error<format_error>("gunzip: ", what, ": empty, not a gzip stream");
  if (size < 2 || data[0] != 0x1f || data[1] != 0x8b)
    detail::raise_file_error<format_error>("gunzip: ", what, ": not gzip (the first bytes are not 1f 8b)");

  inflate_stream owner(what);
  z_stream& stream = owner.get();
  std::vector<std::uint8_t> out;
  out.reserve(size_hint(data, size, max_output));
  std::size_t consumed = 0;
  std::size_t produced = 0;
  constexpr std::size_t max_chunk = std::numeric_limits<uInt>::max();
  // One byte past the limit tells "exactly the limit" from "more".
  const std::size_t capacity_limit = max_output < std::numeric_limits<std::size_t>::max() ? max_output + 1 : max_output;

  for (;;) {
    if (produced == out.size()) {
      if (produced >= capacity_limit)
        detail::raise_file_error<format_error>("gunzip: ", what, ": decompresses to more than ", max_output,
                                               " bytes (the limit)");
      out.resize(produced + std::min(output_step, capacity_limit - produced));
    }
    const std::size_t in_chunk = std::min(size - consumed, max_chunk);
    const std::size_t out_chunk = std::min(out.size() - produced, max_chunk);
    stream.next_in = const_cast<Bytef*>(data + consumed);
    stream.avail_in = static_cast<uInt>(in_chunk);
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(out_chunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    consumed += in_chunk - stream.avail_in;
    produced += out_chunk - stream.avail_out;

    if (status == Z_STREAM_END) {
      if (consumed == size) break;
      // Another gzip member follows; anything else after the end is an error.
      if (size - consumed < 2 || data[consumed] != 0x1f || data[consumed + 1] != 0x8b)
        detail::raise_file_error<format_error>("gunzip: ", what, ": ", size - consumed,
                                               " bytes of garbage after the end of the gzip stream");
      inflateReset(&stream);
      continue;
    }
    if (status == Z_DATA_ERROR || status == Z_NEED_DICT || status == Z_STREAM_ERROR)
      detail::raise_file_error<format_error>("gunzip: ", what, ": corrupt gzip data (",
                                             stream.msg != nullptr ? stream.msg : "no detail", ") at input byte ",
                                             consumed);
    if (status == Z_MEM_ERROR) detail::raise_file_error("gunzip: ", what, ": zlib ran out of memory");
    // Z_OK or Z_BUF_ERROR: no progress possible without more input means the stream is cut short.
    if (consumed == size && stream.avail_out != 0)
      detail::raise_file_error<format_error>("gunzip: ", what, ": truncated gzip stream (", size,
                                             " bytes end before the stream does)");
  }
  if (produced > max_output)
    detail::raise_file_error<format_error>("gunzip: ", what, ": decompresses to more than ", max_output,
                                           " bytes (the limit)");
  out.resize(produced);
  return out;
}

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& what,
                                 std::size_t max_output) {
  return gunzip(bytes.data(), bytes.size(), what, max_output);
}

}  // namespace rescan_examples
