// Fuzzes parse_idx on the raw input and gunzip + parse_idx on it as a gzip file. Only the documented
// file_error (and its format_error) may escape the parsers; anything else — another exception, a
// crash, a sanitizer report, or a parsed array whose extents disagree with its bytes — is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/io/file_error.hpp"
#include "common/io/gzip.hpp"
#include "common/io/idx.hpp"

namespace {

// Decompressed inputs above this are rejected, keeping each run fast and small.
constexpr std::size_t fuzz_gunzip_limit = std::size_t{1} << 24;

void check_consistent(const rescan_examples::idx_array& array) {
  if (array.dims.empty() || array.dims.size() > rescan_examples::max_idx_rank) std::abort();
  std::size_t count = 1;
  for (const rescan_examples::index_t extent : array.dims) {
    if (extent < 0) std::abort();
    count *= static_cast<std::size_t>(extent);
  }
  if (count != array.bytes.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    check_consistent(rescan_examples::parse_idx(data, size, "fuzz input"));
  } catch (const rescan_examples::file_error&) {
  }
  try {
    const std::vector<std::uint8_t> unpacked = rescan_examples::gunzip(data, size, "fuzz input", fuzz_gunzip_limit);
    if (unpacked.size() > fuzz_gunzip_limit) std::abort();
    check_consistent(rescan_examples::parse_idx(unpacked.data(), unpacked.size(), "fuzz input (after gunzip)"));
  } catch (const rescan_examples::file_error&) {
  }
  return 0;
}
