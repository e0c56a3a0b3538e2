// The selective-scan oracle (test/support/selective_scan_reference.hpp) checked on its own: its
// forward pass against values worked out by hand, its backward pass against central finite
// differences of the forward pass, for every input, with and without the optional ones.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/data.hpp"
#include "support/selective_scan_reference.hpp"

namespace rescan::testing {

TEST_CASE("selective scan reference: a two-step scan worked out by hand") {
  selective_scan_inputs in;
  in.length = 2;
  in.u = {1, 1};
  in.delta = {1, 1};           // Δ = 1
  in.A = {-std::log(2.0)};      // Ā = exp(Δ A) = 1/2
  in.B = {1, 1};                // b̄ = Δ B u = 1
  in.C = {2, 2};
  in.D = {0.5};
  const auto result = selective_scan_reference(in);
  // h_0 = 1, h_1 = 1/2 + 1 = 3/2; y_t = 2 h_t + 0.5 u_t.
  CHECK(result.out[0] == doctest::Approx(2.5));
  CHECK(result.out[1] == doctest::Approx(3.5));
  CHECK(result.last_state[0] == doctest::Approx(1.5));
  in.z = {0.0, 100.0};  // silu(0) = 0, silu(100) = 100
  in.h0 = {2.0};        // h_0 = 1/2 * 2 + 1 = 2, h_1 = 2
  const auto gated = selective_scan_reference(in);
  CHECK(gated.out[0] == doctest::Approx(0.0));
  CHECK(gated.out[1] == doctest::Approx(100.0 * (2 * 2.0 + 0.5)));
}

namespace {

selective_scan_inputs random_problem(bool variable, bool optional_inputs, bool softplus) {
  selective_scan_inputs in;
  in.batch = 2, in.dim = 4, in.length = 5, in.state = 3, in.groups = 2;
  in.variable_B = in.variable_C = variable;
  in.delta_softplus = softplus;
  const auto size = std::size_t(in.batch * in.dim * in.length);
  in.u = random_uniform<double>(size, -1, 1);
  in.delta = random_uniform<double>(size, softplus ? -2.0 : 0.05, softplus ? 1.0 : 0.5);
  in.A = random_uniform<double>(std::size_t(in.dim * in.state), -2, -0.1);
  const auto input_size = std::size_t(variable ? in.batch * in.groups * in.state * in.length : in.dim * in.state);
  in.B = random_uniform<double>(input_size, -1, 1);
  in.C = random_uniform<double>(input_size, -1, 1);
  if (optional_inputs) {
    in.D = random_uniform<double>(std::size_t(in.dim), -1, 1);
    in.z = random_uniform<double>(size, -2, 2);
    in.delta_bias = random_uniform<double>(std::size_t(in.dim), -0.5, 0.5);
    in.h0 = random_uniform<double>(std::size_t(in.batch * in.dim * in.state), -1, 1);
  }
  return in;
}

// Σ w·out + Σ v·last_state.
double loss(const selective_scan_inputs& in, const std::vector<double>& w, const std::vector<double>& v) {
  const auto result = selective_scan_reference(in);
  double total = 0;
  for (std::size_t i = 0; i < w.size(); ++i) total += w[i] * result.out[i];
  for (std::size_t i = 0; i < v.size(); ++i) total += v[i] * result.last_state[i];
  return total;
}

// Every entry of `gradient` against the central difference of the loss along that entry.
void check_against_finite_differences(selective_scan_inputs in, std::vector<double> selective_scan_inputs::*field,
                                      const std::vector<double>& gradient, const char* name,
                                      const std::vector<double>& w, const std::vector<double>& v) {
  REQUIRE(gradient.size() == (in.*field).size());
  const double eps = 1e-6;
  for (std::size_t i = 0; i < gradient.size(); ++i) {
    const double saved = (in.*field)[i];
    (in.*field)[i] = saved + eps;
    const double up = loss(in, w, v);
    (in.*field)[i] = saved - eps;
    const double down = loss(in, w, v);
    (in.*field)[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    INFO(name << "[" << i << "]: analytic " << gradient[i] << ", numeric " << numeric);
    CHECK(std::fabs(gradient[i] - numeric) <= 1e-6 + 1e-5 * std::fabs(numeric));
  }
}

}  // namespace

TEST_CASE("selective scan reference: the backward pass matches finite differences of the forward pass") {
  for (bool variable : {true, false}) {
    for (bool optional_inputs : {false, true}) {
      for (bool softplus : {false, true}) {
        CAPTURE(variable);
        CAPTURE(optional_inputs);
        CAPTURE(softplus);
        const auto in = random_problem(variable, optional_inputs, softplus);
        const auto w = random_uniform<double>(in.u.size(), -1, 1);
        const auto v = optional_inputs ? random_uniform<double>(std::size_t(in.batch * in.dim * in.state), -1, 1)
                                       : std::vector<double>{};
        const auto g = selective_scan_reference_backward(in, w, v);
        using S = selective_scan_inputs;
        check_against_finite_differences(in, &S::u, g.du, "du", w, v);
        check_against_finite_differences(in, &S::delta, g.ddelta, "ddelta", w, v);
        check_against_finite_differences(in, &S::A, g.dA, "dA", w, v);
        check_against_finite_differences(in, &S::B, g.dB, "dB", w, v);
        check_against_finite_differences(in, &S::C, g.dC, "dC", w, v);
        check_against_finite_differences(in, &S::D, g.dD, "dD", w, v);
        check_against_finite_differences(in, &S::z, g.dz, "dz", w, v);
        check_against_finite_differences(in, &S::delta_bias, g.ddelta_bias, "ddelta_bias", w, v);
        check_against_finite_differences(in, &S::h0, g.dh0, "dh0", w, v);
      }
    }
  }
}

}  // namespace rescan::testing
