// CREAM's consistency-regularized DPO loss: its derivative against central differences, C = 1
// against DPO's −log σ(βh) written out, the minimum at βh = logit(C) with the binary entropy as its
// value, the chosen/rejected symmetry, the asymptotes at |βh| = 1e4, the batched mean and its
// gradient, the margin helper and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "common/nn/test/nn_test_support.hpp"
#include "cream/preference_loss.hpp"

namespace rescan_examples::testing {

TEST_CASE("consistency_dpo_loss: dloss/dh against central differences, small and large |h|") {
  for (const double beta : {0.1, 1.0}) {
    for (const double consistency : {0.0, 0.25, 0.5, 0.9, 1.0}) {
      for (const double h : {-3000.0, -50.0, -3.0, -0.2, 0.0, 0.7, 5.0, 80.0, 3000.0}) {
        CAPTURE(beta);
        CAPTURE(consistency);
        CAPTURE(h);
        const double step = 1e-4 * std::max(1.0, std::abs(h));
        const double numeric = (consistency_dpo_loss(h + step, consistency, beta).loss -
                                consistency_dpo_loss(h - step, consistency, beta).loss) /
                               (2 * step);
        const double analytic = consistency_dpo_loss(h, consistency, beta).dloss_dh;
        CHECK(std::abs(numeric - analytic) <= 1e-7 * (1 + std::abs(analytic)));
      }
    }
  }
}

TEST_CASE("consistency_dpo_loss: C = 1 is DPO's −log σ(βh), C = 0 is −log σ(−βh)") {
  for (const double beta : {0.1, 0.5}) {
    for (const double h : {-40.0, -7.5, -1.0, 0.0, 0.3, 12.0, 60.0}) {
      CAPTURE(beta);
      CAPTURE(h);
      const double x = beta * h;  // |x| <= 30: the direct forms are accurate
      const double sigma = 1 / (1 + std::exp(-x));
      const preference_loss_value dpo = consistency_dpo_loss(h, 1.0, beta);
      CHECK(dpo.loss == doctest::Approx(std::log1p(std::exp(-x))).epsilon(1e-13));
      CHECK(dpo.dloss_dh == doctest::Approx(beta * (sigma - 1)).epsilon(1e-12));
      const preference_loss_value flipped = consistency_dpo_loss(h, 0.0, beta);
      CHECK(flipped.loss == doctest::Approx(std::log1p(std::exp(x))).epsilon(1e-13));
      CHECK(flipped.dloss_dh == doctest::Approx(beta * sigma).epsilon(1e-12));
    }
  }
  // By hand: β = 0.1, h = 10 → −log σ(1) = log(1 + e^−1) = 0.31326168751822286.
  CHECK(consistency_dpo_loss(10.0, 1.0, default_preference_beta).loss ==
        doctest::Approx(0.31326168751822286).epsilon(1e-14));
}

TEST_CASE("consistency_dpo_loss: minimum at βh = logit(C), where the loss is the binary entropy of C") {
  for (const double beta : {0.1, 2.0}) {
    for (const double consistency : {0.1, 0.5, 0.75, 0.99}) {
      CAPTURE(beta);
      CAPTURE(consistency);
      const double h_star = std::log(consistency / (1 - consistency)) / beta;
      const preference_loss_value at_minimum = consistency_dpo_loss(h_star, consistency, beta);
      CHECK(std::abs(at_minimum.dloss_dh) <= 1e-15 * (1 + beta));
      const double entropy = -consistency * std::log(consistency) - (1 - consistency) * std::log(1 - consistency);
      CHECK(at_minimum.loss == doctest::Approx(entropy).epsilon(1e-12));
      for (const double offset : {1e-3, 0.5, 20.0}) {
        CAPTURE(offset);
        CHECK(consistency_dpo_loss(h_star - offset / beta, consistency, beta).loss > at_minimum.loss);
        CHECK(consistency_dpo_loss(h_star + offset / beta, consistency, beta).loss > at_minimum.loss);
        CHECK(consistency_dpo_loss(h_star - offset / beta, consistency, beta).dloss_dh < 0);
        CHECK(consistency_dpo_loss(h_star + offset / beta, consistency, beta).dloss_dh > 0);
      }
    }
  }
}

TEST_CASE("consistency_dpo_loss: swapping chosen and rejected, loss(h, C) = loss(−h, 1 − C)") {
  random_generator random(5);
  for (int trial = 0; trial < 50; ++trial) {
    const double h = random.uniform(-100, 100), consistency = random.uniform(), beta = random.uniform(0.01, 1.0);
    CAPTURE(h);
    CAPTURE(consistency);
    const preference_loss_value forward = consistency_dpo_loss(h, consistency, beta);
    const preference_loss_value swapped = consistency_dpo_loss(-h, 1 - consistency, beta);
    CHECK(forward.loss == doctest::Approx(swapped.loss).epsilon(1e-12));
    CHECK(forward.dloss_dh == doctest::Approx(-swapped.dloss_dh).epsilon(1e-12));
  }
}

TEST_CASE("consistency_dpo_loss: finite at |βh| = 1e4 and equal to the asymptotes there") {
  // For large |z|, −log σ(z) → max(0, −z) and σ(z) → 0 or 1.
  for (const double consistency : {0.0, 0.3, 1.0}) {
    for (const double beta : {1.0, 0.1}) {
      CAPTURE(consistency);
      CAPTURE(beta);
      const double h = 1e4 / beta;
      const preference_loss_value positive = consistency_dpo_loss(h, consistency, beta);
      const preference_loss_value negative = consistency_dpo_loss(-h, consistency, beta);
      REQUIRE(std::isfinite(positive.loss));
      REQUIRE(std::isfinite(negative.loss));
      CHECK(positive.loss == doctest::Approx((1 - consistency) * 1e4).epsilon(1e-14));
      CHECK(negative.loss == doctest::Approx(consistency * 1e4).epsilon(1e-14));
      CHECK(positive.dloss_dh == doctest::Approx(beta * (1 - consistency)).epsilon(1e-14));
      CHECK(negative.dloss_dh == doctest::Approx(-beta * consistency).epsilon(1e-14));
      CHECK(positive.loss >= 0);
      CHECK(negative.loss >= 0);
    }
  }
  // A fully trusted, very well separated pair costs exactly nothing.
  CHECK(consistency_dpo_loss(1e6, 1.0, 1.0).loss == 0.0);
  // βh overflowing to inf: an infinite loss, not NaN from 0 · inf.
  CHECK(consistency_dpo_loss(-1e300, 1.0, 1e10).loss == INFINITY);
  CHECK(consistency_dpo_loss(1e300, 1.0, 1e10).loss == 0.0);
}

TEST_CASE("consistency_dpo_loss: the batch is the mean of the pairs, its gradient divided by count") {
  random_generator random(9);
  const index_t count = 7;
  std::vector<double> h = random_values(random, count, 30.0);
  std::vector<double> consistency(static_cast<std::size_t>(count));
  for (double& c : consistency) c = random.uniform();
  consistency[0] = 1.0;
  consistency[1] = 0.0;
  const double beta = 0.3;
  std::vector<double> dloss_dh(static_cast<std::size_t>(count), 99.0);
  const double mean = consistency_dpo_loss(h.data(), consistency.data(), count, beta, dloss_dh.data());
  double expected = 0;
  for (index_t i = 0; i < count; ++i) {
    const preference_loss_value pair = consistency_dpo_loss(h[std::size_t(i)], consistency[std::size_t(i)], beta);
    expected += pair.loss / double(count);
    CHECK(dloss_dh[std::size_t(i)] == doctest::Approx(pair.dloss_dh / double(count)).epsilon(1e-15));
  }
  CHECK(mean == doctest::Approx(expected).epsilon(1e-14));
  CHECK(consistency_dpo_loss(h.data(), consistency.data(), count, beta, nullptr) == mean);
  const auto objective = [&] { return consistency_dpo_loss(h.data(), consistency.data(), count, beta, nullptr); };
  check_central_differences("h", h, dloss_dh, objective, 1e-8);
}

TEST_CASE("preference_margin: the difference of the two log-ratios") {
  // (−10 − (−12)) − (−9 − (−8)) = 2 − (−1) = 3
  CHECK(preference_margin(-10.0, -12.0, -9.0, -8.0) == 3.0);
  CHECK(preference_margin(-5.5, -5.5, -7.25, -7.25) == 0.0);
  CHECK(preference_margin(-1.0, -3.0, -4.0, -2.0) == 4.0);
}

TEST_CASE("consistency_dpo_loss: bad consistency, beta, h and sizes throw naming the argument") {
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, 1.5, 0.1), rescan::value_error, "consistency_dpo_loss",
                             "consistency = 1.5", "[0, 1]");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, -0.1, 0.1), rescan::value_error, "consistency = -0.1");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, std::nan(""), 0.1), rescan::value_error, "consistency = ");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, 0.5, 0.0), rescan::value_error, "beta = 0", "> 0");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, 0.5, -1.0), rescan::value_error, "beta = -1");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, 0.5, INFINITY), rescan::value_error, "beta = inf");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(1.0, 0.5, std::nan("")), rescan::value_error, "beta = ");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(-INFINITY, 0.5, 0.1), rescan::value_error, "h = -inf",
                             "must be finite");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(std::nan(""), 0.5, 0.1), rescan::value_error, "h = ");

  const std::vector<double> h = {1.0, std::nan(""), 2.0}, consistency = {0.5, 0.5, 2.0}, fine = {0.5, 0.5, 0.5};
  const std::vector<double> finite_h = {1.0, 2.0, 3.0};
  std::vector<double> grad(3);
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(h.data(), fine.data(), 3, 0.1, grad.data()), rescan::value_error,
                             "consistency_dpo_loss", "h[1] = ");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(finite_h.data(), consistency.data(), 3, 0.1, grad.data()),
                             rescan::value_error, "consistency[2] = 2", "[0, 1]");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(finite_h.data(), fine.data(), 0, 0.1, grad.data()),
                             rescan::value_error, "count = 0");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(finite_h.data(), fine.data(), 3, 0.0, grad.data()),
                             rescan::value_error, "beta = 0");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(nullptr, fine.data(), 3, 0.1, grad.data()), rescan::value_error,
                             "h is nullptr");
  NN_CHECK_THROWS_MENTIONING(consistency_dpo_loss(finite_h.data(), nullptr, 3, 0.1, grad.data()),
                             rescan::value_error, "consistency is nullptr");
}

}  // namespace rescan_examples::testing
