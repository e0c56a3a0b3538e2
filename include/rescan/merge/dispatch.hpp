// What every token-merging front door shares: the backend hook.
#pragma once

#include "rescan/core/backend.hpp"

namespace rescan::detail {

// How merge_kernels::spread weighs the value it copies from an output token back to a source
// position t of output token j (unmerge and every backward pass are spreads):
//   one       out(t) = in(j)                        unmerge, and the adjoint of a sum merge
//   mean      out(t) = in(j) / |members(j)|         adjoint of a mean merge
//   amax/amin out(t) = in(j) where t is the first member (lowest original index) holding the
//             maximum / minimum of x over members(j) in that channel, else 0
//   weighted  out(t) = in(j) * size(t) / sum of size over members(j)   adjoint of merge_weighted
// Pruned positions (destination -1) get 0.
enum class spread_weight { one, mean, amax, amin, weighted };

// Each backend specializes this with
//   memory                                            plan_memory of the arrays it makes and reads
//   allocate(backend, count) -> std::shared_ptr<index_t>      plan storage in that memory
//   match(backend, metric (batch, T, C), layout, similarity, arrays)   fills a plan (batch >= 1)
//   merge(backend, arrays, x (batch, T, C), out (batch, T_out, C), merge_reduce)
//   merge_weighted(backend, arrays, x, size (batch, T), out, size_out (batch, T_out) or no data)
//   spread(backend, arrays, in (batch, T_out, C), out (batch, T, C), spread_weight, x, size)
//   compose(backend, first, second, result)           result = second after first
//   source_matrix(backend, arrays, out (batch, T_out, T_in))
//   copy_to_host(backend, data, count, host)          count index_t elements into host memory
// Views given to it are checked and non-empty; arrays are a plan's merge_plan_arrays.
template <class Backend>
struct merge_kernels : missing_backend<Backend> {};

}  // namespace rescan::detail
