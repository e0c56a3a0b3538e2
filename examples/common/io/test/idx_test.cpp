#include "common/io/idx.hpp"

#include "common/io/binary_file.hpp"
#include "common/io/file_error.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

using test::check_mentions;
using test::message_of;

// An IDX file written out byte by byte: magic 00 00 type rank, big-endian extents, payload.
std::vector<std::uint8_t> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> bytes = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (const std::uint32_t extent : dims)
    for (const int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<std::uint8_t>(extent >> shift));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

idx_array parse(const std::vector<std::uint8_t>& bytes) { return parse_idx(bytes.data(), bytes.size(), "t.idx"); }

std::string parse_error(const std::vector<std::uint8_t>& bytes) {
  return message_of<format_error>([&] { parse(bytes); });
}

TEST_CASE("parse_idx reads extents big-endian and the payload row-major") {
  const std::vector<std::uint8_t> payload = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const idx_array images = parse(idx_bytes(0x08, {2, 3, 2}, payload));
  CHECK(images.dims == std::vector<index_t>{2, 3, 2});
  CHECK(images.bytes == payload);
}

TEST_CASE("parse_idx handles multi-byte extents and empty arrays") {
  const std::vector<std::uint8_t> payload(258, 9);
  const idx_array labels = parse(idx_bytes(0x08, {258}, payload));
  CHECK(labels.dims == std::vector<index_t>{258});
  CHECK(labels.bytes.size() == 258);
  const idx_array empty = parse(idx_bytes(0x08, {0, 28, 28}, {}));
  CHECK(empty.dims == std::vector<index_t>{0, 28, 28});
  CHECK(empty.bytes.empty());
  CHECK(parse(idx_bytes(0x08, {1, 1, 1, 1}, {42})).bytes == std::vector<std::uint8_t>{42});
}

TEST_CASE("parse_idx rejects bad headers, naming what and the values") {
  check_mentions(parse_error({}), {"parse_idx", "t.idx", "0 bytes"});
  check_mentions(parse_error({0, 0, 8}), {"t.idx", "3 bytes"});
  check_mentions(parse_error({0x1f, 0x8b, 8, 1}), {"t.idx", "not IDX", "31, 139"});
  check_mentions(parse_error(idx_bytes(0x0D, {1}, {0, 0, 0, 0})), {"t.idx", "0xd", "32-bit float", "only 0x08"});
  check_mentions(parse_error(idx_bytes(0x42, {1}, {0})), {"t.idx", "0x42", "not an IDX type"});
  check_mentions(parse_error({0, 0, 8, 0}), {"t.idx", "rank 0"});
  check_mentions(parse_error(idx_bytes(0x08, {1, 1, 1, 1, 1}, {0})), {"t.idx", "rank 5"});
  check_mentions(parse_error({0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0}), {"t.idx", "truncated header", "11 bytes", "16"});
}

TEST_CASE("parse_idx rejects payloads shorter or longer than the extents, and overflowing extents") {
  check_mentions(parse_error(idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5})), {"t.idx", "6 bytes", "5 follow", "truncated"});
  check_mentions(parse_error(idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5, 6, 7})), {"t.idx", "6 bytes", "7 follow", "trailing"});
  const std::uint32_t huge = 0xffffffffu;
  check_mentions(parse_error(idx_bytes(0x08, {huge, huge, huge, huge}, {1})), {"t.idx", "overflows"});
  CHECK_THROWS_AS(parse(idx_bytes(0x08, {huge, huge}, {1})), format_error);  // 2^64 - 2^33 + 1, no overflow
}

TEST_CASE("read_idx_gz reads a gzipped file and names the path in errors") {
  test::scratch_directory scratch;
  const std::string path = scratch.file("labels-idx1-ubyte.gz");
  const std::vector<std::uint8_t> gz = test::gzip_compress(idx_bytes(0x08, {4}, {3, 1, 4, 1}));
  write_file_atomically(path, gz.data(), gz.size());
  const idx_array labels = read_idx_gz(path);
  CHECK(labels.dims == std::vector<index_t>{4});
  CHECK(labels.bytes == std::vector<std::uint8_t>{3, 1, 4, 1});

  const std::vector<std::uint8_t> bad = test::gzip_compress(idx_bytes(0x08, {5}, {3, 1, 4, 1}));
  write_file_atomically(path, bad.data(), bad.size());
  check_mentions(message_of<format_error>([&] { read_idx_gz(path); }), {path, "after gunzip", "truncated"});
  check_mentions(message_of<file_error>([&] { read_idx_gz(scratch.file("missing.gz")); }), {"missing.gz"});
}

TEST_CASE("a null pointer with a nonzero size is rejected") {
  check_mentions(message_of<file_error>([] { parse_idx(nullptr, 4, "null"); }), {"parse_idx", "null", "4"});
}

}  // namespace
}  // namespace rescan_examples
