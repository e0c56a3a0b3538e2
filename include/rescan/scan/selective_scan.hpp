// The Mamba-1 selective scan (S6): forward and backward passes over whole sequences, with mamba_ssm's
// shapes and what its users ask for beyond it (initial state, gradient of the final state, packed
// variable-length sequences, reverse direction, deterministic gradients). Arguments and formulas:
// selective_scan_arguments.hpp; one decoding step: selective_state_update.hpp.
//
// Memory: the forward pass may save the state every checkpoint_interval positions into a
// caller-owned (batch, dim, checkpoints, N) view; the backward pass recomputes the states between
// two checkpoints and never holds a (batch, dim, L, N) tensor. Without saved checkpoints the
// backward pass recomputes them first (one more forward pass over the states, no output).
#pragma once

#include "rescan/scan/selective_scan_dispatch.hpp"

namespace rescan {

namespace detail {
// checkpoints: (batch, dim, count, N)
template <class Backend, class V, class T>
void check_checkpoints(const char* function, const Backend& backend, const V& checkpoints,
                       const selective_scan_arguments<T>& args) {
  if (!given(checkpoints.data()) && checkpoints.size() == 0) return;
  check_same_extent(function, "checkpoints", checkpoints, 0, "u", args.u, 0);
  check_same_extent(function, "checkpoints", checkpoints, 1, "u", args.u, 1);
  const index_t interval = selective_scan_kernels<Backend>::checkpoint_interval(backend);
  const index_t count = (args.u.extent(2) + interval - 1) / interval;
  if (checkpoints.extent(2) != count) {
    raise<shape_error>(function, ": checkpoints.extent(2) = ", checkpoints.extent(2),
                       " but selective_scan_checkpoint_count(backend, L) = ", count);
  }
  check_same_extent(function, "checkpoints", checkpoints, 3, "A", args.A, 1);
}

template <class G, class X>
void check_gradient(const char* function, const char* name, const G& gradient, const char* input_name, const X& input) {
  if (!given(gradient.data()) && gradient.size() == 0) return;
  if (!given(input.data()) && input.size() == 0) {
    raise<value_error>(function, ": gradients.", name, " is given but ", input_name, " is not");
  }
  check_same_shape(function, name, gradient, input_name, input);
}

template <class G, class X>
void check_gradient_tensor(const char* function, const char* name, const G& gradient, const char* input_name,
                           const X& input) {
  if (!gradient.given()) return;
  if (gradient.is_variable() != input.is_variable()) {
    raise<value_error>(function, ": gradients.", name, " is ", gradient.is_variable() ? "variable" : "constant",
                       " but ", input_name, " is ", input.is_variable() ? "variable" : "constant");
  }
  if (input.is_variable()) {
    check_same_shape(function, name, gradient.variable(), input_name, input.variable());
  } else {
    check_same_shape(function, name, gradient.constant(), input_name, input.constant());
  }
}

template <class T>
void check_selective_scan_gradients(const char* function, const selective_scan_arguments<T>& args,
                                    const selective_scan_gradients<T>& gradients, index_t states) {
  check_gradient(function, "du", gradients.du, "u", args.u);
  check_gradient(function, "ddelta", gradients.ddelta, "delta", args.delta);
  check_gradient(function, "dA", gradients.dA, "A", args.A);
  check_gradient_tensor(function, "dB", gradients.dB, "B", args.B);
  check_gradient_tensor(function, "dC", gradients.dC, "C", args.C);
  check_gradient(function, "dD", gradients.dD, "D", args.D);
  check_gradient(function, "dz", gradients.dz, "z", args.z);
  check_gradient(function, "ddelta_bias", gradients.ddelta_bias, "delta_bias", args.delta_bias);
  check_state_view(function, "gradients.dh0", gradients.dh0, states, "the number of states (batch or sequences)",
                   args.u, args.A.extent(1));
}

template <class Backend, class T>
void check_selective_scan_forward(const char* function, const Backend& backend, const selective_scan_arguments<T>& args,
                                  const strided_view<T, 3>& out, const char* last_state_name,
                                  const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints) {
  const index_t states = check_selective_scan_arguments(function, args);
  check_same_shape(function, "out", out, "u", args.u);
  check_state_view(function, last_state_name, last_state, states, "the number of states (batch or sequences)", args.u,
                   args.A.extent(1));
  check_checkpoints(function, backend, checkpoints, args);
}

template <class Backend, class T>
void check_selective_scan_backward(const char* function, const Backend& backend,
                                   const selective_scan_arguments<T>& args, const strided_view<const T, 3>& dout,
                                   const selective_scan_gradients<T>& gradients, const char* dlast_state_name,
                                   const strided_view<const T, 3>& dlast_state,
                                   const strided_view<const T, 4>& checkpoints) {
  const index_t states = check_selective_scan_arguments(function, args);
  check_same_shape(function, "dout", dout, "u", args.u);
  check_state_view(function, dlast_state_name, dlast_state, states, "the number of states (batch or sequences)",
                   args.u, args.A.extent(1));
  check_checkpoints(function, backend, checkpoints, args);
  check_selective_scan_gradients(function, args, gradients, states);
}

// The forward pass on checked arguments: out = scale * y, or out += scale * y when accumulate.
template <class Backend, class T>
void run_selective_scan_forward(const Backend& backend, const selective_scan_arguments<T>& args,
                                const strided_view<T, 3>& out, const strided_view<T, 3>& last_state,
                                const strided_view<T, 4>& checkpoints, T scale = T(1), bool accumulate = false) {
  if (out.empty() && last_state.empty()) return;
  auto problem = in_scan_order(args);
  problem.scale = scale;
  problem.accumulate_output = accumulate;
  selective_scan_kernels<Backend>::forward(backend, problem, reversed_in_time_if(problem.sequences.reversed, out),
                                           last_state, checkpoints);
}

// The backward pass on checked arguments, with dout * scale as the output's gradient.
template <class Backend, class T>
void run_selective_scan_backward(const Backend& backend, const selective_scan_arguments<T>& args,
                                 const strided_view<const T, 3>& dout, const selective_scan_gradients<T>& gradients,
                                 const strided_view<const T, 3>& dlast_state,
                                 const strided_view<const T, 4>& checkpoints, T scale = T(1)) {
  if (args.u.extent(1) == 0) return;  // batch 0 or L 0 still write the (zero) parameter gradients
  auto problem = in_scan_order(args);
  problem.scale = scale;
  const bool reverse = problem.sequences.reversed;
  selective_scan_gradients<T> in_order = gradients;
  in_order.du = reversed_in_time_if(reverse, gradients.du);
  in_order.ddelta = reversed_in_time_if(reverse, gradients.ddelta);
  in_order.dz = reversed_in_time_if(reverse, gradients.dz);
  if (reverse) {
    in_order.dB = gradients.dB.reversed_in_time();
    in_order.dC = gradients.dC.reversed_in_time();
  }
  selective_scan_kernels<Backend>::backward(backend, problem, reversed_in_time_if(reverse, dout), dlast_state,
                                            checkpoints, in_order);
}

}  // namespace detail

// The number of saved states per row: checkpoints are (batch, dim, this, N).
template <class Backend>
index_t selective_scan_checkpoint_count(const Backend& backend, index_t length) {
  const index_t interval = detail::selective_scan_kernels<Backend>::checkpoint_interval(backend);
  return (length + interval - 1) / interval;
}

// args: see selective_scan_arguments.hpp (u, delta, z: (batch, dim, L); A: (dim, N); ...).
// out: (batch, dim, L). last_state: (batch or sequences, dim, N), optional: the state after the
// last position of each row or sequence in scan order. checkpoints: optional, for the backward pass.
template <class Backend, class T>
void selective_scan_forward(const Backend& backend, const selective_scan_arguments<T>& args,
                            const detail::non_deduced<strided_view<T, 3>>& out,
                            const detail::non_deduced<strided_view<T, 3>>& last_state = {},
                            const detail::non_deduced<strided_view<T, 4>>& checkpoints = {}) {
  detail::check_selective_scan_forward("selective_scan_forward", backend, args, out, "last_state", last_state,
                                       checkpoints);
  detail::run_selective_scan_forward(backend, args, out, last_state, checkpoints);
}

// The gradients of Σ dout·out + Σ dlast_state·last_state with respect to every input whose
// gradient view is given. dout: (batch, dim, L); dlast_state: (batch or sequences, dim, N),
// optional; checkpoints: those the forward pass saved with the same arguments, optional.
// Deterministic: the same bits for any thread count and run.
template <class Backend, class T>
void selective_scan_backward(const Backend& backend, const selective_scan_arguments<T>& args,
                             const detail::non_deduced<strided_view<const T, 3>>& dout,
                             const selective_scan_gradients<T>& gradients,
                             const detail::non_deduced<strided_view<const T, 3>>& dlast_state = {},
                             const detail::non_deduced<strided_view<const T, 4>>& checkpoints = {}) {
  detail::check_selective_scan_backward("selective_scan_backward", backend, args, dout, gradients, "dlast_state",
                                        dlast_state, checkpoints);
  detail::run_selective_scan_backward(backend, args, dout, gradients, dlast_state, checkpoints);
}

}  // namespace rescan
