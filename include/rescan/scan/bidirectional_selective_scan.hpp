// The bidirectional selective scan of Vision Mamba's v2 mixer: a forward branch over the sequence
// and a backward branch, with its own parameters, over the reversed sequence, reversed back; the
// result is their mean, out = (out_forward + out_backward) / 2, as Vim combines them before its
// output projection. Both branches take their arguments in the sequence's own order (the backward
// branch reads them from L - 1 down to 0); no reversed copy is made. The backward branch runs
// against its arguments' direction: backward_args.direction = reverse would make it a forward scan.
#pragma once

#include "rescan/scan/selective_scan.hpp"

namespace rescan {

namespace detail {
template <class T>
selective_scan_arguments<T> as_backward_branch(selective_scan_arguments<T> args) {
  args.direction = args.direction == scan_direction::forward ? scan_direction::reverse : scan_direction::forward;
  return args;
}
// The values of both branches (A finite, offsets valid), before either branch writes anything.
template <class Backend, class T>
void check_branch_values(const Backend& backend, const selective_scan_arguments<T>& forward_branch,
                         const selective_scan_arguments<T>& backward_branch) {
  if (forward_branch.u.empty() && backward_branch.u.empty()) return;
  selective_scan_kernels<Backend>::check_values(backend, in_scan_order(forward_branch));
  selective_scan_kernels<Backend>::check_values(backend, in_scan_order(backward_branch));
}
}  // namespace detail

// forward_args, backward_args: one selective scan each (shapes in selective_scan_arguments.hpp),
// over the same (batch, dim, L). out: (batch, dim, L). The optional last states and checkpoints
// are each branch's own, as selective_scan_forward writes them.
template <class Backend, class T>
void bidirectional_selective_scan_forward(const Backend& backend, const selective_scan_arguments<T>& forward_args,
                                          const selective_scan_arguments<T>& backward_args,
                                          const detail::non_deduced<strided_view<T, 3>>& out,
                                          const detail::non_deduced<strided_view<T, 3>>& last_state_forward = {},
                                          const detail::non_deduced<strided_view<T, 3>>& last_state_backward = {},
                                          const detail::non_deduced<strided_view<T, 4>>& checkpoints_forward = {},
                                          const detail::non_deduced<strided_view<T, 4>>& checkpoints_backward = {}) {
  constexpr const char* function = "bidirectional_selective_scan_forward";
  const auto reverse_args = detail::as_backward_branch(backward_args);
  detail::check_selective_scan_forward(function, backend, forward_args, out, "last_state_forward", last_state_forward,
                                       checkpoints_forward);
  detail::check_selective_scan_forward(function, backend, reverse_args, out, "last_state_backward",
                                       last_state_backward, checkpoints_backward);
  detail::check_branch_values(backend, forward_args, reverse_args);
  detail::run_selective_scan_forward(backend, forward_args, out, last_state_forward, checkpoints_forward, T(0.5));
  detail::run_selective_scan_forward(backend, reverse_args, out, last_state_backward, checkpoints_backward, T(0.5),
                                     /*accumulate=*/true);
}

// The gradients of both branches from dout (each branch receives dout / 2) and, optionally, from
// the gradients of each branch's last state. Each branch's gradients follow
// selective_scan_backward's rules. To sum a tensor both branches share (Vim's z), pass the same view
// to both and set accumulate on the backward branch's gradients: accumulate then applies to every
// gradient of that branch, so its other gradient views must start at zero.
template <class Backend, class T>
void bidirectional_selective_scan_backward(const Backend& backend, const selective_scan_arguments<T>& forward_args,
                                           const selective_scan_arguments<T>& backward_args,
                                           const detail::non_deduced<strided_view<const T, 3>>& dout,
                                           const selective_scan_gradients<T>& forward_gradients,
                                           const selective_scan_gradients<T>& backward_gradients,
                                           const detail::non_deduced<strided_view<const T, 3>>& dlast_state_forward = {},
                                           const detail::non_deduced<strided_view<const T, 3>>& dlast_state_backward = {},
                                           const detail::non_deduced<strided_view<const T, 4>>& checkpoints_forward = {},
                                           const detail::non_deduced<strided_view<const T, 4>>& checkpoints_backward = {}) {
  constexpr const char* function = "bidirectional_selective_scan_backward";
  const auto reverse_args = detail::as_backward_branch(backward_args);
  detail::check_selective_scan_backward(function, backend, forward_args, dout, forward_gradients,
                                        "dlast_state_forward", dlast_state_forward, checkpoints_forward);
  detail::check_selective_scan_backward(function, backend, reverse_args, dout, backward_gradients,
                                        "dlast_state_backward", dlast_state_backward, checkpoints_backward);
  detail::check_branch_values(backend, forward_args, reverse_args);
  detail::run_selective_scan_backward(backend, forward_args, dout, forward_gradients, dlast_state_forward,
                                      checkpoints_forward, T(0.5));
  detail::run_selective_scan_backward(backend, reverse_args, dout, backward_gradients, dlast_state_backward,
                                      checkpoints_backward, T(0.5));
}

}  // namespace rescan
