// The scan and linear-recurrence bodies on the CPU backend, with all threads and with one (and,
// for the exact sums, with a team of three: rows < threads with several rows).
#include "bodies/scan_bodies.hpp"
#include "support/cpu_harness.hpp"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(scan_integer_sums, cpu_all_threads, cpu_one_thread, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(scan_long_row, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(scan_non_commutative, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(scan_segments, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(scan_in_place, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(scan_non_finite, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(linear_recurrence_cases, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(scan_empty, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(scan_errors, cpu_all_threads);

}  // namespace rescan::testing
