// One decoding step of the selective scan (the recurrent form, mamba_ssm's selective_state_update):
// one token per (batch, channel) row, the state updated in place. It runs the selective scan's own
// forward kernel on a sequence of length 1, so stepping token by token gives the same results as
// one forward pass over the whole sequence.
#pragma once

#include "rescan/scan/selective_scan.hpp"

namespace rescan {

namespace detail {
// (rows, cols) -> (rows, cols, 1): the same elements with a time axis of length 1.
template <class T>
strided_view<T, 3> with_unit_time(const strided_view<T, 2>& v) {
  return strided_view<T, 3>(v.data(), {v.extent(0), v.extent(1), 1}, {v.stride(0), v.stride(1), 1});
}
template <class T>
strided_view<T, 4> with_unit_time(const strided_view<T, 3>& v) {
  return strided_view<T, 4>(v.data(), {v.extent(0), v.extent(1), v.extent(2), 1},
                            {v.stride(0), v.stride(1), v.stride(2), 1});
}
template <class T>
selective_scan_tensor<const T> with_unit_time(const selective_scan_tensor<const T, 3>& x) {
  if (!x.given()) return {};
  if (!x.is_variable()) return x.constant();
  return with_unit_time(x.variable());
}
}  // namespace detail

// args: state (batch, dim, N) read and updated in place; u, delta, z: (batch, dim); A: (dim, N);
// B, C: (dim, N) or (batch, groups, N); D, delta_bias: (dim). out: (batch, dim).
template <class Backend, class T>
void selective_state_update(const Backend& backend, const selective_state_update_arguments<T>& args,
                            const detail::non_deduced<strided_view<T, 2>>& out) {
  constexpr const char* function = "selective_state_update";
  detail::check_extents(function, "u", args.u);
  detail::check_same_shape(function, "out", out, "u", args.u);
  if (!detail::given(args.state.data())) detail::raise<value_error>(function, ": state is required");
  detail::check_range(function, "N = A.extent(1)", args.A.extent(1), 1, selective_scan_max_state,
                      "selective_scan_max_state");
  detail::check_state_view(function, "state", args.state, args.u.extent(0), "u.extent(0)", detail::with_unit_time(args.u),
                           args.A.extent(1));
  selective_scan_arguments<T> sequence;
  sequence.u = detail::with_unit_time(args.u);
  sequence.delta = detail::with_unit_time(args.delta);
  sequence.A = args.A;
  sequence.B = detail::with_unit_time(args.B);
  sequence.C = detail::with_unit_time(args.C);
  sequence.D = args.D;
  if (detail::given(args.z.data())) sequence.z = detail::with_unit_time(args.z);
  sequence.delta_bias = args.delta_bias;
  sequence.h0 = args.state;
  sequence.delta_softplus = args.delta_softplus;
  detail::check_selective_scan_arguments(function, sequence);
  if (out.empty()) return;
  detail::selective_scan_kernels<Backend>::forward(backend, detail::in_scan_order(sequence),
                                                   detail::with_unit_time(out), args.state, strided_view<T, 4>{});
}

}  // namespace rescan
