// The Mamba-1 selective scan (S6) as plain loops in double precision: the oracle the selective
// scan kernels are tested against (test/support/selective_scan_cases.hpp extends it to the
// reverse direction and packed sequences). Formulas: docs/selective_scan.md. Shapes follow
// mamba_ssm, all row-major:
//   u, delta, z: (batch, dim, L)   A: (dim, N)   B, C: (batch, groups, N, L) or (dim, N) when constant
//   D, delta_bias: (dim)           h0, last_state: (batch, dim, N)   out: (batch, dim, L)
// Empty vectors mean "not given" for D, z, delta_bias and h0.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan::testing {

struct selective_scan_inputs {
  index_t batch = 1, dim = 1, length = 1, state = 1, groups = 1;
  bool variable_B = true, variable_C = true, delta_softplus = false;
  std::vector<double> u, delta, A, B, C, D, z, delta_bias, h0;

  std::size_t at(index_t b, index_t d, index_t t) const { return std::size_t((b * dim + d) * length + t); }
  std::size_t state_at(index_t b, index_t d, index_t n) const { return std::size_t((b * dim + d) * state + n); }
  // B or C at (b, d, n, t), variable (its group) or constant.
  std::size_t input_at(bool variable, index_t b, index_t d, index_t n, index_t t) const {
    const index_t group = d / (dim / groups);
    return variable ? std::size_t(((b * groups + group) * state + n) * length + t) : std::size_t(d * state + n);
  }
};

struct selective_scan_outputs {
  std::vector<double> out, last_state;
};

struct selective_scan_gradients {
  std::vector<double> du, ddelta, dA, dB, dC, dD, dz, ddelta_bias, dh0;
};

// Δ after the bias and the optional softplus (pass-through above 20), and dΔ/d(delta).
inline double selective_scan_delta(const selective_scan_inputs& in, index_t b, index_t d, index_t t,
                                   double* derivative = nullptr) {
  const double raw = in.delta[in.at(b, d, t)] + (in.delta_bias.empty() ? 0.0 : in.delta_bias[std::size_t(d)]);
  if (!in.delta_softplus || raw > 20.0) {
    if (derivative) *derivative = 1.0;
    return raw;
  }
  if (derivative) *derivative = 1.0 / (1.0 + std::exp(-raw));
  return std::log1p(std::exp(raw));
}

// The states h_t for t = -1 .. L-1 of one (b, d) row: (L + 1, N), row 0 is h_{-1} = h0 (or 0).
inline std::vector<double> selective_scan_states(const selective_scan_inputs& in, index_t b, index_t d) {
  std::vector<double> h(std::size_t((in.length + 1) * in.state), 0.0);
  for (index_t n = 0; n < in.state; ++n) h[std::size_t(n)] = in.h0.empty() ? 0.0 : in.h0[in.state_at(b, d, n)];
  for (index_t t = 0; t < in.length; ++t) {
    const double step = selective_scan_delta(in, b, d, t);
    const double u = in.u[in.at(b, d, t)];
    for (index_t n = 0; n < in.state; ++n) {
      const double decay = std::exp(step * in.A[std::size_t(d * in.state + n)]);
      const double input = step * in.B[in.input_at(in.variable_B, b, d, n, t)] * u;
      h[std::size_t((t + 1) * in.state + n)] = decay * h[std::size_t(t * in.state + n)] + input;
    }
  }
  return h;
}

// y_t = Σ_n C_t h_t + D u_t (before the z gate).
inline double selective_scan_y(const selective_scan_inputs& in, const std::vector<double>& h, index_t b, index_t d,
                               index_t t) {
  double y = in.D.empty() ? 0.0 : in.D[std::size_t(d)] * in.u[in.at(b, d, t)];
  for (index_t n = 0; n < in.state; ++n) {
    y += in.C[in.input_at(in.variable_C, b, d, n, t)] * h[std::size_t((t + 1) * in.state + n)];
  }
  return y;
}

inline selective_scan_outputs selective_scan_reference(const selective_scan_inputs& in) {
  selective_scan_outputs result{std::vector<double>(in.u.size()),
                                std::vector<double>(std::size_t(in.batch * in.dim * in.state))};
  for (index_t b = 0; b < in.batch; ++b) {
    for (index_t d = 0; d < in.dim; ++d) {
      const auto h = selective_scan_states(in, b, d);
      for (index_t t = 0; t < in.length; ++t) {
        const double y = selective_scan_y(in, h, b, d, t);
        const double gate = in.z.empty() ? 1.0 : in.z[in.at(b, d, t)] / (1.0 + std::exp(-in.z[in.at(b, d, t)]));
        result.out[in.at(b, d, t)] = y * gate;
      }
      for (index_t n = 0; n < in.state; ++n) {
        result.last_state[in.state_at(b, d, n)] = h[std::size_t(in.length * in.state + n)];
      }
    }
  }
  return result;
}

// Gradients of Σ dout·out + Σ dlast_state·last_state (dlast_state may be empty) with respect to
// every input, by the reverse scan of DESIGN.md §5.
inline selective_scan_gradients selective_scan_reference_backward(const selective_scan_inputs& in,
                                                                  const std::vector<double>& dout,
                                                                  const std::vector<double>& dlast_state) {
  selective_scan_gradients g;
  g.du.assign(in.u.size(), 0.0);
  g.ddelta.assign(in.delta.size(), 0.0);
  g.dA.assign(in.A.size(), 0.0);
  g.dB.assign(in.B.size(), 0.0);
  g.dC.assign(in.C.size(), 0.0);
  g.dD.assign(in.D.size(), 0.0);
  g.dz.assign(in.z.size(), 0.0);
  g.ddelta_bias.assign(in.delta_bias.size(), 0.0);
  g.dh0.assign(in.h0.size(), 0.0);
  const auto N = std::size_t(in.state);
  for (index_t b = 0; b < in.batch; ++b) {
    for (index_t d = 0; d < in.dim; ++d) {
      const auto h = selective_scan_states(in, b, d);
      std::vector<double> dh(N, 0.0);  // d loss / d h_t, carried backwards
      if (!dlast_state.empty()) {
        for (index_t n = 0; n < in.state; ++n) dh[std::size_t(n)] = dlast_state[in.state_at(b, d, n)];
      }
      for (index_t t = in.length - 1; t >= 0; --t) {
        const std::size_t i = in.at(b, d, t);
        double gy = dout[i];  // d loss / d y_t
        if (!in.z.empty()) {
          const double z = in.z[i], sigma = 1.0 / (1.0 + std::exp(-z));
          g.dz[i] = dout[i] * selective_scan_y(in, h, b, d, t) * sigma * (1.0 + z * (1.0 - sigma));
          gy = dout[i] * z * sigma;
        }
        double softplus_derivative = 1.0;
        const double step = selective_scan_delta(in, b, d, t, &softplus_derivative);
        const double u = in.u[i];
        if (!in.D.empty()) {
          g.du[i] += in.D[std::size_t(d)] * gy;
          g.dD[std::size_t(d)] += gy * u;
        }
        double dstep = 0.0;
        for (index_t n = 0; n < in.state; ++n) {
          const std::size_t b_index = in.input_at(in.variable_B, b, d, n, t);
          const std::size_t c_index = in.input_at(in.variable_C, b, d, n, t);
          const double a = in.A[std::size_t(d * in.state + n)];
          const double decay = std::exp(step * a);
          const double previous = h[std::size_t(t) * N + std::size_t(n)];
          g.dC[c_index] += gy * h[std::size_t(t + 1) * N + std::size_t(n)];
          double& dh_n = dh[std::size_t(n)];
          dh_n += gy * in.C[c_index];                      // dh_t now complete
          g.du[i] += dh_n * step * in.B[b_index];
          g.dB[b_index] += dh_n * step * u;
          g.dA[std::size_t(d * in.state + n)] += dh_n * step * decay * previous;
          dstep += dh_n * (in.B[b_index] * u + a * decay * previous);
          dh_n *= decay;                                   // becomes dh_{t-1}
        }
        g.ddelta[i] = dstep * softplus_derivative;
        if (!in.delta_bias.empty()) g.ddelta_bias[std::size_t(d)] += g.ddelta[i];
      }
      if (!in.h0.empty()) {
        for (index_t n = 0; n < in.state; ++n) g.dh0[in.state_at(b, d, n)] = dh[std::size_t(n)];
      }
    }
  }
  return g;
}

}  // namespace rescan::testing
