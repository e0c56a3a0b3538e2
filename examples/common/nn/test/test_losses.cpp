// cross_entropy (with label smoothing), kl_distillation and count_correct: values by hand and by
// plain loops, gradients against central differences.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

#include "common/nn/losses.hpp"
#include "nn_test_support.hpp"

namespace rescan_examples::testing {
namespace {

// log softmax of one row, plain loops.
std::vector<double> log_softmax(const double* x, index_t classes) {
  double sum = 0;
  for (index_t c = 0; c < classes; ++c) sum += std::exp(x[c]);
  std::vector<double> result(static_cast<std::size_t>(classes));
  for (index_t c = 0; c < classes; ++c) result[std::size_t(c)] = x[c] - std::log(sum);
  return result;
}

}  // namespace

TEST_CASE("cross_entropy: a hand-computed value") {
  const std::vector<double> logits = {1, 2, 3};
  const std::vector<std::int32_t> label = {2};
  // −log softmax_2 = log(e + e² + e³) − 3
  CHECK(cross_entropy(logits.data(), label.data(), 1, 3, 0.0, nullptr) ==
        doctest::Approx(0.40760596444438).epsilon(1e-12));
  // ε = 0.3: q = (0.1, 0.1, 0.8); loss = lse − (0.1 · 1 + 0.1 · 2 + 0.8 · 3) = 3.40760596 − 2.7
  CHECK(cross_entropy(logits.data(), label.data(), 1, 3, 0.3, nullptr) ==
        doctest::Approx(0.70760596444438).epsilon(1e-12));
}

TEST_CASE("cross_entropy: mean over rows against plain loops and its gradient against central differences") {
  for (const double smoothing : {0.0, 0.1}) {
    CAPTURE(smoothing);
    const index_t rows = 4, classes = 5;
    random_generator random(20);
    std::vector<double> logits = random_values(random, rows * classes, 3.0);
    const std::vector<std::int32_t> labels = {0, 4, 2, 2};
    double expected = 0;
    for (index_t r = 0; r < rows; ++r) {
      const std::vector<double> log_p = log_softmax(&logits[std::size_t(r * classes)], classes);
      for (index_t c = 0; c < classes; ++c) {
        const double target = smoothing / double(classes) + (c == labels[std::size_t(r)] ? 1 - smoothing : 0.0);
        expected -= target * log_p[std::size_t(c)] / double(rows);
      }
    }
    const double scale = 2.5;
    std::vector<double> dlogits(logits.size());
    const double loss = cross_entropy(logits.data(), labels.data(), rows, classes, smoothing, dlogits.data(), scale);
    CHECK(loss == doctest::Approx(expected).epsilon(1e-12));
    const auto objective = [&] {
      return scale * cross_entropy(logits.data(), labels.data(), rows, classes, smoothing, nullptr);
    };
    check_central_differences("logits", logits, dlogits, objective, 1e-8);
  }
}

TEST_CASE("cross_entropy: float logits, large logits stay finite") {
  const std::vector<float> logits = {1000.0f, 0.0f, -1000.0f, 0.5f, 0.5f, 0.5f};
  const std::vector<std::int32_t> labels = {0, 1};
  std::vector<float> dlogits(6);
  const double loss = cross_entropy(logits.data(), labels.data(), 2, 3, 0.0, dlogits.data());
  // Row 0: loss 0 (softmax one-hot on the label). Row 1: log 3.
  CHECK(loss == doctest::Approx(std::log(3.0) / 2).epsilon(1e-6));
  CHECK(dlogits[0] == doctest::Approx(0.0));
  CHECK(dlogits[4] == doctest::Approx((1.0 / 3 - 1) / 2).epsilon(1e-6));
}

TEST_CASE("kl_distillation: against plain loops, gradient against central differences") {
  for (const double temperature : {1.0, 2.0}) {
    CAPTURE(temperature);
    const index_t rows = 3, classes = 4;
    random_generator random(21);
    std::vector<double> student = random_values(random, rows * classes, 3.0);
    const std::vector<double> teacher = random_values(random, rows * classes, 3.0);
    double expected = 0;
    for (index_t r = 0; r < rows; ++r) {
      std::vector<double> s(static_cast<std::size_t>(classes)), t(static_cast<std::size_t>(classes));
      for (index_t c = 0; c < classes; ++c) {
        s[std::size_t(c)] = student[std::size_t(r * classes + c)] / temperature;
        t[std::size_t(c)] = teacher[std::size_t(r * classes + c)] / temperature;
      }
      const std::vector<double> log_q = log_softmax(s.data(), classes), log_p = log_softmax(t.data(), classes);
      for (index_t c = 0; c < classes; ++c) {
        expected += temperature * temperature * std::exp(log_p[std::size_t(c)]) *
                    (log_p[std::size_t(c)] - log_q[std::size_t(c)]) / double(rows);
      }
    }
    const double scale = 0.7;
    std::vector<double> dstudent(student.size());
    const double loss =
        kl_distillation(student.data(), teacher.data(), rows, classes, temperature, dstudent.data(), scale);
    CHECK(loss == doctest::Approx(expected).epsilon(1e-12));
    CHECK(loss > 0);
    const auto objective = [&] {
      return scale * kl_distillation(student.data(), teacher.data(), rows, classes, temperature, nullptr);
    };
    check_central_differences("student_logits", student, dstudent, objective, 1e-8);
  }
}

TEST_CASE("kl_distillation: zero when the student equals the teacher, finite with a one-hot teacher") {
  const std::vector<double> logits = {0.3, -1.0, 2.0, 0.0, 0.0, 0.0};
  std::vector<double> dstudent(6, 9.0);
  CHECK(kl_distillation(logits.data(), logits.data(), 2, 3, 2.0, dstudent.data()) == doctest::Approx(0.0));
  for (const double g : dstudent) CHECK(g == doctest::Approx(0.0));
  // A teacher that rules classes out (−inf): p log p → 0 there, not 0 · −inf = NaN.
  const std::vector<double> one_hot_teacher = {0.0, -INFINITY, -INFINITY};
  const double loss = kl_distillation(logits.data(), one_hot_teacher.data(), 1, 3, 1.0, dstudent.data());
  CHECK(std::isfinite(loss));
  CHECK(loss == doctest::Approx(-log_softmax(logits.data(), 3)[0]).epsilon(1e-12));
  const std::vector<double> q = {std::exp(log_softmax(logits.data(), 3)[0]),
                                 std::exp(log_softmax(logits.data(), 3)[1])};
  CHECK(dstudent[0] == doctest::Approx(q[0] - 1).epsilon(1e-12));
  CHECK(dstudent[1] == doctest::Approx(q[1]).epsilon(1e-12));
}

TEST_CASE("count_correct: argmax against labels, first index on ties") {
  const std::vector<float> logits = {0.1f, 0.9f, 0.0f,  //
                                     2.0f, 2.0f, 1.0f,  // tie: argmax 0
                                     0.0f, 0.0f, 5.0f};
  CHECK(count_correct(logits.data(), std::vector<std::int32_t>{1, 0, 2}.data(), 3, 3) == 3);
  CHECK(count_correct(logits.data(), std::vector<std::int32_t>{1, 1, 0}.data(), 3, 3) == 1);
}

TEST_CASE("losses: bad labels, sizes and options throw naming the argument") {
  const std::vector<double> logits = {1, 2, 3, 4};
  std::vector<double> grad(4);
  const std::vector<std::int32_t> bad_label = {0, 2}, good = {0, 1};
  NN_CHECK_THROWS_MENTIONING(cross_entropy(logits.data(), bad_label.data(), 2, 2, 0.0, grad.data()),
                             rescan::value_error, "cross_entropy", "labels[1] = 2", "[0, 2)");
  const std::vector<std::int32_t> negative = {-1, 0};
  NN_CHECK_THROWS_MENTIONING(count_correct(logits.data(), negative.data(), 2, 2), rescan::value_error, "count_correct",
                             "labels[0] = -1");
  NN_CHECK_THROWS_MENTIONING(cross_entropy(logits.data(), good.data(), 2, 2, 1.5, grad.data()), rescan::value_error,
                             "label_smoothing = 1.5");
  NN_CHECK_THROWS_MENTIONING(cross_entropy(logits.data(), good.data(), 0, 2, 0.0, grad.data()), rescan::value_error,
                             "rows = 0");
  NN_CHECK_THROWS_MENTIONING(cross_entropy(logits.data(), good.data(), 2, 0, 0.0, grad.data()), rescan::value_error,
                             "classes = 0");
  NN_CHECK_THROWS_MENTIONING(cross_entropy(static_cast<const double*>(nullptr), good.data(), 2, 2, 0.0, grad.data()),
                             rescan::value_error, "logits is nullptr");
  NN_CHECK_THROWS_MENTIONING(kl_distillation(logits.data(), logits.data(), 2, 2, 0.0, grad.data()), rescan::value_error,
                             "kl_distillation", "temperature = 0");
  NN_CHECK_THROWS_MENTIONING(
      kl_distillation(logits.data(), static_cast<const double*>(nullptr), 2, 2, 1.0, grad.data()), rescan::value_error,
      "teacher_logits is nullptr");
}

}  // namespace rescan_examples::testing
