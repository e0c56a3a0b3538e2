// The arguments of the Mamba-1 selective scan (S6), in mamba_ssm's shapes, as non-owning views.
// Formulas: docs/selective_scan.md. Per batch b, channel d, time t and state n:
//   Δ_t = delta_t + delta_bias_d, then softplus (pass-through above 20) when delta_softplus;
//   h_t = exp(Δ_t A_{d,n}) h_{t-1} + Δ_t B_{t,n} u_t,  h_{-1} = h0 (zero when not given);
//   out_t = (Σ_n C_{t,n} h_{t,n} + D_d u_t) · silu(z_t)   (no gate when z is not given).
#pragma once

#include <type_traits>

#include "rescan/core/view.hpp"
#include "rescan/scan/scan_options.hpp"

namespace rescan {

// B or C (and their gradients): constant per channel, (dim, N), or varying with the input,
// (batch, groups, N, L) for the scan or (batch, groups, N) for one decoding step. Channel d reads
// group d / (dim / groups). Converts implicitly from either view; default-constructed = not given.
// T is const for inputs and mutable for gradients.
template <class T, int VariableRank = 4>
class selective_scan_tensor {
 public:
  using constant_view = strided_view<T, 2>;
  using variable_view = strided_view<T, VariableRank>;

  selective_scan_tensor() = default;
  template <class U, class = std::enable_if_t<std::is_convertible_v<strided_view<U, 2>, constant_view>>>
  selective_scan_tensor(const strided_view<U, 2>& constant) : constant_(constant), given_(true) {}
  template <class U, class = std::enable_if_t<std::is_convertible_v<strided_view<U, VariableRank>, variable_view>>>
  selective_scan_tensor(const strided_view<U, VariableRank>& variable)
      : variable_(variable), given_(true), is_variable_(true) {}

  bool given() const { return given_; }
  bool is_variable() const { return is_variable_; }
  const constant_view& constant() const { return constant_; }
  const variable_view& variable() const { return variable_; }
  bool empty() const { return is_variable_ ? variable_.empty() : constant_.empty(); }

  // The same tensor with its time axis reversed (a constant tensor has none).
  selective_scan_tensor reversed_in_time() const {
    selective_scan_tensor result = *this;
    if (is_variable_) result.variable_ = variable_.reversed(VariableRank - 1);
    return result;
  }

 private:
  constant_view constant_{};
  variable_view variable_{};
  bool given_ = false;
  bool is_variable_ = false;
};

// Every input of one selective scan. u, delta, A, B and C are required; D, z, delta_bias and h0
// are optional (a default-constructed view is "not given"). T is float or double; the math runs
// in T.
//
// sequence_offsets packs variable-length sequences into one row, as mamba_ssm's cu_seqlens:
// batch must be 1, the offsets are (sequences + 1), sorted, from 0 to L; the state restarts at
// each sequence start (from h0[sequence] or zero), and h0 / last_state hold one state per sequence.
//
// direction = reverse runs the recurrence from t = L - 1 down to 0 (h0 enters before L - 1): the
// same as reversing every time axis, scanning forward and reversing the output back. Sequence
// offsets stay in memory order either way.
template <class T>
struct selective_scan_arguments {
  strided_view<const T, 3> u{};                     // (batch, dim, L)
  strided_view<const T, 3> delta{};                 // (batch, dim, L)
  strided_view<const T, 2> A{};                     // (dim, N), N <= selective_scan_max_state
  selective_scan_tensor<const T> B{};               // (dim, N) or (batch, groups, N, L)
  selective_scan_tensor<const T> C{};               // (dim, N) or (batch, groups, N, L)
  strided_view<const T, 1> D{};                     // (dim), optional
  strided_view<const T, 3> z{};                     // (batch, dim, L), optional
  strided_view<const T, 1> delta_bias{};            // (dim), optional
  strided_view<const T, 3> h0{};                    // (batch or sequences, dim, N), optional
  bool delta_softplus = false;
  scan_direction direction = scan_direction::forward;
  strided_view<const index_t, 1> sequence_offsets{};  // (sequences + 1), optional
};

// The largest state size N the kernels accept (mamba_ssm's limit).
inline constexpr index_t selective_scan_max_state = 256;

// The gradients of one backward pass: each is optional (not given = not computed) and, when given,
// has the shape of its input; dB / dC must be constant or variable as B / C are. Gradients are
// written, or added to what the views hold when accumulate is set. dh0 may be given whether or not h0 was (the gradient with respect to
// the initial state is defined either way).
template <class T>
struct selective_scan_gradients {
  strided_view<T, 3> du{};           // (batch, dim, L)
  strided_view<T, 3> ddelta{};       // (batch, dim, L)
  strided_view<T, 2> dA{};           // (dim, N)
  selective_scan_tensor<T> dB{};     // as B
  selective_scan_tensor<T> dC{};     // as C
  strided_view<T, 1> dD{};           // (dim), only with D
  strided_view<T, 3> dz{};           // (batch, dim, L), only with z
  strided_view<T, 1> ddelta_bias{};  // (dim), only with delta_bias
  strided_view<T, 3> dh0{};          // (batch or sequences, dim, N)
  bool accumulate = false;
};

// One decoding step (the recurrent form): the state is read and updated in place.
template <class T>
struct selective_state_update_arguments {
  strided_view<T, 3> state{};                       // (batch, dim, N), updated in place
  strided_view<const T, 2> u{};                     // (batch, dim)
  strided_view<const T, 2> delta{};                 // (batch, dim)
  strided_view<const T, 2> A{};                     // (dim, N)
  selective_scan_tensor<const T, 3> B{};            // (dim, N) or (batch, groups, N)
  selective_scan_tensor<const T, 3> C{};            // (dim, N) or (batch, groups, N)
  strided_view<const T, 1> D{};                     // (dim), optional
  strided_view<const T, 2> z{};                     // (batch, dim), optional
  strided_view<const T, 1> delta_bias{};            // (dim), optional
  bool delta_softplus = false;
};

}  // namespace rescan
