// The integer type of every size, count and position in the examples: rescan's index_t.
#pragma once

#include <rescan/core/config.hpp>

namespace rescan_examples {

using rescan::index_t;

}  // namespace rescan_examples
