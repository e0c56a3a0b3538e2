#include "common/report/jsonl_log.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/io/file_error.hpp"

namespace rescan_examples {
namespace {

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

jsonl_log::jsonl_log(const std::string& path) : path_(path) {
  if (path.empty()) detail::raise_file_error("jsonl_log: the path is empty");
  const std::string directory = directory_of(path);
  struct stat status {};
  if (::stat(directory.c_str(), &status) != 0 || !S_ISDIR(status.st_mode))
    detail::raise_file_error("jsonl_log: the directory ", directory, " of ", path, " does not exist");
  errno = 0;
  stream_.open(path, std::ios::out | std::ios::app | std::ios::binary);
  if (!stream_) {
    const int reason = errno;
    detail::raise_file_error("jsonl_log: cannot open ", path, " for appending",
                             reason != 0 ? std::string(": ") + std::strerror(reason) : std::string());
  }
}

void jsonl_log::write(const nlohmann::json& record) {
  stream_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  stream_.flush();
  if (!stream_) detail::raise_file_error("jsonl_log: writing to ", path_, " failed");
}

}  // namespace rescan_examples
