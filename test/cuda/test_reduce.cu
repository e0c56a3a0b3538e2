// The reduction bodies on the CUDA backend.
#include "bodies/reduce_bodies.hpp"
#include "support/cuda_harness.cuh"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(reduce_folds, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(reduce_empty, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(reduce_argmax, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(reduce_softmax, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(reduce_top_k, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(reduce_errors, cuda_harness);

}  // namespace rescan::testing
