#include "common/io/binary_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/io/file_error.hpp"

namespace rescan_examples {
namespace {

std::string system_reason(int error_number) { return std::strerror(error_number); }

// The directory part of path ("." when it has none), for fsync'ing the rename.
std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Owns a file descriptor and the temporary file's name until the rename succeeds: a throw anywhere
// before that closes the descriptor and removes the temporary.
class temporary_file {
 public:
  explicit temporary_file(const std::string& target) : name_(target + ".tmp.XXXXXX") {
    descriptor_ = ::mkstemp(&name_[0]);
    if (descriptor_ < 0) {
      const int reason = errno;
      detail::raise_file_error("write_file_atomically: cannot create a temporary file next to ", target, ": ",
                               system_reason(reason));
    }
    ::fchmod(descriptor_, 0644);
  }
  temporary_file(const temporary_file&) = delete;
  temporary_file& operator=(const temporary_file&) = delete;
  ~temporary_file() {
    if (descriptor_ >= 0) ::close(descriptor_);
    if (!committed_) ::unlink(name_.c_str());
  }

  void write_all(const std::string& target, const std::uint8_t* data, std::size_t bytes) {
    while (bytes > 0) {
      const ::ssize_t written = ::write(descriptor_, data, bytes);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        const int reason = written < 0 ? errno : EIO;
        detail::raise_file_error("write_file_atomically: writing ", name_, " (for ", target,
                                 ") failed: ", system_reason(reason));
      }
      data += written;
      bytes -= static_cast<std::size_t>(written);
    }
  }

  void sync_close_and_rename(const std::string& target) {
    if (::fsync(descriptor_) != 0) {
      const int reason = errno;
      detail::raise_file_error("write_file_atomically: fsync of ", name_, " (for ", target,
                               ") failed: ", system_reason(reason));
    }
    const int descriptor = descriptor_;
    descriptor_ = -1;
    if (::close(descriptor) != 0) {
      const int reason = errno;
      detail::raise_file_error("write_file_atomically: closing ", name_, " (for ", target,
                               ") failed: ", system_reason(reason));
    }
    if (std::rename(name_.c_str(), target.c_str()) != 0) {
      const int reason = errno;
      detail::raise_file_error("write_file_atomically: renaming ", name_, " to ", target,
                               " failed: ", system_reason(reason));
    }
    committed_ = true;
  }

 private:
  std::string name_;
  int descriptor_ = -1;
  bool committed_ = false;
};

// Makes the rename itself durable; a failure here cannot undo it, so it is not reported.
void sync_directory(const std::string& directory) {
  const int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (descriptor < 0) return;
  ::fsync(descriptor);
  ::close(descriptor);
}

}  // namespace

std::vector<std::uint8_t> read_file(const std::string& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) {
    const int reason = errno;
    detail::raise_file_error("read_file: cannot open ", path, ": ", system_reason(reason));
  }
  std::vector<std::uint8_t> bytes;
  struct stat status {};
  if (::fstat(descriptor, &status) == 0 && S_ISREG(status.st_mode) && status.st_size > 0)
    bytes.reserve(static_cast<std::size_t>(status.st_size));
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const ::ssize_t got = ::read(descriptor, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int reason = errno;
      ::close(descriptor);
      detail::raise_file_error("read_file: reading ", path, " failed: ", system_reason(reason));
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  ::close(descriptor);
  return bytes;
}

void write_file_atomically(const std::string& path, const void* data, std::size_t bytes) {
  if (path.empty()) detail::raise_file_error("write_file_atomically: the path is empty");
  if (data == nullptr && bytes != 0)
    detail::raise_file_error("write_file_atomically: ", path, ": data is null but bytes = ", bytes);
  temporary_file temporary(path);
  temporary.write_all(path, static_cast<const std::uint8_t*>(data), bytes);
  temporary.sync_close_and_rename(path);
  sync_directory(directory_of(path));
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text.data(), text.size());
}

}  // namespace rescan_examples
