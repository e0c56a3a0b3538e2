#include "common/io/binary_file.hpp"

#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "common/io/file_error.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

using test::check_mentions;
using test::message_of;

std::vector<std::string> directory_entries(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) names.push_back(entry.path().filename());
  return names;
}

std::string read_text(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

// Caps the size of files this process writes (RLIMIT_FSIZE) for its lifetime, with SIGXFSZ ignored
// so an oversized write fails with EFBIG instead of killing the process.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, saved_handler_);
  }

 private:
  rlimit saved_{};
  void (*saved_handler_)(int) = nullptr;
};

TEST_CASE("write_file_atomically then read_file gives the bytes back, and a second write replaces them") {
  test::scratch_directory scratch;
  const std::string path = scratch.file("data.bin");
  std::vector<std::uint8_t> bytes(200000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  write_file_atomically(path, bytes.data(), bytes.size());
  CHECK(read_file(path) == bytes);

  write_text_atomically(path, "short");
  CHECK(read_text(path) == "short");
  CHECK(directory_entries(scratch.path()) == std::vector<std::string>{"data.bin"});  // no temporary left

  write_text_atomically(path, "");
  CHECK(read_file(path).empty());
}

TEST_CASE("a path without a directory part writes into the working directory") {
  test::scratch_directory scratch;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(scratch.path());
  write_text_atomically("plain.txt", "here");
  std::filesystem::current_path(previous);
  CHECK(read_text(scratch.file("plain.txt")) == "here");
}

TEST_CASE("read_file names the path of a missing file or a directory") {
  test::scratch_directory scratch;
  check_mentions(message_of<file_error>([&] { read_file(scratch.file("absent.bin")); }),
                 {"read_file", scratch.file("absent.bin"), "No such file"});
  check_mentions(message_of<file_error>([&] { read_file(scratch.path()); }), {"read_file", scratch.path()});
}

TEST_CASE("write_file_atomically rejects a missing directory, an empty path and null data") {
  test::scratch_directory scratch;
  const std::string path = scratch.file("no/such/dir/out.bin");
  check_mentions(message_of<file_error>([&] { write_text_atomically(path, "x"); }),
                 {"write_file_atomically", path, "No such file"});
  check_mentions(message_of<file_error>([&] { write_text_atomically("", "x"); }), {"write_file_atomically", "empty"});
  check_mentions(message_of<file_error>([&] { write_file_atomically(scratch.file("a"), nullptr, 3); }),
                 {"write_file_atomically", "null", "3"});
  CHECK(directory_entries(scratch.path()).empty());
}

TEST_CASE("a failing write leaves the old file intact and removes the temporary") {
  test::scratch_directory scratch;
  const std::string path = scratch.file("model.bin");
  write_text_atomically(path, "old content");
  const std::vector<std::uint8_t> big(1 << 16, 0xab);
  {
    file_size_limit limit(4096);  // the write of 64 KiB fails with EFBIG part way
    check_mentions(message_of<file_error>([&] { write_file_atomically(path, big.data(), big.size()); }),
                   {"write_file_atomically", path, "File too large"});
  }
  CHECK(read_text(path) == "old content");
  CHECK(directory_entries(scratch.path()) == std::vector<std::string>{"model.bin"});
}

TEST_CASE("a failing rename (the target is a directory) leaves it intact and removes the temporary") {
  test::scratch_directory scratch;
  const std::string target = scratch.file("occupied");
  std::filesystem::create_directory(target);
  write_text_atomically(target + "/inside.txt", "kept");
  check_mentions(message_of<file_error>([&] { write_text_atomically(target, "new"); }),
                 {"write_file_atomically", "renaming", target});
  CHECK(read_text(target + "/inside.txt") == "kept");
  CHECK(directory_entries(scratch.path()) == std::vector<std::string>{"occupied"});
}

}  // namespace
}  // namespace rescan_examples
