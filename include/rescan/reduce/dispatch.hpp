// What every reduction front door shares: the backend hooks.
#pragma once

#include "rescan/core/backend.hpp"

namespace rescan::detail {

// Each backend specializes this with static members taking checked, non-empty views:
//   reduce(backend, in (rows, L), out (rows), op)        fold of each row; L = 0 gives op's identity
//   argmax(backend, in (rows, L), out (rows))            first index of the maximum, NaN counts as largest
//   logsumexp(backend, in (rows, L), out (rows))
//   softmax(backend, in (rows, L), out (rows, L))        out may alias in
template <class Backend>
struct reduce_kernels : missing_backend<Backend> {};

// Each backend specializes this with
//   top_k(backend, in (rows, L), values (rows, k), indices (rows, k))   0 < k <= L
template <class Backend>
struct top_k_kernels : missing_backend<Backend> {};

}  // namespace rescan::detail
