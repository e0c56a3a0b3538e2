// The selective-scan bodies on the CPU backend, plus what only the CPU backend promises: the same
// bits for any thread count.
#include "bodies/selective_scan_bodies.hpp"
#include "support/cpu_harness.hpp"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(selective_scan_matches_oracle, cpu_all_threads, cpu_three_threads);

}  // namespace rescan::testing
