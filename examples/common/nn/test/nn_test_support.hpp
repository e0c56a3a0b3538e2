// What the nn tests share: random buffers, the scalar objective Σ w · out, central differences of
// it against a hand-written backward pass, and a check that an error's message names its cause.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/nn/parameter.hpp"
#include "common/nn/random.hpp"

namespace rescan_examples::testing {

// count values uniform in [-scale, scale).
inline std::vector<double> random_values(random_generator& random, index_t count, double scale = 1.0) {
  std::vector<double> values(static_cast<std::size_t>(count));
  for (double& v : values) v = random.uniform(-scale, scale);
  return values;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// For every i, compares analytic[i] with (objective(values_i + h) − objective(values_i − h)) / 2h,
// restoring values[i] after. |difference| <= tolerance · (1 + |analytic|) must hold everywhere;
// the worst element is reported.
inline void check_central_differences(const std::string& what, std::vector<double>& values,
                                      const std::vector<double>& analytic, const std::function<double()>& objective,
                                      double tolerance = 1e-6, double step = 1e-5) {
  REQUIRE(values.size() == analytic.size());
  double worst = 0;
  std::size_t worst_index = 0;
  double worst_numeric = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double saved = values[i];
    values[i] = saved + step;
    const double above = objective();
    values[i] = saved - step;
    const double below = objective();
    values[i] = saved;
    const double numeric = (above - below) / (2 * step);
    const double error = std::abs(numeric - analytic[i]) / (1 + std::abs(analytic[i]));
    if (!(error <= worst)) {  // NaN counts as the worst
      worst = std::isnan(error) ? INFINITY : error;
      worst_index = i;
      worst_numeric = numeric;
    }
  }
  INFO(what << ": worst element " << worst_index << " of " << values.size() << ", numeric " << worst_numeric
            << ", analytic " << (analytic.empty() ? 0.0 : analytic[worst_index]));
  CHECK(worst <= tolerance);
}

// Every parameter of params against central differences of objective. Grads must hold the
// analytic gradient already.
inline void check_parameter_gradients(parameter_set<double>& params, const std::function<double()>& objective,
                                      double tolerance = 1e-6) {
  for (parameter<double>& p : params) check_central_differences(p.name, p.value, p.grad, objective, tolerance);
}

// Adds noise U(±scale) to every parameter value (so no two channels are alike after init).
inline void perturb_parameters(parameter_set<double>& params, random_generator& random, double scale) {
  for (parameter<double>& p : params) {
    for (double& v : p.value) v += random.uniform(-scale, scale);
  }
}

}  // namespace rescan_examples::testing

// expression throws error_type whose message contains every fragment.
#define NN_CHECK_THROWS_MENTIONING(expression, error_type, ...)                            \
  do {                                                                                     \
    bool nn_thrown = false;                                                                \
    try {                                                                                  \
      expression;                                                                          \
    } catch (const error_type& nn_error) {                                                 \
      nn_thrown = true;                                                                    \
      const std::string nn_message = nn_error.what();                                      \
      for (const char* nn_fragment : {__VA_ARGS__}) {                                      \
        CHECK_MESSAGE(nn_message.find(nn_fragment) != std::string::npos,                   \
                      "message \"" << nn_message << "\" lacks \"" << nn_fragment << "\""); \
      }                                                                                    \
    }                                                                                      \
    CHECK_MESSAGE(nn_thrown, #expression " did not throw " #error_type);                   \
  } while (false)
