#include "common/io/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/io/binary_file.hpp"
#include "common/io/file_error.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

using test::check_mentions;
using test::message_of;

// A safetensors file from its header text and buffer, built byte by byte.
std::vector<std::uint8_t> file_bytes(const std::string& header, const std::vector<std::uint8_t>& buffer) {
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(std::uint64_t{header.size()} >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), buffer.begin(), buffer.end());
  return bytes;
}

std::vector<std::uint8_t> little_endian_f32(const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes;
  for (const float value : values) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, 4);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  return bytes;
}

safetensors_file parse(const std::vector<std::uint8_t>& bytes) {
  return parse_safetensors(bytes.data(), bytes.size(), "m.safetensors");
}

std::string parse_error(const std::string& header, std::size_t buffer_bytes = 16) {
  const std::vector<std::uint8_t> bytes = file_bytes(header, std::vector<std::uint8_t>(buffer_bytes, 0));
  return message_of<format_error>([&] { parse(bytes); });
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  // (memcmp may not be given the null data() of an empty vector, even for zero bytes)
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

safetensors_file sample_file() {
  safetensors_file file;
  file.tensors.push_back({"z.weight", {2, 3}, {1, -2, 3.5f, 0, -0.0f, 1e-30f}});
  file.tensors.push_back({"a.bias", {3}, {std::numeric_limits<float>::infinity(), -1, 7}});
  file.tensors.push_back({"scalar", {}, {42}});
  file.tensors.push_back({"empty", {0, 4}, {}});
  file.metadata = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\""}};
  return file;
}

TEST_CASE("serialize then parse gives the tensors back in the given order, with the metadata") {
  const safetensors_file original = sample_file();
  const std::vector<std::uint8_t> bytes = serialize_safetensors(original);
  const safetensors_file back = parse(bytes);
  REQUIRE(back.tensors.size() == original.tensors.size());
  for (std::size_t i = 0; i < original.tensors.size(); ++i) {
    CAPTURE(i);
    CHECK(back.tensors[i].name == original.tensors[i].name);
    CHECK(back.tensors[i].shape == original.tensors[i].shape);
    CHECK(same_bits(back.tensors[i].values, original.tensors[i].values));
  }
  CHECK(back.metadata == original.metadata);
  REQUIRE(back.find("a.bias") != nullptr);
  CHECK(back.find("a.bias")->values[2] == 7);
  CHECK(back.find("absent") == nullptr);
}

TEST_CASE("the serialized layout: length prefix, space-padded header, F32 little-endian buffer") {
  const std::vector<std::uint8_t> bytes = serialize_safetensors(sample_file());
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | bytes[static_cast<std::size_t>(i)];
  CHECK(header_size % 8 == 0);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_size));
  CHECK(header.find_last_not_of(' ') + 1 > header.size() - 8);  // at most 7 padding spaces
  const nlohmann::json parsed = nlohmann::json::parse(header);
  CHECK(parsed["z.weight"]["dtype"] == "F32");
  CHECK(parsed["z.weight"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(parsed["z.weight"]["data_offsets"] == nlohmann::json::array({0, 24}));
  CHECK(parsed["a.bias"]["data_offsets"] == nlohmann::json::array({24, 36}));
  CHECK(parsed["scalar"]["data_offsets"] == nlohmann::json::array({36, 40}));
  CHECK(parsed["empty"]["data_offsets"] == nlohmann::json::array({40, 40}));
  CHECK(parsed["__metadata__"]["format"] == "pt");
  CHECK(header.find("__metadata__") < header.find("z.weight"));
  CHECK(header.find("z.weight") < header.find("a.bias"));  // order kept, not sorted
  CHECK(bytes.size() == 8 + header_size + 40);
  const std::vector<std::uint8_t> z_bytes(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_size),
                                          bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_size) + 24);
  CHECK(z_bytes == little_endian_f32({1, -2, 3.5f, 0, -0.0f, 1e-30f}));
  // 1.0f is 0x3f800000, stored low byte first.
  CHECK(little_endian_f32({1.0f}) == std::vector<std::uint8_t>{0x00, 0x00, 0x80, 0x3f});
}

TEST_CASE("write_safetensors and read_safetensors round trip through a file") {
  test::scratch_directory scratch;
  const std::string path = scratch.file("model.safetensors");
  write_safetensors(path, sample_file());
  const safetensors_file back = read_safetensors(path);
  CHECK(back.tensors.size() == 4);
  CHECK(back.tensors[0].values[2] == 3.5f);
  check_mentions(message_of<file_error>([&] { read_safetensors(scratch.file("none.safetensors")); }),
                 {"none.safetensors"});
  std::vector<std::uint8_t> cut = read_file(path);
  cut.pop_back();
  write_file_atomically(path, cut.data(), cut.size());
  check_mentions(message_of<format_error>([&] { read_safetensors(path); }), {path, "scalar"});
}

TEST_CASE("F64, F16 and BF16 tensors are converted to float") {
  std::vector<std::uint8_t> buffer;
  // F64: 0.1, -1e300 (beyond float: -inf), 3.5, 1e-50 (below float's range: 0)
  for (const double value : {0.1, -1e300, 3.5, 1e-50}) {
    std::uint64_t bits;
    std::memcpy(&bits, &value, 8);
    for (int i = 0; i < 8; ++i) buffer.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  // F16: 1.0, -2.0, 65504 (largest), 2^-24 (smallest subnormal), 2^-14 (smallest normal), -inf, NaN, -0
  for (const std::uint16_t half : {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0xfc00, 0x7e00, 0x8000}) {
    buffer.push_back(static_cast<std::uint8_t>(half & 0xff));
    buffer.push_back(static_cast<std::uint8_t>(half >> 8));
  }
  // BF16: 1.0, 3.140625, -0.5
  for (const std::uint16_t brain : {0x3f80, 0x4049, 0xbf00}) {
    buffer.push_back(static_cast<std::uint8_t>(brain & 0xff));
    buffer.push_back(static_cast<std::uint8_t>(brain >> 8));
  }
  const std::string header =
      R"({"d":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},)"
      R"("h":{"dtype":"F16","shape":[8],"data_offsets":[32,48]},)"
      R"("b":{"dtype":"BF16","shape":[3,1],"data_offsets":[48,54]}})";
  const safetensors_file file = parse(file_bytes(header, buffer));
  const std::vector<float>& d = file.find("d")->values;
  CHECK(d[0] == 0.1f);
  CHECK(d[1] == -std::numeric_limits<float>::infinity());
  CHECK(d[2] == 3.5f);
  CHECK(d[3] == 0.0f);
  const std::vector<float>& h = file.find("h")->values;
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == -2.0f);
  CHECK(h[2] == 65504.0f);
  CHECK(h[3] == std::ldexp(1.0f, -24));
  CHECK(h[4] == std::ldexp(1.0f, -14));
  CHECK(h[5] == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(h[6]));
  CHECK((h[7] == 0.0f && std::signbit(h[7])));
  CHECK(file.find("b")->values == std::vector<float>{1.0f, 3.140625f, -0.5f});
  CHECK(file.find("b")->shape == std::vector<index_t>{3, 1});
}

TEST_CASE("F64 values round to nearest float, and to infinity only from FLT_MAX + half an ulp") {
  const double max = std::numeric_limits<float>::max();
  const double half_ulp = std::ldexp(1.0, 103);
  std::vector<std::uint8_t> buffer;
  for (const double value : {max + half_ulp / 2, max + half_ulp, -(max + half_ulp / 2)}) {
    std::uint64_t bits;
    std::memcpy(&bits, &value, 8);
    for (int i = 0; i < 8; ++i) buffer.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  const safetensors_file file =
      parse(file_bytes(R"({"x":{"dtype":"F64","shape":[3],"data_offsets":[0,24]}})", buffer));
  const std::vector<float>& x = file.tensors[0].values;
  CHECK(x[0] == std::numeric_limits<float>::max());
  CHECK(x[1] == std::numeric_limits<float>::infinity());
  CHECK(x[2] == -std::numeric_limits<float>::max());
}

TEST_CASE("a file with only metadata, or with nothing, parses; unclaimed buffer bytes are allowed") {
  CHECK(parse(file_bytes("{}", {})).tensors.empty());
  const safetensors_file meta = parse(file_bytes(R"({"__metadata__":{"k":"v"}}  )", {}));
  CHECK(meta.metadata.at("k") == "v");
  const safetensors_file holes =
      parse(file_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", little_endian_f32({9, 5, 9})));
  CHECK(holes.tensors[0].values == std::vector<float>{5});
}

TEST_CASE("the length prefix must fit the file") {
  check_mentions(message_of<format_error>([] { parse({1, 2, 3}); }), {"parse_safetensors", "m.safetensors", "3 bytes"});
  std::vector<std::uint8_t> bytes = file_bytes("{}", {});
  bytes[0] = 3;  // claims 3 header bytes, 2 follow
  check_mentions(message_of<format_error>([&] { parse(bytes); }), {"m.safetensors", "header length 3", "10-byte file"});
  bytes[0] = 0xff;
  bytes[7] = 0xff;  // near 2^64: must not overflow the bounds check
  check_mentions(message_of<format_error>([&] { parse(bytes); }), {"m.safetensors", "runs past the end"});
}

TEST_CASE("malformed JSON headers are format errors naming the file") {
  check_mentions(parse_error(""), {"m.safetensors", "not valid JSON"});
  check_mentions(parse_error("{\"x\": "), {"m.safetensors", "not valid JSON"});
  check_mentions(parse_error("[1, 2]"), {"m.safetensors", "array", "not a JSON object"});
  check_mentions(parse_error("\"text\""), {"m.safetensors", "string", "not a JSON object"});
  check_mentions(parse_error(R"({"x": "\xff"})"), {"m.safetensors", "not valid JSON"});  // invalid UTF-8
  check_mentions(parse_error(std::string(20, '[') + std::string(20, ']')), {"m.safetensors", "nests deeper"});
}

TEST_CASE("entries lacking a field, or with a bad dtype, are format errors naming the tensor") {
  check_mentions(parse_error(R"({"w": 5})"), {"m.safetensors", "\"w\"", "not an object"});
  check_mentions(parse_error(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})"), {"\"w\"", "no dtype"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})"), {"\"w\"", "no shape"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [1]}})"), {"\"w\"", "no data_offsets"});
  check_mentions(parse_error(R"({"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})"),
                 {"\"w\"", "I64", "not supported"});
  check_mentions(parse_error(R"({"w": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}})"),
                 {"\"w\"", "dtype is 32", "not a string"});
}

TEST_CASE("bad shapes are format errors naming the tensor") {
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})"),
                 {"\"w\"", "shape holds -1"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})"),
                 {"\"w\"", "shape holds 1.5"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})"),
                 {"\"w\"", "shape is 4", "not an array"});
  check_mentions(
      parse_error(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}})"),
      {"\"w\"", "overflows"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 16]}})"),
                 {"\"w\"", "overflows"});  // 2^62 elements of 4 bytes
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [9223372036854775808], "data_offsets": [0, 0]}})"),
                 {"\"w\"", "overflows"});  // beyond index_t
}

TEST_CASE("data_offsets outside the buffer, reversed, malformed or of the wrong size are format errors") {
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [5], "data_offsets": [0, 20]}})"),
                 {"\"w\"", "[0, 20]", "16-byte buffer"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})"),
                 {"\"w\"", "[8, 4]", "not a range"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})"),
                 {"\"w\"", "not [begin, end]"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, -4]}})"),
                 {"\"w\"", "data_offsets holds -4"});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}})"),
                 {"\"w\"", "hold 12 bytes", "needs 8"});
  check_mentions(parse_error(R"({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 8]}})"),
                 {"\"w\"", "F16 needs 4"});
}

TEST_CASE("duplicate names and overlapping tensors are format errors") {
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                             R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})"),
                 {"m.safetensors", "repeats the key \"w\""});
  check_mentions(parse_error(R"({"w": {"dtype": "F32", "shape": [1], "dtype": "F16", "data_offsets": [0, 4]}})"),
                 {"repeats the key \"dtype\""});
  check_mentions(parse_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},)"
                             R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})"),
                 {"m.safetensors", "\"b\" [0, 8)", "\"a\" [4, 12)", "overlap"});
  // Touching ranges and empty tensors inside another one do not overlap.
  const std::vector<std::uint8_t> fine =
      file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},)"
                 R"( "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},)"
                 R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                 little_endian_f32({1, 2, 3, 4}));
  const safetensors_file file = parse(fine);
  CHECK(file.find("a")->values == std::vector<float>{3, 4});
  CHECK(file.find("b")->values == std::vector<float>{1, 2});
}

TEST_CASE("bad __metadata__ is a format error") {
  check_mentions(parse_error(R"({"__metadata__": [1]})"), {"__metadata__", "array", "not an object"});
  check_mentions(parse_error(R"({"__metadata__": {"epoch": 3}})"), {"__metadata__", "\"epoch\"", "not a string"});
}

TEST_CASE("serialize_safetensors rejects inconsistent tensors") {
  safetensors_file file;
  file.tensors.push_back({"w", {2, 2}, {1, 2, 3}});
  check_mentions(message_of<file_error>([&] { serialize_safetensors(file); }),
                 {"serialize_safetensors", "\"w\"", "3 values", "holds 4"});
  file.tensors[0] = {"w", {-1}, {}};
  check_mentions(message_of<file_error>([&] { serialize_safetensors(file); }), {"\"w\"", "negative extent -1"});
  file.tensors[0] = {"w", {1}, {1}};
  file.tensors.push_back({"w", {1}, {2}});
  check_mentions(message_of<file_error>([&] { serialize_safetensors(file); }), {"two tensors", "\"w\""});
  file.tensors[1] = {"__metadata__", {1}, {2}};
  check_mentions(message_of<file_error>([&] { serialize_safetensors(file); }), {"__metadata__"});
  file.tensors.pop_back();
  file.metadata["bad"] = "\xff";
  check_mentions(message_of<file_error>([&] { serialize_safetensors(file); }), {"UTF-8"});
  safetensors_file huge;
  huge.tensors.push_back({"h", {1 << 30, 1 << 30, 1 << 30}, {}});
  check_mentions(message_of<file_error>([&] { serialize_safetensors(huge); }), {"\"h\"", "too many"});
}

TEST_CASE("a null pointer with a nonzero size is rejected") {
  check_mentions(message_of<file_error>([] { parse_safetensors(nullptr, 9, "null"); }), {"null", "9"});
}

}  // namespace
}  // namespace rescan_examples
