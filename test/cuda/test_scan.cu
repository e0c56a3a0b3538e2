// The scan and linear-recurrence bodies on the CUDA backend.
#include "bodies/scan_bodies.hpp"
#include "support/cuda_harness.cuh"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(scan_integer_sums, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_long_row, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_non_commutative, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_segments, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_in_place, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_non_finite, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(linear_recurrence_cases, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_empty, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(scan_errors, cuda_harness);

}  // namespace rescan::testing
