// adamw (steps by hand), clip_grad_norm and cosine_schedule.
#include <doctest/doctest.h>

#include <cmath>

#include "common/nn/adamw.hpp"
#include "nn_test_support.hpp"

namespace rescan_examples::testing {

TEST_CASE("adamw: the first step by hand, decay only where weight_decay is set") {
  parameter_set<double> params;
  parameter<double>& weight = params.add("w", {2});
  parameter<double>& bias = params.add("b", {1}, false);
  weight.value = {1.0, -2.0};
  weight.grad = {0.5, -0.1};
  bias.value = {3.0};
  bias.grad = {0.25};
  adamw<double> optimizer(params, adamw_options{0.9, 0.999, 1e-8, 0.05});
  optimizer.step(0.1);
  CHECK(optimizer.steps() == 1);
  // Step 1: m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps); decay multiplies by 1 − 0.1 · 0.05.
  CHECK(weight.value[0] == doctest::Approx(1.0 * 0.995 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
  CHECK(weight.value[1] == doctest::Approx(-2.0 * 0.995 + 0.1 * 0.1 / (0.1 + 1e-8)).epsilon(1e-14));
  CHECK(bias.value[0] == doctest::Approx(3.0 - 0.1 * 0.25 / (0.25 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("adamw: two steps against the written-out recurrence, float parameters") {
  parameter_set<float> params;
  parameter<float>& p = params.add("p", {1});
  p.value = {0.5f};
  const double lr = 0.01, wd = 0.1, b1 = 0.8, b2 = 0.9, eps = 1e-6;
  adamw<float> optimizer(params, adamw_options{b1, b2, eps, wd});
  double value = 0.5, m = 0, v = 0;
  for (int t = 1; t <= 2; ++t) {
    const double g = t == 1 ? 0.3 : -0.7;
    p.grad = {float(g)};
    optimizer.step(lr);
    value *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    value -= lr * (m / (1 - std::pow(b1, t))) / (std::sqrt(v / (1 - std::pow(b2, t))) + eps);
    CHECK(p.value[0] == doctest::Approx(value).epsilon(1e-6));
  }
  CHECK(optimizer.steps() == 2);
}

TEST_CASE("adamw: bad options, a negative learning rate and a grown parameter set throw") {
  parameter_set<float> params;
  params.add("p", {2});
  NN_CHECK_THROWS_MENTIONING(adamw<float>(params, adamw_options{1.0, 0.999, 1e-8, 0.0}), rescan::value_error, "adamw",
                             "options.beta1 = 1");
  NN_CHECK_THROWS_MENTIONING(adamw<float>(params, adamw_options{0.9, 0.999, 0.0, 0.0}), rescan::value_error,
                             "options.eps = 0");
  NN_CHECK_THROWS_MENTIONING(adamw<float>(params, adamw_options{0.9, 0.999, 1e-8, -0.1}), rescan::value_error,
                             "options.weight_decay = -0.1");
  adamw<float> optimizer(params);
  NN_CHECK_THROWS_MENTIONING(optimizer.step(-1.0), rescan::value_error, "adamw::step", "lr = -1");
  params.add("late", {1});
  NN_CHECK_THROWS_MENTIONING(optimizer.step(0.1), rescan::value_error, "adamw::step", "2 tensors", "built for 1");
  CHECK(optimizer.steps() == 0);
}

TEST_CASE("clip_grad_norm: the global norm, scaled to max_norm only when above it") {
  parameter_set<float> params;
  params.add("a", {1}).grad = {3.0f};
  params.add("b", {1}).grad = {4.0f};
  CHECK(clip_grad_norm(params, 10.0) == doctest::Approx(5.0));
  CHECK(params.find("a")->grad[0] == 3.0f);  // below max_norm: untouched
  CHECK(clip_grad_norm(params, 1.0) == doctest::Approx(5.0));
  CHECK(params.find("a")->grad[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(params.find("b")->grad[0] == doctest::Approx(0.8).epsilon(1e-6));
  CHECK(clip_grad_norm(params, 1.0) == doctest::Approx(1.0).epsilon(1e-5));
  params.find("a")->grad[0] = NAN;
  CHECK(std::isnan(clip_grad_norm(params, 1.0)));
  CHECK(params.find("b")->grad[0] == doctest::Approx(0.8).epsilon(1e-6));  // left as it was
  NN_CHECK_THROWS_MENTIONING(clip_grad_norm(params, 0.0), rescan::value_error, "clip_grad_norm", "max_norm = 0");
}

TEST_CASE("cosine_schedule: warm-up, peak, middle, end") {
  const double peak = 1e-3, floor = 1e-5;
  CHECK(cosine_schedule(0, 100, 10, peak, floor) == 0.0);
  CHECK(cosine_schedule(5, 100, 10, peak, floor) == doctest::Approx(5e-4));
  CHECK(cosine_schedule(10, 100, 10, peak, floor) == doctest::Approx(peak));
  CHECK(cosine_schedule(55, 100, 10, peak, floor) == doctest::Approx((peak + floor) / 2));
  // A quarter of the way down: floor + (peak − floor)(1 + cos(π/4)) / 2.
  CHECK(cosine_schedule(40, 100, 20, peak, floor) ==
        doctest::Approx(floor + (peak - floor) * (1 + std::sqrt(0.5)) / 2).epsilon(1e-12));
  CHECK(cosine_schedule(100, 100, 10, peak, floor) == floor);
  CHECK(cosine_schedule(150, 100, 10, peak, floor) == floor);
  CHECK(cosine_schedule(0, 100, 0, peak, floor) == doctest::Approx(peak));
  CHECK(cosine_schedule(3, 3, 3, peak, floor) == floor);
  NN_CHECK_THROWS_MENTIONING(cosine_schedule(0, 5, 10, peak, floor), rescan::value_error, "cosine_schedule",
                             "total = 5", ">= 10");
  NN_CHECK_THROWS_MENTIONING(cosine_schedule(-1, 5, 1, peak, floor), rescan::value_error, "step = -1");
}

}  // namespace rescan_examples::testing
