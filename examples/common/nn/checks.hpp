// Argument checks shared by the layers, losses and optimizer. Each throws a rescan error whose
// message names the function, the argument and the value, e.g. "linear: in = 0 but it must be >= 1".
#pragma once

#include <cmath>
#include <string>

#include <rescan/core/error.hpp>

#include "common/nn/index.hpp"

namespace rescan_examples::detail {

// Throws Error (a rescan::error subclass) with the parts streamed into one message.
template <class Error = rescan::value_error, class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  rescan::detail::raise<Error>(parts...);
}

// value >= minimum, or a value_error "function: name = value but it must be >= minimum".
inline void check_at_least(const std::string& function, const char* name, index_t value, index_t minimum) {
  if (value < minimum) fail(function, ": ", name, " = ", value, " but it must be >= ", minimum);
}

// lo <= value <= hi and finite, for real-valued options.
inline void check_in_range(const std::string& function, const char* name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi))
    fail(function, ": ", name, " = ", value, " but it must be in [", lo, ", ", hi, "]");
}

// A pointer the call must read or write.
inline void check_given(const std::string& function, const char* name, const void* pointer) {
  if (pointer == nullptr) fail(function, ": ", name, " is nullptr but it is required");
}

}  // namespace rescan_examples::detail
