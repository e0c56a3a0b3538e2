// A consumer of rescan: includes the umbrella header, runs a scan and a reduction on the CPU
// backend, and checks the results and the version macros. Returns nonzero on any mismatch.
#include <rescan/rescan.hpp>

#include <cstdio>
#include <vector>

static_assert(RESCAN_VERSION == RESCAN_VERSION_MAJOR * 10000 + RESCAN_VERSION_MINOR * 100 + RESCAN_VERSION_PATCH,
              "RESCAN_VERSION disagrees with its parts");

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer (%s): FAILED: %s\n", CONSUME_MODE, what);
    ++failures;
  }
}

}  // namespace

int main() {
  check(RESCAN_VERSION_MAJOR == EXPECTED_MAJOR && RESCAN_VERSION_MINOR == EXPECTED_MINOR &&
            RESCAN_VERSION_PATCH == EXPECTED_PATCH,
        "version macros equal the version CMake reports");
  check(RESCAN_VERSION >= 100, "version >= 0.1");

  // inclusive_scan of 5 floats: 1 2 3 4 5 -> 1 3 6 10 15 (exact in float).
  const std::vector<float> x{1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  std::vector<float> prefix(x.size(), -1.0f);
  rescan::inclusive_scan(rescan::cpu, rescan::make_view(x.data(), 5), rescan::make_view(prefix.data(), 5));
  check(prefix == std::vector<float>{1.0f, 3.0f, 6.0f, 10.0f, 15.0f}, "inclusive_scan(1..5) == 1 3 6 10 15");

  // reduce_sum of a (2, 3) matrix: rows 1 2 3 and 4 5 6 -> 6 15.
  const std::vector<float> matrix{1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  std::vector<float> sums(2, -1.0f);
  rescan::reduce_sum(rescan::cpu, rescan::make_view(matrix.data(), {2, 3}), rescan::make_view(sums.data(), 2));
  check(sums == std::vector<float>{6.0f, 15.0f}, "reduce_sum of rows (1 2 3) and (4 5 6) == 6 15");

  if (failures != 0) return 1;
  std::printf("consumer (%s): rescan %d.%d.%d OK\n", CONSUME_MODE, RESCAN_VERSION_MAJOR, RESCAN_VERSION_MINOR,
              RESCAN_VERSION_PATCH);
  return 0;
}
