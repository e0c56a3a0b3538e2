// linear and add_rms_norm: forward against plain loops, backward against central differences.
#include <doctest/doctest.h>

#include <cmath>

#include "common/nn/add_rms_norm.hpp"
#include "common/nn/linear.hpp"
#include "nn_test_support.hpp"

namespace rescan_examples::testing {

TEST_CASE("linear: forward is x Wᵀ + b, backward matches central differences") {
  for (const bool with_bias : {false, true}) {
    CAPTURE(with_bias);
    const index_t rows = 5, in = 3, out = 4;
    parameter_set<double> params;
    linear<double> layer(params, "head", in, out, with_bias);
    random_generator random(1);
    layer.init_default(random);
    std::vector<double> x = random_values(random, rows * in), y(std::size_t(rows * out));
    const std::vector<double> w = random_values(random, rows * out);

    layer.forward(x.data(), rows, y.data(), pass::training);
    const std::vector<double>& W = layer.weight().value;
    for (index_t r = 0; r < rows; ++r) {
      for (index_t o = 0; o < out; ++o) {
        double expected = with_bias ? layer.bias()->value[std::size_t(o)] : 0.0;
        for (index_t i = 0; i < in; ++i) expected += x[std::size_t(r * in + i)] * W[std::size_t(o * in + i)];
        CHECK(y[std::size_t(r * out + o)] == doctest::Approx(expected).epsilon(1e-14));
      }
    }

    std::vector<double> dx(x.size());
    layer.backward(w.data(), dx.data());
    const auto objective = [&] {
      layer.forward(x.data(), rows, y.data(), pass::inference);
      return dot(w, y);
    };
    check_parameter_gradients(params, objective);
    check_central_differences("x", x, dx, objective);
    CHECK(params.count() == (with_bias ? 2 : 1));
  }
}

TEST_CASE("linear: gradients accumulate over calls, dx may be skipped, rows 0 is a no-op") {
  parameter_set<float> params;
  linear<float> layer(params, "fc", 2, 2, true);
  const std::vector<float> x = {1, 2, 3, 4}, dy = {1, 0, 0, 1};
  std::vector<float> y(4);
  for (int call = 0; call < 2; ++call) {
    layer.forward(x.data(), 2, y.data(), pass::training);
    layer.backward(dy.data(), nullptr);
  }
  // dW = 2 · dyᵀ x = 2 · [[1, 2], [3, 4]], db = 2 · [1, 1].
  CHECK(layer.weight().grad == std::vector<float>{2, 4, 6, 8});
  CHECK(layer.bias()->grad == std::vector<float>{2, 2});
  layer.forward(nullptr, 0, nullptr, pass::training);
  layer.backward(nullptr, nullptr);
  CHECK(layer.weight().grad == std::vector<float>{2, 4, 6, 8});
}

TEST_CASE("linear: a conv-shaped weight, PyTorch's default init range") {
  parameter_set<float> params;
  linear<float> patch(params, "patch_embed.proj", 1 * 4 * 4, 8, true, {8, 1, 4, 4});
  CHECK(patch.weight().shape == std::vector<index_t>{8, 1, 4, 4});
  CHECK(patch.weight().size() == 128);
  CHECK_FALSE(patch.bias()->weight_decay);
  random_generator random(2);
  patch.init_default(random);
  float largest = 0;
  for (const float v : patch.weight().value) largest = std::max(largest, std::abs(v));
  for (const float v : patch.bias()->value) largest = std::max(largest, std::abs(v));
  CHECK(largest <= 0.25f);  // 1 / sqrt(16)
  CHECK(largest > 0.2f);    // 136 draws reach near the bound
}

TEST_CASE("linear: bad sizes and a backward without a training forward throw") {
  parameter_set<float> params;
  NN_CHECK_THROWS_MENTIONING(linear<float>(params, "a", 0, 3, true), rescan::value_error, "linear(\"a\")", "in = 0");
  NN_CHECK_THROWS_MENTIONING(linear<float>(params, "b", 3, -1, true), rescan::value_error, "out = -1");
  NN_CHECK_THROWS_MENTIONING(linear<float>(params, "c", 3, 2, true, {2, 2, 2}), rescan::shape_error, "linear(\"c\")",
                             "8 elements", "need 6");
  NN_CHECK_THROWS_MENTIONING(linear<float>(params, "d", 3, 2, true, {3, 2}), rescan::shape_error, "first extent 3");
  linear<float> layer(params, "e", 2, 2, false);
  std::vector<float> x(4, 1.0f), y(4), dx(4);
  NN_CHECK_THROWS_MENTIONING(layer.backward(y.data(), dx.data()), rescan::value_error, "linear::backward",
                             "no training forward");
  layer.forward(x.data(), 2, y.data(), pass::inference);
  NN_CHECK_THROWS_MENTIONING(layer.backward(y.data(), dx.data()), rescan::value_error, "no training forward");
  layer.forward(x.data(), 2, y.data(), pass::training);
  layer.backward(y.data(), dx.data());
  NN_CHECK_THROWS_MENTIONING(layer.backward(y.data(), dx.data()), rescan::value_error, "no training forward");
  NN_CHECK_THROWS_MENTIONING(layer.forward(x.data(), -1, y.data(), pass::training), rescan::value_error, "rows = -1");
  NN_CHECK_THROWS_MENTIONING(layer.forward(nullptr, 2, y.data(), pass::training), rescan::value_error, "x is nullptr");
  linear<float> empty;
  NN_CHECK_THROWS_MENTIONING(empty.forward(x.data(), 2, y.data(), pass::training), rescan::value_error,
                             "default-constructed");
}

TEST_CASE("add_rms_norm: forward against plain loops, in place on the residual") {
  const index_t rows = 3, width = 5;
  parameter_set<double> params;
  add_rms_norm<double> norm(params, "norm", width, 1e-5);
  CHECK(norm.weight().value == std::vector<double>(5, 1.0));
  CHECK_FALSE(norm.weight().weight_decay);
  random_generator random(3);
  norm.weight().value = random_values(random, width);
  const std::vector<double> hidden = random_values(random, rows * width),
                            residual = random_values(random, rows * width);
  std::vector<double> residual_out(hidden.size()), normed(hidden.size());
  norm.forward(hidden.data(), residual.data(), rows, residual_out.data(), normed.data(), pass::inference);
  for (index_t r = 0; r < rows; ++r) {
    double mean_square = 0;
    for (index_t i = 0; i < width; ++i) {
      const double s = hidden[std::size_t(r * width + i)] + residual[std::size_t(r * width + i)];
      mean_square += s * s / double(width);
    }
    for (index_t i = 0; i < width; ++i) {
      const auto k = std::size_t(r * width + i);
      CHECK(residual_out[k] == doctest::Approx(hidden[k] + residual[k]).epsilon(1e-15));
      CHECK(normed[k] ==
            doctest::Approx(residual_out[k] / std::sqrt(mean_square + 1e-5) * norm.weight().value[std::size_t(i)])
                .epsilon(1e-13));
    }
  }
  std::vector<double> in_place = residual, normed_in_place(hidden.size());
  norm.forward(hidden.data(), in_place.data(), rows, in_place.data(), normed_in_place.data(), pass::inference);
  CHECK(in_place == residual_out);
  CHECK(normed_in_place == normed);
}

TEST_CASE("add_rms_norm: backward matches central differences, with and without residual_in and dresidual_out") {
  for (const bool with_residual : {false, true}) {
    for (const bool with_dresidual : {false, true}) {
      CAPTURE(with_residual);
      CAPTURE(with_dresidual);
      const index_t rows = 4, width = 6;
      parameter_set<double> params;
      add_rms_norm<double> norm(params, "layers.0.norm", width);
      random_generator random(4);
      norm.weight().value = random_values(random, width);
      std::vector<double> hidden = random_values(random, rows * width), residual = random_values(random, rows * width);
      const std::vector<double> w_normed = random_values(random, rows * width);
      const std::vector<double> w_residual =
          with_dresidual ? random_values(random, rows * width) : std::vector<double>(hidden.size(), 0.0);
      std::vector<double> residual_out(hidden.size()), normed(hidden.size()), dsum(hidden.size());
      const double* residual_in = with_residual ? residual.data() : nullptr;
      norm.forward(hidden.data(), residual_in, rows, residual_out.data(), normed.data(), pass::training);
      norm.backward(w_normed.data(), with_dresidual ? w_residual.data() : nullptr, dsum.data());
      const auto objective = [&] {
        norm.forward(hidden.data(), with_residual ? residual.data() : nullptr, rows, residual_out.data(), normed.data(),
                     pass::inference);
        return dot(w_normed, normed) + dot(w_residual, residual_out);
      };
      check_parameter_gradients(params, objective);
      check_central_differences("hidden", hidden, dsum, objective);
      // A second training step adds to the weight's gradient.
      const std::vector<double> first_grad = norm.weight().grad;
      norm.forward(hidden.data(), residual_in, rows, residual_out.data(), normed.data(), pass::training);
      norm.backward(w_normed.data(), with_dresidual ? w_residual.data() : nullptr, dsum.data());
      for (std::size_t i = 0; i < first_grad.size(); ++i)
        CHECK(norm.weight().grad[i] == doctest::Approx(2 * first_grad[i]));
      if (with_residual) check_central_differences("residual_in", residual, dsum, objective);
    }
  }
}

TEST_CASE("add_rms_norm: bad sizes and a backward without a training forward throw") {
  parameter_set<float> params;
  NN_CHECK_THROWS_MENTIONING(add_rms_norm<float>(params, "n", 0), rescan::value_error, "add_rms_norm(\"n\")",
                             "width = 0");
  NN_CHECK_THROWS_MENTIONING(add_rms_norm<float>(params, "n", 4, 0.0), rescan::value_error, "eps = 0");
  add_rms_norm<float> norm(params, "n", 2);
  std::vector<float> a(4, 1.0f), b(4), c(4);
  NN_CHECK_THROWS_MENTIONING(norm.backward(a.data(), nullptr, b.data()), rescan::value_error, "add_rms_norm::backward",
                             "no training forward");
  norm.forward(a.data(), nullptr, 2, b.data(), c.data(), pass::inference);
  NN_CHECK_THROWS_MENTIONING(norm.backward(a.data(), nullptr, b.data()), rescan::value_error, "no training forward");
  NN_CHECK_THROWS_MENTIONING(norm.forward(a.data(), nullptr, 2, nullptr, c.data(), pass::training), rescan::value_error,
                             "residual_out is nullptr");
  norm.forward(a.data(), nullptr, 2, b.data(), c.data(), pass::training);
  NN_CHECK_THROWS_MENTIONING(norm.backward(a.data(), nullptr, nullptr), rescan::value_error, "dsum is nullptr");
  norm.backward(a.data(), nullptr, b.data());  // the failed call kept the saved activations
}

}  // namespace rescan_examples::testing
