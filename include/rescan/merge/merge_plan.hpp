// merge_plan: the outcome of one bipartite matching (or of several, composed), owning its index
// arrays in the memory of the backend that made it (host memory for rescan::cpu, device memory
// for rescan::cuda). Copying a plan shares the arrays (they are never written after the plan is
// made); the last copy dropped frees them. rescan::cuda allocates and frees them stream-ordered on
// the stream of the backend that made the plan: using the plan on another stream needs the same
// synchronization as any stream-ordered memory (see cuda/merge.cuh). One plan applies to any
// number of tensors of the same batch and token count: hidden states, an fp32 residual stream and
// the token sizes alike.
//
// Layout, per batch item b (every array is row-major, one row per batch item):
//   destination (batch, tokens_in)      output token that original token t ends up in, or -1 when
//                                       t was pruned (merge_mode::prune)
//   survivors   (batch, tokens_out)     the original token that output token j is (an unmerged
//                                       token or a destination; never a source)
//   offsets     (batch, tokens_out + 1) members of output token j are members[offsets[j], offsets[j+1])
//   members     (batch, tokens_in)      original tokens grouped by output token, ascending within a
//                                       group; pruned tokens last (from offsets[tokens_out] on)
//   class_out   (batch)                 output position of the class token, or -1 without one
// The number of original tokens in output token j (its size) is offsets[j+1] - offsets[j].
//
// Typical use at a merging layer of Vim (R-MeeTo), on either backend:
//   matching_options options;                      // cosine, merge_order::preserve, merge_mode::merge
//   options.class_token = cls;                     // taken out and put back (class_token_handling::take_out)
//   merge_plan plan = bipartite_soft_matching(backend, hidden, r, options);  // hidden (B, T, C) is the metric
//   merge_weighted(backend, plan, hidden, size, hidden_out, size_out);       // sizes (B, T) summed
//   merge_weighted(backend, plan, residual, size, residual_out);             // fp32 residual, same weights
//   cls = plan.shared_class_token_out();  T = plan.tokens_out();  size = size_out;
// and in the backward pass merge_weighted_backward(backend, plan, size, grad_out, grad_in) for each
// of the two tensors (size = the sizes the forward pass was given).
#pragma once

#include <memory>
#include <utility>

#include "rescan/core/view.hpp"
#include "rescan/merge/merge_options.hpp"

namespace rescan {

// Where a plan's arrays live.
enum class plan_memory { none, host, cuda_device };

// Mutable or read-only views of a plan's arrays (Index = index_t or const index_t).
template <class Index>
struct merge_plan_arrays {
  strided_view<Index, 2> destination;
  strided_view<Index, 2> survivors;
  strided_view<Index, 2> offsets;
  strided_view<Index, 2> members;
  strided_view<Index, 1> class_out;
};

class merge_plan {
 public:
  merge_plan() = default;  // empty: no batch, no arrays

  index_t batch() const { return batch_; }
  index_t tokens_in() const { return tokens_in_; }
  index_t tokens_out() const { return tokens_out_; }
  // Tokens removed per batch item: tokens_in - tokens_out (the clamped r of one matching, the sum
  // of the r's of a composition).
  index_t r() const { return tokens_in_ - tokens_out_; }
  // The r asked for (before clamping); for a composed plan, the sum of the requested r's.
  index_t r_requested() const { return r_requested_; }
  // Position of the class token before merging (-1 without one).
  index_t class_token_in() const { return class_in_; }
  // Its position after merging when that is the same for every batch item and known without
  // reading the arrays (so no device copy is needed): class_token_handling::take_out puts it at
  // floor(p (T - r) / T); a class token at position 0 stays at 0 under either order. Otherwise -1
  // (no class token, or ToMe handling of a class token elsewhere: read class_token_out()).
  index_t shared_class_token_out() const { return shared_class_out_; }
  const matching_options& options() const { return options_; }
  plan_memory memory() const { return memory_; }
  bool empty() const { return memory_ == plan_memory::none; }

  strided_view<const index_t, 2> destination() const { return arrays().destination; }
  strided_view<const index_t, 2> survivors() const { return arrays().survivors; }
  strided_view<const index_t, 2> offsets() const { return arrays().offsets; }
  strided_view<const index_t, 2> members() const { return arrays().members; }
  strided_view<const index_t, 1> class_token_out() const { return arrays().class_out; }

  merge_plan_arrays<const index_t> arrays() const { return views<const index_t>(storage_.get()); }

  // Index elements a plan of this shape holds.
  static index_t storage_size(index_t batch, index_t tokens_in, index_t tokens_out) {
    return batch * (2 * tokens_in + 2 * tokens_out + 2);
  }

  // For backends: a plan over `storage` (storage_size() elements, memory of the given kind) that
  // the backend then fills through writable_arrays().
  static merge_plan over(std::shared_ptr<index_t> storage, plan_memory memory, index_t batch, index_t tokens_in,
                         index_t tokens_out, index_t r_requested, index_t class_in, const matching_options& options,
                         index_t shared_class_out = -1) {
    merge_plan plan;
    plan.storage_ = std::move(storage);
    plan.memory_ = memory;
    plan.batch_ = batch;
    plan.tokens_in_ = tokens_in;
    plan.tokens_out_ = tokens_out;
    plan.r_requested_ = r_requested;
    plan.class_in_ = class_in;
    plan.options_ = options;
    plan.shared_class_out_ = shared_class_out;
    return plan;
  }
  merge_plan_arrays<index_t> writable_arrays() const { return views<index_t>(storage_.get()); }

 private:
  template <class Index>
  merge_plan_arrays<Index> views(Index* base) const {
    const index_t b = batch_, tin = tokens_in_, tout = tokens_out_;
    merge_plan_arrays<Index> result;
    result.destination = strided_view<Index, 2>(base, {b, tin});
    result.members = strided_view<Index, 2>(base + b * tin, {b, tin});
    result.survivors = strided_view<Index, 2>(base + 2 * b * tin, {b, tout});
    result.offsets = strided_view<Index, 2>(base + 2 * b * tin + b * tout, {b, tout + 1});
    result.class_out = strided_view<Index, 1>(base + 2 * b * tin + b * (2 * tout + 1), {b});
    return result;
  }

  std::shared_ptr<index_t> storage_;
  plan_memory memory_ = plan_memory::none;
  index_t batch_ = 0, tokens_in_ = 0, tokens_out_ = 0, r_requested_ = 0, class_in_ = -1, shared_class_out_ = -1;
  matching_options options_{};
};

}  // namespace rescan
