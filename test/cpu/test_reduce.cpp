// The reduction bodies on the CPU backend, with all threads and with one.
#include "bodies/reduce_bodies.hpp"
#include "support/cpu_harness.hpp"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(reduce_folds, cpu_all_threads, cpu_one_thread, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(reduce_empty, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(reduce_argmax, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(reduce_softmax, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(reduce_top_k, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(reduce_errors, cpu_all_threads);

}  // namespace rescan::testing
