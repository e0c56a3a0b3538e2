// A JSON-lines log: one JSON object per line, appended and flushed at once, so a crash loses at
// most the line being written and tools can follow the file while training runs.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace rescan_examples {

class jsonl_log {
 public:
  // Opens path for appending, creating the file but not its directory. Throws file_error naming the
  // path when the directory is missing or the file cannot be opened.
  explicit jsonl_log(const std::string& path);

  // Appends record as one line (compact, invalid UTF-8 replaced by U+FFFD) and flushes. Throws
  // file_error when the write fails.
  void write(const nlohmann::json& record);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream stream_;
};

}  // namespace rescan_examples
