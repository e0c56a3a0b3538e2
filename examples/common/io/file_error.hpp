// Errors of the examples' file handling. Every message names the file (or what stands for it, such
// as "train-images-idx3-ubyte.gz (after gunzip)") and what is wrong with it, e.g.
// "read_file: cannot open /tmp/x.bin: No such file or directory".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace rescan_examples {

// A file that is missing, unreadable, unwritable, or whose content breaks its format.
class file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Content that breaks its format (truncated, corrupt, inconsistent). A file_error, so code that
// does not care about the difference catches file_error alone.
class format_error : public file_error {
 public:
  using file_error::file_error;
};

namespace detail {

// Concatenates any streamable values and throws them as Error.
template <class Error = file_error, class... Parts>
[[noreturn]] void raise_file_error(const Parts&... parts) {
  std::ostringstream stream;
  (stream << ... << parts);
  throw Error(stream.str());
}

}  // namespace detail
}  // namespace rescan_examples
