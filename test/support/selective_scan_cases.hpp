// Selective-scan test cases: random inputs of a given shape and feature set, and the oracle of
// test/support/selective_scan_reference.hpp extended to the reverse direction and to packed
// sequences by transforming the inputs (reverse time, cut out each sequence) and calling the
// plain oracle on each piece.
#pragma once

#include <algorithm>
#include <vector>

#include "support/data.hpp"
#include "support/selective_scan_reference.hpp"

namespace rescan::testing {

struct selective_scan_case {
  index_t batch = 1, dim = 1, length = 1, state = 1, groups = 1;
  bool variable_B = true, variable_C = true, D = true, z = true, delta_bias = true, softplus = true, h0 = true;
  bool reverse = false;
  std::vector<index_t> offsets;  // packed sequences (batch 1), empty: none

  index_t states() const { return offsets.empty() ? batch : index_t(offsets.size()) - 1; }
};

// A list of cases built one by one: add(...) appends a case with every feature on and returns it
// to be adjusted (the reference is valid until the next add).
struct selective_scan_case_list {
  std::vector<selective_scan_case> cases;
  selective_scan_case& add(index_t batch, index_t dim, index_t length, index_t state, index_t groups) {
    selective_scan_case c;
    c.batch = batch, c.dim = dim, c.length = length, c.state = state, c.groups = groups;
    cases.push_back(c);
    return cases.back();
  }
};

inline std::ostream& operator<<(std::ostream& out, const selective_scan_case& c) {
  out << "batch " << c.batch << ", dim " << c.dim << ", L " << c.length << ", N " << c.state << ", groups "
      << c.groups << (c.variable_B ? ", variable B" : ", constant B") << (c.variable_C ? ", variable C" : ", constant C")
      << (c.D ? ", D" : "") << (c.z ? ", z" : "") << (c.delta_bias ? ", delta_bias" : "")
      << (c.softplus ? ", softplus" : "") << (c.h0 ? ", h0" : "") << (c.reverse ? ", reverse" : "")
      << (c.offsets.empty() ? "" : ", packed");
  return out;
}

// Inputs in the ranges mamba_ssm's tests use: A < 0, Δ around 0.1 .. 1.
inline selective_scan_inputs random_selective_scan_inputs(const selective_scan_case& c) {
  selective_scan_inputs in;
  in.batch = c.batch, in.dim = c.dim, in.length = c.length, in.state = c.state, in.groups = c.groups;
  in.variable_B = c.variable_B, in.variable_C = c.variable_C, in.delta_softplus = c.softplus;
  const auto count = [](index_t n) { return std::size_t(n); };
  const index_t sequence_values = c.batch * c.dim * c.length;
  const index_t input_values = c.batch * c.groups * c.state * c.length;
  in.u = random_uniform<double>(count(sequence_values), -1.0, 1.0);
  in.delta = c.softplus ? random_uniform<double>(count(sequence_values), -3.0, 1.0)
                        : random_uniform<double>(count(sequence_values), 0.05, 1.0);
  in.A = random_uniform<double>(count(c.dim * c.state), -2.0, -0.05);
  in.B = random_uniform<double>(count(c.variable_B ? input_values : c.dim * c.state), -1.0, 1.0);
  in.C = random_uniform<double>(count(c.variable_C ? input_values : c.dim * c.state), -1.0, 1.0);
  if (c.D) in.D = random_uniform<double>(count(c.dim), -1.0, 1.0);
  if (c.z) in.z = random_uniform<double>(count(sequence_values), -2.0, 2.0);
  if (c.delta_bias) in.delta_bias = random_uniform<double>(count(c.dim), -0.5, 0.5);
  if (c.h0) in.h0 = random_uniform<double>(count(c.states() * c.dim * c.state), -1.0, 1.0);
  return in;
}

// Positions [begin, begin + n) of every time axis (batch 1), with the given initial state index.
inline selective_scan_inputs slice_in_time(const selective_scan_inputs& in, index_t begin, index_t n, index_t state) {
  selective_scan_inputs out = in;
  out.length = n;
  const auto cut = [&](const std::vector<double>& x, index_t rows) {
    std::vector<double> y;
    for (index_t r = 0; r < rows; ++r) {
      y.insert(y.end(), x.begin() + std::ptrdiff_t(r * in.length + begin), x.begin() + std::ptrdiff_t(r * in.length + begin + n));
    }
    return y;
  };
  out.u = cut(in.u, in.dim);
  out.delta = cut(in.delta, in.dim);
  if (!in.z.empty()) out.z = cut(in.z, in.dim);
  if (in.variable_B) out.B = cut(in.B, in.groups * in.state);
  if (in.variable_C) out.C = cut(in.C, in.groups * in.state);
  if (!in.h0.empty()) {
    out.h0.assign(in.h0.begin() + std::ptrdiff_t(state * in.dim * in.state),
                  in.h0.begin() + std::ptrdiff_t((state + 1) * in.dim * in.state));
  }
  return out;
}

// Rows of `rows` values of length L, each reversed.
inline std::vector<double> reverse_rows(std::vector<double> x, index_t length) {
  for (std::size_t r = 0; length > 0 && r < x.size() / std::size_t(length); ++r) {
    std::reverse(x.begin() + std::ptrdiff_t(r * std::size_t(length)), x.begin() + std::ptrdiff_t((r + 1) * std::size_t(length)));
  }
  return x;
}

// The time-indexed tensors of a set of inputs (u, delta, z, B, C) or of their gradients, reversed
// along time (B and C only when they vary with time).
inline void reverse_time_axes(const selective_scan_inputs& shape, std::vector<double>& u, std::vector<double>& delta,
                              std::vector<double>& z, std::vector<double>& B, std::vector<double>& C) {
  for (auto* x : {&u, &delta, &z}) *x = reverse_rows(*x, shape.length);
  if (shape.variable_B) B = reverse_rows(B, shape.length);
  if (shape.variable_C) C = reverse_rows(C, shape.length);
}

inline selective_scan_inputs reverse_in_time(selective_scan_inputs in) {
  reverse_time_axes(in, in.u, in.delta, in.z, in.B, in.C);
  return in;
}

// Writes the rows of piece (length n) into whole (length L) at position begin; adds when sum.
inline void paste_in_time(std::vector<double>& whole, index_t length, const std::vector<double>& piece, index_t begin,
                          index_t n) {
  for (std::size_t r = 0; n > 0 && r < piece.size() / std::size_t(n); ++r) {
    std::copy(piece.begin() + std::ptrdiff_t(r * std::size_t(n)), piece.begin() + std::ptrdiff_t((r + 1) * std::size_t(n)),
              whole.begin() + std::ptrdiff_t(r * std::size_t(length) + std::size_t(begin)));
  }
}

inline void add_into(std::vector<double>& total, const std::vector<double>& part) {
  for (std::size_t i = 0; i < part.size(); ++i) total[i] += part[i];
}

struct selective_scan_expected {
  selective_scan_outputs forward;
  selective_scan_gradients gradients;
};

// The oracle for a whole case: every sequence (one per batch row, or each packed one) scanned on
// its own, in the case's direction.
// Without h0 the initial state is zero, and dh0 is the gradient with respect to that zero state.
inline selective_scan_expected expected_selective_scan(const selective_scan_case& c, selective_scan_inputs in,
                                                       const std::vector<double>& dout,
                                                       const std::vector<double>& dlast_state) {
  if (in.h0.empty()) in.h0.assign(std::size_t(c.states() * c.dim * c.state), 0.0);
  const auto run = [&](const selective_scan_inputs& piece, const std::vector<double>& piece_dout,
                       const std::vector<double>& piece_dlast) {
    const auto oriented = c.reverse ? reverse_in_time(piece) : piece;
    selective_scan_expected result{selective_scan_reference(oriented),
                                   selective_scan_reference_backward(
                                       oriented, c.reverse ? reverse_rows(piece_dout, piece.length) : piece_dout,
                                       piece_dlast)};
    if (c.reverse) {
      auto& g = result.gradients;
      result.forward.out = reverse_rows(result.forward.out, piece.length);
      reverse_time_axes(piece, g.du, g.ddelta, g.dz, g.dB, g.dC);
    }
    return result;
  };
  if (c.offsets.empty()) return run(in, dout, dlast_state);

  selective_scan_expected total{{std::vector<double>(in.u.size()), std::vector<double>(std::size_t(c.states() * c.dim * c.state))},
                                {}};
  auto& g = total.gradients;
  g.du.assign(in.u.size(), 0.0);
  g.ddelta.assign(in.u.size(), 0.0);
  g.dz.assign(in.z.size(), 0.0);
  g.dA.assign(in.A.size(), 0.0);
  g.dB.assign(in.B.size(), 0.0);
  g.dC.assign(in.C.size(), 0.0);
  g.dD.assign(in.D.size(), 0.0);
  g.ddelta_bias.assign(in.delta_bias.size(), 0.0);
  g.dh0.assign(std::size_t(c.states() * c.dim * c.state), 0.0);
  const std::size_t state_size = std::size_t(c.dim * c.state);
  for (index_t k = 0; k < c.states(); ++k) {
    const index_t begin = c.offsets[std::size_t(k)], n = c.offsets[std::size_t(k + 1)] - begin;
    const auto piece = slice_in_time(in, begin, n, k);
    selective_scan_inputs dout_holder = in;
    dout_holder.u = dout;
    const auto piece_dout = slice_in_time(dout_holder, begin, n, 0).u;
    std::vector<double> piece_dlast;
    if (!dlast_state.empty()) {
      piece_dlast.assign(dlast_state.begin() + std::ptrdiff_t(std::size_t(k) * state_size),
                         dlast_state.begin() + std::ptrdiff_t(std::size_t(k + 1) * state_size));
    }
    const auto part = run(piece, piece_dout, piece_dlast);
    paste_in_time(total.forward.out, c.length, part.forward.out, begin, n);
    std::copy(part.forward.last_state.begin(), part.forward.last_state.end(),
              total.forward.last_state.begin() + std::ptrdiff_t(std::size_t(k) * state_size));
    const auto& pg = part.gradients;
    paste_in_time(g.du, c.length, pg.du, begin, n);
    paste_in_time(g.ddelta, c.length, pg.ddelta, begin, n);
    paste_in_time(g.dz, c.length, pg.dz, begin, n);
    if (in.variable_B) paste_in_time(g.dB, c.length, pg.dB, begin, n); else add_into(g.dB, pg.dB);
    if (in.variable_C) paste_in_time(g.dC, c.length, pg.dC, begin, n); else add_into(g.dC, pg.dC);
    add_into(g.dA, pg.dA);
    add_into(g.dD, pg.dD);
    add_into(g.ddelta_bias, pg.ddelta_bias);
    std::copy(pg.dh0.begin(), pg.dh0.end(), g.dh0.begin() + std::ptrdiff_t(std::size_t(k) * state_size));
  }
  return total;
}

}  // namespace rescan::testing
