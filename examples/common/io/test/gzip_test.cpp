#include "common/io/gzip.hpp"

#include "common/io/file_error.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

using test::check_mentions;
using test::gzip_compress;
using test::message_of;

// Deterministic bytes that compress somewhat (a repeating pattern with noise).
std::vector<std::uint8_t> sample_bytes(std::size_t count) {
  std::vector<std::uint8_t> bytes(count);
  std::uint32_t state = 12345;
  for (std::size_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    bytes[i] = static_cast<std::uint8_t>((i % 64 < 40) ? i % 7 : state >> 24);
  }
  return bytes;
}

TEST_CASE("gunzip inverts zlib's gzip compression, for empty, small and multi-step outputs") {
  for (const std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{700000}}) {
    CAPTURE(count);
    const std::vector<std::uint8_t> original = sample_bytes(count);
    CHECK(gunzip(gzip_compress(original), "sample") == original);
    CHECK(gunzip(gzip_compress(original, 0), "stored") == original);  // level 0: stored blocks
  }
}

TEST_CASE("concatenated gzip members decompress to the concatenation") {
  const std::vector<std::uint8_t> first = sample_bytes(3000), second = sample_bytes(500);
  std::vector<std::uint8_t> joined = gzip_compress(first);
  const std::vector<std::uint8_t> tail = gzip_compress(second);
  joined.insert(joined.end(), tail.begin(), tail.end());
  std::vector<std::uint8_t> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  CHECK(gunzip(joined, "joined") == expected);
}

TEST_CASE("gunzip rejects empty input, non-gzip input and trailing garbage, naming what") {
  check_mentions(message_of<format_error>([] { gunzip(std::vector<std::uint8_t>{}, "a.gz"); }), {"gunzip", "a.gz", "empty"});
  check_mentions(message_of<format_error>([] { gunzip(std::vector<std::uint8_t>{'P', 'K', 3, 4}, "b.gz"); }),
                 {"gunzip", "b.gz", "not gzip"});
  std::vector<std::uint8_t> trailing = gzip_compress(sample_bytes(100));
  trailing.push_back(0);
  trailing.push_back(7);
  check_mentions(message_of<format_error>([&] { gunzip(trailing, "c.gz"); }), {"gunzip", "c.gz", "2 bytes of garbage"});
}

TEST_CASE("every truncation of a gzip stream is reported as truncated or corrupt, never returned") {
  const std::vector<std::uint8_t> whole = gzip_compress(sample_bytes(5000));
  for (std::size_t keep = 1; keep < whole.size(); ++keep) {
    CAPTURE(keep);
    const std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(keep));
    const std::string message = message_of<format_error>([&] { gunzip(cut, "cut.gz"); });
    CHECK(message.find("cut.gz") != std::string::npos);
  }
  const std::vector<std::uint8_t> half(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() / 2));
  check_mentions(message_of<format_error>([&] { gunzip(half, "half.gz"); }), {"gunzip", "half.gz", "truncated"});
}

TEST_CASE("corrupt deflate data, a wrong CRC and a wrong length are reported as corrupt") {
  const std::vector<std::uint8_t> original = sample_bytes(5000);
  const std::vector<std::uint8_t> whole = gzip_compress(original);
  std::vector<std::uint8_t> bad_crc = whole;
  bad_crc[whole.size() - 8] ^= 0x01;  // the CRC-32 trailer starts 8 bytes from the end
  check_mentions(message_of<format_error>([&] { gunzip(bad_crc, "crc.gz"); }), {"gunzip", "crc.gz", "corrupt"});
  std::vector<std::uint8_t> bad_length = whole;
  bad_length[whole.size() - 4] ^= 0x01;  // ISIZE, the length mod 2^32
  check_mentions(message_of<format_error>([&] { gunzip(bad_length, "len.gz"); }), {"gunzip", "len.gz", "corrupt"});
  std::vector<std::uint8_t> bad_block = whole;
  bad_block[10] = 0xff;  // the first deflate block header: 0b11 is a reserved block type
  check_mentions(message_of<format_error>([&] { gunzip(bad_block, "blk.gz"); }), {"gunzip", "blk.gz", "corrupt"});
  std::vector<std::uint8_t> bad_method = whole;
  bad_method[2] = 7;  // compression method must be 8 (deflate)
  check_mentions(message_of<format_error>([&] { gunzip(bad_method, "m.gz"); }), {"gunzip", "m.gz", "corrupt"});
}

TEST_CASE("the output limit is inclusive and stops a decompression bomb early") {
  const std::vector<std::uint8_t> zeros(1 << 20, 0);
  const std::vector<std::uint8_t> bomb = gzip_compress(zeros, 9);
  CHECK(bomb.size() < 2000);
  CHECK(gunzip(bomb, "exact.gz", zeros.size()) == zeros);
  check_mentions(message_of<format_error>([&] { gunzip(bomb, "bomb.gz", zeros.size() - 1); }),
                 {"gunzip", "bomb.gz", "more than 1048575 bytes"});
  check_mentions(message_of<format_error>([&] { gunzip(bomb, "tiny.gz", 0); }), {"tiny.gz", "more than 0 bytes"});
  CHECK(gunzip(gzip_compress({}), "empty.gz", 0).empty());
}

TEST_CASE("a null pointer with a nonzero size is rejected") {
  check_mentions(message_of<file_error>([] { gunzip(nullptr, 5, "null"); }), {"gunzip", "null", "5"});
}

}  // namespace
}  // namespace rescan_examples
