// The ranking bodies on the CUDA backend.
#include "bodies/rank_bodies.hpp"
#include "support/cuda_harness.cuh"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(rank_kendall_reference, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_long, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_scipy, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_invariants, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_edges, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_batched, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_rankdata, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_spearman_agreement, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(rank_errors, cuda_harness);

}  // namespace rescan::testing
