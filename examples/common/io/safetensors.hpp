// The safetensors format (Hugging Face): an 8-byte little-endian u64 N, then N bytes of JSON header
//   {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<value>", ...}}      ("__metadata__" is optional)
// then the byte buffer; [begin, end) is relative to the buffer's start and holds the tensor's
// elements row-major, little-endian. Reading keeps the header's order of tensors and accepts the
// dtypes F32, F64, F16 and BF16, converting them to float (F64 rounds to nearest, beyond the float
// range to infinity); bytes of the buffer that no tensor claims are allowed. Writing stores F32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_examples {

using rescan::index_t;

// values: product(shape) floats, row-major (shape {} is a scalar with one value).
struct safetensors_tensor {
  std::string name;
  std::vector<index_t> shape;
  std::vector<float> values;
};

struct safetensors_file {
  std::vector<safetensors_tensor> tensors;  // in header (file) order
  std::map<std::string, std::string> metadata;

  // The tensor called name, or nullptr.
  const safetensors_tensor* find(const std::string& name) const;
};

// The largest header parse_safetensors accepts: 100 MB, as the reference implementation.
inline constexpr std::size_t max_safetensors_header = 100'000'000;

// data: a whole safetensors file of size bytes; what: its name for error messages. Throws
// format_error, naming what and the tensor, when the header length runs past the data or above
// max_safetensors_header, the header is not a JSON object (or repeats a key, or nests too deeply),
// an entry is not an object or lacks dtype, shape or data_offsets, a dtype is not one of F32, F64,
// F16, BF16, a shape extent is negative or not an integer or the element count overflows,
// data_offsets are not two integers begin <= end inside the buffer, end - begin differs from
// count * dtype size, two tensors' bytes overlap, or __metadata__ is not an object of strings.
safetensors_file parse_safetensors(const std::uint8_t* data, std::size_t size, const std::string& what);

// Reads and parses the file at path; errors name the path.
safetensors_file read_safetensors(const std::string& path);

// The file's bytes with every tensor as F32, in the order given, "__metadata__" first when there
// is metadata; the header is padded with spaces to a multiple of 8 bytes. Throws file_error when a
// tensor's values.size() differs from its shape's product, an extent is negative, two tensors share
// a name, a tensor is called "__metadata__", or a name or metadata string is not valid UTF-8.
std::vector<std::uint8_t> serialize_safetensors(const safetensors_file& file);

// serialize_safetensors, written atomically to path (see write_file_atomically).
void write_safetensors(const std::string& path, const safetensors_file& file);

}  // namespace rescan_examples
