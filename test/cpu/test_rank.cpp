// The ranking bodies on the CPU backend: all threads, one thread, and an odd team of three.
#include "bodies/rank_bodies.hpp"
#include "support/cpu_harness.hpp"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(rank_kendall_reference, cpu_all_threads, cpu_one_thread, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_long, cpu_all_threads, cpu_one_thread, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_scipy, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_invariants, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_edges, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(rank_kendall_batched, cpu_all_threads, cpu_one_thread, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(rank_rankdata, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(rank_spearman_agreement, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(rank_errors, cpu_all_threads);

}  // namespace rescan::testing
