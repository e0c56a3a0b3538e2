// The token-merging bodies on the CUDA backend.
#include "bodies/merge_bodies.hpp"
#include "support/cuda_harness.cuh"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(merge_matching, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_matching_model_shapes, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_plan_tiles, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_ties, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_apply, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_properties, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_adjoints, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_composition, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_errors, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(merge_nan, cuda_harness);

}  // namespace rescan::testing
