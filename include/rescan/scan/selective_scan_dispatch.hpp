// What the selective-scan front doors share: the backend hook, the problem in scan order that the
// backends receive, and the shape checks.
#pragma once

#include "rescan/core/backend.hpp"
#include "rescan/core/checks.hpp"
#include "rescan/scan/selective_scan_arguments.hpp"

namespace rescan::detail {

// Each backend specializes this with static members
//   checkpoint_interval(backend) -> index_t: positions between two saved states;
//   check_values(backend, problem): throws value_error for a non-finite A or bad sequence offsets
//     (values live in the backend's memory, so only the backend can read them);
//   forward(backend, problem, out, last_state, checkpoints);
//   backward(backend, problem, dout, dlast_state, checkpoints, gradients);
// taking checked, non-empty problems whose views are already in scan order. forward and backward
// check the values themselves before they write anything; a front door that runs several problems
// calls check_values on all of them first. last_state, checkpoints and dlast_state may be absent
// (default views). forward must read each h0 before it writes the last_state of the same index
// (the decoding step passes the same state as both).
template <class Backend>
struct selective_scan_kernels : missing_backend<Backend> {};

// The sequences of one batch row, in scan order. Without offsets there is one, [0, L), and its
// state lives at index b; with offsets (batch 1) sequence k of the scan is sequence
// state_index(k) in memory order.
struct selective_scan_sequences {
  strided_view<const index_t, 1> offsets{};  // (sequences + 1) in memory order, or absent
  index_t length = 0;
  bool reversed = false;

  RESCAN_HOST_DEVICE bool packed() const { return offsets.extent(0) > 0; }
  RESCAN_HOST_DEVICE index_t count() const { return packed() ? offsets.extent(0) - 1 : 1; }
  RESCAN_HOST_DEVICE index_t state_index(index_t k, index_t batch_row) const {
    if (!packed()) return batch_row;
    return reversed ? count() - 1 - k : k;
  }
  RESCAN_HOST_DEVICE index_t begin(index_t k) const {
    if (!packed()) return 0;
    return reversed ? length - offsets(count() - k) : offsets(k);
  }
  RESCAN_HOST_DEVICE index_t end(index_t k) const {
    if (!packed()) return length;
    return reversed ? length - offsets(count() - 1 - k) : offsets(k + 1);
  }
};

// The arguments with every time axis in scan order (reversed views for a reverse scan).
template <class T>
struct selective_scan_problem {
  selective_scan_arguments<T> in;  // in.direction is no longer used: the views are in scan order
  selective_scan_sequences sequences;
  index_t batch = 0, dim = 0, length = 0, state = 0;
  // The forward pass writes out = scale * y (or adds it to out when accumulate_output); the
  // backward pass reads dout * scale. The bidirectional scan uses scale 1/2 for its two branches.
  T scale = T(1);
  bool accumulate_output = false;
};

template <class T>
selective_scan_problem<T> in_scan_order(const selective_scan_arguments<T>& args) {
  selective_scan_problem<T> problem{args, {args.sequence_offsets, args.u.extent(2), false},
                                    args.u.extent(0), args.u.extent(1), args.u.extent(2), args.A.extent(1)};
  if (args.direction == scan_direction::reverse) {
    problem.in.u = args.u.reversed(2);
    problem.in.delta = args.delta.reversed(2);
    if (args.z.data() != nullptr) problem.in.z = args.z.reversed(2);
    problem.in.B = args.B.reversed_in_time();
    problem.in.C = args.C.reversed_in_time();
    problem.sequences.reversed = true;
  }
  return problem;
}

template <class V>
V reversed_in_time_if(bool reverse, const V& view) {
  return reverse && view.data() != nullptr ? view.reversed(V::rank - 1) : view;
}

inline bool given(const void* data) { return data != nullptr; }

// B or C (or their gradients) against the problem's shape.
template <class U, int VariableRank, class Like>
void check_selective_scan_tensor(const char* function, const char* name, const selective_scan_tensor<U, VariableRank>& x,
                                 const Like& u, const strided_view<const typename Like::value_type, 2>& A) {
  if (!x.is_variable()) {
    check_same_extent(function, name, x.constant(), 0, "A", A, 0);
    check_same_extent(function, name, x.constant(), 1, "A", A, 1);
    return;
  }
  const auto& v = x.variable();
  check_same_extent(function, name, v, 0, "u", u, 0);
  check_extent_not_negative(function, name, v, 1);
  check_same_extent(function, name, v, 2, "A", A, 1);
  if (VariableRank == 4) check_same_extent(function, name, v, VariableRank - 1, "u", u, 2);
  const index_t groups = v.extent(1), dim = u.extent(1);
  if (groups < 1 || dim % groups != 0) {
    raise<value_error>(function, ": ", name, ".extent(1) = ", groups, " groups but must divide dim = u.extent(1) = ",
                       dim);
  }
}

// The shape of every input, and of the state views that hold one state per batch row or sequence.
template <class T, class Args, class Like>
index_t check_selective_scan_inputs(const char* function, const Args& args, const Like& u) {
  check_extents(function, "u", u);
  check_same_shape(function, "delta", args.delta, "u", u);
  check_same_extent(function, "A", args.A, 0, "u", u, 1);
  check_range(function, "N = A.extent(1)", args.A.extent(1), 1, selective_scan_max_state, "selective_scan_max_state");
  if (!args.B.given()) raise<value_error>(function, ": B is required");
  if (!args.C.given()) raise<value_error>(function, ": C is required");
  check_selective_scan_tensor(function, "B", args.B, u, args.A);
  check_selective_scan_tensor(function, "C", args.C, u, args.A);
  check_optional_extent(function, "D", args.D, 0, "u", u, 1);
  check_optional_extent(function, "delta_bias", args.delta_bias, 0, "u", u, 1);
  if (given(args.z.data())) check_same_shape(function, "z", args.z, "u", u);
  return args.A.extent(1);
}

// A state view (h0, last_state, dlast_state, dh0): (states, dim, N).
template <class S, class T>
void check_state_view(const char* function, const char* name, const S& state, index_t states,
                      const char* states_what, const strided_view<const T, 3>& u, index_t N) {
  if (!given(state.data()) && state.size() == 0) return;
  if (state.extent(0) != states) {
    raise<shape_error>(function, ": ", name, ".extent(0) = ", state.extent(0), " but ", states_what, " = ", states);
  }
  check_same_extent(function, name, state, 1, "u", u, 1);
  if (state.extent(2) != N) raise<shape_error>(function, ": ", name, ".extent(2) = ", state.extent(2), " but N = ", N);
}

// The number of states per call: batch, or the number of packed sequences.
template <class T>
index_t selective_scan_state_count(const char* function, const selective_scan_arguments<T>& args) {
  if (args.sequence_offsets.extent(0) == 0) return args.u.extent(0);
  if (args.u.extent(0) != 1) {
    raise<shape_error>(function, ": u.extent(0) = ", args.u.extent(0),
                       " but packed sequences (sequence_offsets) need batch 1");
  }
  if (args.sequence_offsets.extent(0) < 2) {
    raise<shape_error>(function, ": sequence_offsets.extent(0) = ", args.sequence_offsets.extent(0),
                       " but must be at least 2 (0 and L)");
  }
  return args.sequence_offsets.extent(0) - 1;
}

template <class T>
index_t check_selective_scan_arguments(const char* function, const selective_scan_arguments<T>& args) {
  const index_t N = check_selective_scan_inputs<T>(function, args, args.u);
  const index_t states = selective_scan_state_count(function, args);
  check_state_view(function, "h0", args.h0, states, "the number of states (batch or sequences)", args.u, N);
  return states;
}

}  // namespace rescan::detail
