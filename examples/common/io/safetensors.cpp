#include "common/io/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "common/io/binary_file.hpp"
#include "common/io/file_error.hpp"

namespace rescan_examples {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr std::size_t length_prefix_bytes = 8;
constexpr const char* metadata_key = "__metadata__";
// The header is {name: {dtype, shape, data_offsets: [b, e]}, __metadata__: {k: v}}: depth 3 at most.
constexpr int max_header_depth = 8;

// A dtype parse_safetensors reads, with its element size and how one element becomes a float.
struct dtype_reader {
  const char* name;
  std::size_t bytes;
  float (*to_float)(const std::uint8_t*);
};

std::uint64_t read_little_endian(const std::uint8_t* bytes, std::size_t count) {
  std::uint64_t value = 0;
  for (std::size_t i = count; i-- > 0;) value = value << 8 | bytes[i];
  return value;
}

float bits_to_float(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

float read_f32(const std::uint8_t* bytes) { return bits_to_float(static_cast<std::uint32_t>(read_little_endian(bytes, 4))); }

// Rounds to nearest float; magnitudes from FLT_MAX + half an ulp (2^103) up become infinity, as
// IEEE rounding does, without the undefined behaviour of casting an out-of-range double.
float read_f64(const std::uint8_t* bytes) {
  const std::uint64_t bits = read_little_endian(bytes, 8);
  double value;
  std::memcpy(&value, &bits, sizeof value);
  const double overflow_threshold = double{std::numeric_limits<float>::max()} + std::ldexp(1.0, 103);
  if (std::fabs(value) >= overflow_threshold) return std::signbit(value) ? -HUGE_VALF : HUGE_VALF;
  return static_cast<float>(value);
}

// bfloat16 is the upper half of a float.
float read_bf16(const std::uint8_t* bytes) {
  return bits_to_float(static_cast<std::uint32_t>(read_little_endian(bytes, 2)) << 16);
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits; every value is exact in float.
float read_f16(const std::uint8_t* bytes) {
  const auto half = static_cast<std::uint32_t>(read_little_endian(bytes, 2));
  const std::uint32_t sign = (half >> 15) << 31;
  const std::uint32_t exponent = (half >> 10) & 0x1f;
  const std::uint32_t fraction = half & 0x3ff;
  if (exponent == 0x1f) return bits_to_float(sign | 0x7f800000u | fraction << 13);  // inf, NaN
  if (exponent != 0) return bits_to_float(sign | (exponent + 127 - 15) << 23 | fraction << 13);
  const float magnitude = std::ldexp(static_cast<float>(fraction), -24);  // zero and subnormals
  return sign != 0 ? -magnitude : magnitude;
}

constexpr dtype_reader dtype_readers[] = {
    {"F32", 4, read_f32}, {"F64", 8, read_f64}, {"F16", 2, read_f16}, {"BF16", 2, read_bf16}};

const dtype_reader* find_dtype(const std::string& name) {
  for (const dtype_reader& reader : dtype_readers)
    if (name == reader.name) return &reader;
  return nullptr;
}

// Parses the header, rejecting repeated keys in any object and nesting beyond max_header_depth
// (the JSON library would otherwise keep the last of two equal keys silently).
ordered_json parse_header(const std::uint8_t* begin, const std::uint8_t* end, const std::string& what) {
  std::vector<std::set<std::string>> keys_per_object;
  const ordered_json::parser_callback_t check = [&](int depth, nlohmann::json::parse_event_t event,
                                                    ordered_json& parsed) {
    using event_t = nlohmann::json::parse_event_t;
    if (depth > max_header_depth)
      detail::raise_file_error<format_error>("parse_safetensors: ", what, ": the header nests deeper than ",
                                             max_header_depth, " levels");
    if (event == event_t::object_start) keys_per_object.emplace_back();
    if (event == event_t::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
    if (event == event_t::key && !keys_per_object.empty() &&
        !keys_per_object.back().insert(parsed.get<std::string>()).second)
      detail::raise_file_error<format_error>("parse_safetensors: ", what, ": the header repeats the key \"",
                                             parsed.get<std::string>(), "\"");
    return true;
  };
  try {
    return ordered_json::parse(begin, end, check);
  } catch (const nlohmann::json::exception& failure) {
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": the header is not valid JSON: ",
                                           failure.what());
  }
}

// A non-negative JSON integer that fits in std::uint64_t, or throws naming field.
std::uint64_t read_unsigned(const ordered_json& value, const std::string& what, const std::string& tensor,
                            const char* field) {
  if (!value.is_number_integer() || (value.is_number_integer() && !value.is_number_unsigned()))
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", tensor, "\": ", field,
                                           " holds ", value.dump(), ", not a non-negative integer");
  return value.get<std::uint64_t>();
}

const ordered_json& required_field(const ordered_json& entry, const char* field, const std::string& what,
                                   const std::string& tensor) {
  const auto found = entry.find(field);
  if (found == entry.end())
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", tensor, "\" has no ", field);
  return *found;
}

std::map<std::string, std::string> parse_metadata(const ordered_json& metadata, const std::string& what) {
  if (!metadata.is_object())
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": __metadata__ is a ", metadata.type_name(),
                                           ", not an object");
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string())
      detail::raise_file_error<format_error>("parse_safetensors: ", what, ": __metadata__ \"", key, "\" is a ",
                                             value.type_name(), ", not a string");
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

// The byte range of one tensor in the buffer, for the overlap check.
struct byte_range {
  std::uint64_t begin, end;
  const std::string* tensor;
};

safetensors_tensor parse_tensor(const std::string& name, const ordered_json& entry, const std::uint8_t* buffer,
                                std::uint64_t buffer_size, const std::string& what, byte_range& range) {
  if (!entry.is_object())
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\" is a ",
                                           entry.type_name(), ", not an object");
  const ordered_json& dtype_field = required_field(entry, "dtype", what, name);
  const ordered_json& shape_field = required_field(entry, "shape", what, name);
  const ordered_json& offsets_field = required_field(entry, "data_offsets", what, name);

  if (!dtype_field.is_string())
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": dtype is ",
                                           dtype_field.dump(), ", not a string");
  const std::string dtype = dtype_field.get<std::string>();
  const dtype_reader* reader = find_dtype(dtype);
  if (reader == nullptr)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": dtype ", dtype,
                                           " is not supported (only F32, F64, F16, BF16)");

  if (!shape_field.is_array())
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": shape is ",
                                           shape_field.dump(), ", not an array");
  safetensors_tensor tensor;
  tensor.name = name;
  std::uint64_t count = 1;
  bool overflow = false;
  for (const ordered_json& extent_field : shape_field) {
    const std::uint64_t extent = read_unsigned(extent_field, what, name, "shape");
    if (extent > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) overflow = true;
    if (extent != 0 && count > std::numeric_limits<std::uint64_t>::max() / extent) overflow = true;
    count *= extent;
    tensor.shape.push_back(static_cast<index_t>(extent));
  }
  if (overflow || count > std::numeric_limits<std::uint64_t>::max() / reader->bytes)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": shape ",
                                           shape_field.dump(), " overflows");

  if (!offsets_field.is_array() || offsets_field.size() != 2)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": data_offsets is ",
                                           offsets_field.dump(), ", not [begin, end]");
  const std::uint64_t begin = read_unsigned(offsets_field[0], what, name, "data_offsets");
  const std::uint64_t end = read_unsigned(offsets_field[1], what, name, "data_offsets");
  if (begin > end || end > buffer_size)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": data_offsets [",
                                           begin, ", ", end, "] are not a range inside the ", buffer_size,
                                           "-byte buffer");
  if (end - begin != count * reader->bytes)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensor \"", name, "\": data_offsets [",
                                           begin, ", ", end, "] hold ", end - begin, " bytes but shape ",
                                           shape_field.dump(), " of ", dtype, " needs ", count * reader->bytes);

  tensor.values.resize(static_cast<std::size_t>(count));
  const std::uint8_t* element = buffer + begin;
  for (float& value : tensor.values) {
    value = reader->to_float(element);
    element += reader->bytes;
  }
  range = {begin, end, nullptr};
  return tensor;
}

void check_no_overlap(std::vector<byte_range> ranges, const std::string& what) {
  ranges.erase(std::remove_if(ranges.begin(), ranges.end(), [](const byte_range& r) { return r.begin == r.end; }),
               ranges.end());
  std::sort(ranges.begin(), ranges.end(),
            [](const byte_range& a, const byte_range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      detail::raise_file_error<format_error>("parse_safetensors: ", what, ": tensors \"", *ranges[i - 1].tensor,
                                             "\" [", ranges[i - 1].begin, ", ", ranges[i - 1].end, ") and \"",
                                             *ranges[i].tensor, "\" [", ranges[i].begin, ", ", ranges[i].end,
                                             ") overlap");
}

void write_little_endian(std::vector<std::uint8_t>& out, std::uint64_t value, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

}  // namespace

const safetensors_tensor* safetensors_file::find(const std::string& name) const {
  for (const safetensors_tensor& tensor : tensors)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

safetensors_file parse_safetensors(const std::uint8_t* data, std::size_t size, const std::string& what) {
  if (data == nullptr && size != 0)
    detail::raise_file_error("parse_safetensors: ", what, ": data is null but size = ", size);
  if (size < length_prefix_bytes)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": ", size,
                                           " bytes, shorter than the 8-byte header length");
  const std::uint64_t header_size = read_little_endian(data, length_prefix_bytes);
  if (header_size > size - length_prefix_bytes)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": the header length ", header_size,
                                           " runs past the end of the ", size, "-byte file");
  if (header_size > max_safetensors_header)
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": the header length ", header_size,
                                           " exceeds the limit of ", max_safetensors_header, " bytes");
  const std::uint8_t* header_begin = data + length_prefix_bytes;
  const std::uint8_t* buffer = header_begin + header_size;
  const std::uint64_t buffer_size = size - length_prefix_bytes - header_size;

  const ordered_json header = parse_header(header_begin, buffer, what);
  if (!header.is_object())
    detail::raise_file_error<format_error>("parse_safetensors: ", what, ": the header is a ", header.type_name(),
                                           ", not a JSON object");
  safetensors_file file;
  std::vector<byte_range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == metadata_key) {
      file.metadata = parse_metadata(entry, what);
      continue;
    }
    byte_range range{};
    file.tensors.push_back(parse_tensor(name, entry, buffer, buffer_size, what, range));
    ranges.push_back(range);
  }
  for (std::size_t i = 0; i < ranges.size(); ++i) ranges[i].tensor = &file.tensors[i].name;
  check_no_overlap(std::move(ranges), what);
  return file;
}

safetensors_file read_safetensors(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::vector<std::uint8_t> serialize_safetensors(const safetensors_file& file) {
  ordered_json header = ordered_json::object();
  if (!file.metadata.empty()) {
    ordered_json metadata = ordered_json::object();
    for (const auto& [key, value] : file.metadata) metadata[key] = value;
    header[metadata_key] = std::move(metadata);
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const safetensors_tensor& tensor : file.tensors) {
    if (tensor.name == metadata_key)
      detail::raise_file_error("serialize_safetensors: a tensor may not be called \"", metadata_key, "\"");
    if (!names.insert(tensor.name).second)
      detail::raise_file_error("serialize_safetensors: two tensors are called \"", tensor.name, "\"");
    std::uint64_t count = 1;
    bool overflow = false;
    for (const index_t extent : tensor.shape) {
      if (extent < 0)
        detail::raise_file_error("serialize_safetensors: tensor \"", tensor.name, "\" has the negative extent ",
                                 extent);
      const auto unsigned_extent = static_cast<std::uint64_t>(extent);
      if (unsigned_extent != 0 && count > std::numeric_limits<std::uint64_t>::max() / unsigned_extent) overflow = true;
      count *= unsigned_extent;
    }
    if (overflow || count != tensor.values.size())
      detail::raise_file_error("serialize_safetensors: tensor \"", tensor.name, "\" has ", tensor.values.size(),
                               " values but its shape holds ", overflow ? std::string("too many") : std::to_string(count));
    const std::uint64_t end = offset + count * sizeof(float);
    header[tensor.name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& failure) {
    detail::raise_file_error("serialize_safetensors: a tensor name or metadata string is not valid UTF-8 (",
                             failure.what(), ")");
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::vector<std::uint8_t> out;
  out.reserve(length_prefix_bytes + header_text.size() + offset);
  write_little_endian(out, header_text.size(), length_prefix_bytes);
  out.insert(out.end(), header_text.begin(), header_text.end());
  for (const safetensors_tensor& tensor : file.tensors)
    for (const float value : tensor.values) {
      std::uint32_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      write_little_endian(out, bits, sizeof bits);
    }
  return out;
}

void write_safetensors(const std::string& path, const safetensors_file& file) {
  const std::vector<std::uint8_t> bytes = serialize_safetensors(file);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace rescan_examples
