// Helpers shared by the io tests: a scratch directory removed at the end, gzip compression done
// by zlib directly (an encoder independent of the gunzip under test), and exception checks on
// messages.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescan_examples::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its content on destruction.
class scratch_directory {
 public:
  scratch_directory() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") + "/rescan-io-XXXXXX";
    if (::mkdtemp(&pattern[0]) == nullptr) throw std::runtime_error("scratch_directory: mkdtemp failed");
    path_ = pattern;
  }
  scratch_directory(const scratch_directory&) = delete;
  scratch_directory& operator=(const scratch_directory&) = delete;
  ~scratch_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// bytes compressed as one gzip member at the given zlib level.
inline std::vector<std::uint8_t> gzip_compress(const std::vector<std::uint8_t>& bytes, int level = 6) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::uint8_t> out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32);
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  REQUIRE(status == Z_STREAM_END);
  out.resize(stream.total_out);
  return out;
}

// The message of the Error that call throws; fails the test when it throws nothing or another type.
template <class Error, class Call>
std::string message_of(Call&& call) {
  try {
    call();
  } catch (const Error& failure) {
    return failure.what();
  } catch (const std::exception& other) {
    FAIL("threw another exception type: " << other.what());
    return {};
  }
  FAIL("threw nothing");
  return {};
}

// Checks that message contains every one of parts.
inline void check_mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) CHECK_MESSAGE(message.find(part) != std::string::npos, message << " lacks " << part);
}

}  // namespace rescan_examples::test
