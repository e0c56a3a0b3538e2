// Fuzzes parse_safetensors; when the input parses, serializes the result and parses that again,
// which must give the same tensors (names, order, shapes, value bits) and metadata. Only the
// documented file_error (and its format_error) may escape the first parse; anything else is a
// finding, and so is any exception from the round trip of a file that parsed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/io/file_error.hpp"
#include "common/io/safetensors.hpp"

namespace {

bool same_tensors(const rescan_examples::safetensors_file& a, const rescan_examples::safetensors_file& b) {
  if (a.tensors.size() != b.tensors.size() || a.metadata != b.metadata) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& x = a.tensors[i];
    const auto& y = b.tensors[i];
    if (x.name != y.name || x.shape != y.shape || x.values.size() != y.values.size()) return false;
    if (!x.values.empty() && std::memcmp(x.values.data(), y.values.data(), x.values.size() * sizeof(float)) != 0)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rescan_examples::safetensors_file parsed;
  try {
    parsed = rescan_examples::parse_safetensors(data, size, "fuzz input");
  } catch (const rescan_examples::file_error&) {
    return 0;
  }
  const std::vector<std::uint8_t> written = rescan_examples::serialize_safetensors(parsed);
  const rescan_examples::safetensors_file again =
      rescan_examples::parse_safetensors(written.data(), written.size(), "fuzz round trip");
  if (!same_tensors(parsed, again)) std::abort();
  return 0;
}
