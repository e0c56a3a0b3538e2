// Behaviour that belongs to the CPU backend alone: the floating-point mode of its kernels.
#include <doctest/doctest.h>

#include <cfloat>
#include <vector>

#include <rescan/rescan.hpp>

#include "support/data.hpp"

namespace rescan::testing {

TEST_CASE("subnormal results are flushed to zero inside CPU kernels only, and only when asked") {
  // h_1 = a_1 h_0 with h_0 the smallest normal float and a_1 = 0.5: a subnormal result.
  std::vector<float> a = {1.0f, 0.5f}, b = {FLT_MIN, 0.0f}, h(2);
  const auto row = [](std::vector<float>& v) { return make_view(v.data(), index_t(2)); };
  linear_recurrence(cpu_t(1, true), row(a), row(b), row(h));
  CHECK(h[1] == 0.0f);
  linear_recurrence(cpu_t(1, false), row(a), row(b), row(h));
  CHECK(h[1] == FLT_MIN / 2);
  // The caller's own arithmetic keeps gradual underflow after a flushing call.
  linear_recurrence(cpu_t(0, true), row(a), row(b), row(h));
  volatile float smallest_normal = FLT_MIN;
  CHECK(smallest_normal / 2 != 0.0f);
}

}  // namespace rescan::testing
