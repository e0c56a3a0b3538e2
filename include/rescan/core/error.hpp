// Error types. Every message names the function, the argument, the axis and the values involved,
// e.g. "inclusive_scan: out.extent(1) = 7 but in.extent(1) = 8".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rescan {

// Base of everything rescan throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Extents or ranks that do not fit together.
class shape_error : public error {
 public:
  using error::error;
};

// A value out of its domain: negative k, k > n, NaN where a comparison needs order, unsorted offsets.
class value_error : public error {
 public:
  using error::error;
};

// A CUDA runtime call failed, or a host pointer was passed to the CUDA backend.
class cuda_error : public error {
 public:
  using error::error;
};

namespace detail {

// Concatenates any streamable values into one message.
template <class... Parts>
std::string message(const Parts&... parts) {
  std::ostringstream stream;
  (stream << ... << parts);
  return stream.str();
}

template <class Error, class... Parts>
[[noreturn]] void raise(const Parts&... parts) {
  throw Error(message(parts...));
}

}  // namespace detail
}  // namespace rescan
