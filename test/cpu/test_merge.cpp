// The token-merging bodies on the CPU backend, and the host-only r schedules.
#include "bodies/merge_bodies.hpp"
#include "support/cpu_harness.hpp"

namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(merge_matching, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(merge_matching_model_shapes, cpu_all_threads, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(merge_ties, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(merge_apply, cpu_all_threads, cpu_one_thread, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(merge_properties, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(merge_adjoints, cpu_all_threads, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(merge_composition, cpu_all_threads, cpu_one_thread);
TEST_CASE_TEMPLATE_INVOKE(merge_errors, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(merge_nan, cpu_all_threads);

TEST_CASE("token merging: r schedules: constant, ToMe's (r, inflection) line, explicit lists, R-MeeTo's even layers") {
  CHECK(constant_schedule(5, 3) == std::vector<index_t>{5, 5, 5});
  // ToMe: first = int(r (1 - inflection)), last = 2r - first, int(first + step i) in between.
  CHECK(tome_schedule(8, -0.5, 12) == std::vector<index_t>{12, 11, 10, 9, 9, 8, 7, 6, 6, 5, 4, 4});
  CHECK(tome_schedule(8, 0.0, 4) == std::vector<index_t>{8, 8, 8, 8});
  CHECK(tome_schedule(4, -1.0, 5) == std::vector<index_t>{8, 6, 4, 2, 0});
  CHECK(tome_schedule(4, 1.0, 5) == std::vector<index_t>{0, 2, 4, 6, 8});
  CHECK(tome_schedule(3, -0.5, 1) == std::vector<index_t>{4});
  CHECK(explicit_schedule({1, 2}, 4) == std::vector<index_t>{1, 2, 0, 0});
  CHECK(rmeeto_schedule(11, 7) == std::vector<index_t>{0, 0, 11, 0, 11, 0, 11});
  // Vim-S: 197 tokens, class token in the middle, r = 11 at layers 2, 4, ..., 22 of 24.
  matching_options vim;
  vim.class_token = 98;
  const auto counts = tokens_after(197, rmeeto_schedule(11, 24), vim);
  CHECK(counts.front() == 197);
  CHECK(counts[2] == 186);
  CHECK(counts.back() == 197 - 11 * 11);
  // Clamping: 10 tokens with a class token merge at most 4, then 2, then 1.
  matching_options tome;
  tome.class_token = 0;
  tome.class_handling = class_token_handling::tome;
  CHECK(tokens_after(10, {100, 100, 100, 100}, tome) == std::vector<index_t>{6, 4, 3, 2});
  CHECK(clamped_r(197, 500, vim) == 98);
  CHECK(clamped_r(197, 5) == 5);
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(tome_schedule(-1, 0.0, 3), value_error, "tome_schedule: r = -1 but must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(tome_schedule(2, 1.5, 3), value_error, "tome_schedule: inflection = 1.5 but must be in [-1, 1]");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(explicit_schedule({1, -2}, 4), value_error, "explicit_schedule: r[1] = -2 but must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(explicit_schedule({1, 2, 3}, 2), value_error, "explicit_schedule: the list has 3 entries but layers = 2");
}

TEST_CASE("token merging: a plan made by one backend is refused by another, and host plans copy as they are") {
  const auto metric = random_uniform<float>(2 * 6 * 3, -1, 1);
  const merge_plan plan = bipartite_soft_matching(cpu, make_view(metric.data(), {2, 6, 3}), 2);
  CHECK(plan.memory() == plan_memory::host);
  const merge_plan copy = plan_to_host(cpu, plan);
  CHECK(copy.destination().data() == plan.destination().data());
  const merge_plan device_like = merge_plan::over(std::shared_ptr<index_t>(new index_t[1], std::default_delete<index_t[]>()),
                                                  plan_memory::cuda_device, 0, 6, 4, 2, -1, {});
  std::vector<float> x(1);
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(merge(cpu, device_like, make_view(x.data(), {0, 6, 1}), make_view(x.data(), {0, 4, 1})),
                                    value_error,
                                    "merge: plan holds its arrays in CUDA device memory (made by rescan::cuda) but this backend needs host memory");
}

}  // namespace rescan::testing
