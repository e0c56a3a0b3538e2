// Where and how a Vim reduces its tokens (R-MeeTo): at the start of every block whose index i > 0
// is a multiple of `interval` (R-MeeTo: 2), r tokens are merged into their most similar neighbours
// (bipartite soft matching on the block's input hidden states, original order kept, the class
// token taken out and put back) or, for the pruning baseline, dropped.
#pragma once

#include <string>
#include <vector>

#include <rescan/merge/schedule.hpp>

#include "vim_config.hpp"

namespace rescan_examples {

enum class reduction_mode { none, merge, prune };

struct token_reduction {
  reduction_mode mode = reduction_mode::none;
  std::vector<index_t> r_per_layer;  // (depth) tokens removed at the start of each block; empty = none

  bool active() const { return mode != reduction_mode::none; }
  index_t r_at(index_t layer) const {
    if (!active() || layer >= static_cast<index_t>(r_per_layer.size())) return 0;
    return r_per_layer[static_cast<std::size_t>(layer)];
  }
};

// r at every block i > 0 with i % interval == 0, for a model of `depth` blocks.
inline token_reduction rmeeto_reduction(reduction_mode mode, index_t r, index_t depth, index_t interval = 2) {
  if (r < 0) throw std::invalid_argument("token reduction: r = " + std::to_string(r) + " but must be >= 0");
  if (interval < 1) {
    throw std::invalid_argument("token reduction: interval = " + std::to_string(interval) + " but must be >= 1");
  }
  token_reduction reduction;
  reduction.mode = r > 0 ? mode : reduction_mode::none;
  reduction.r_per_layer.assign(static_cast<std::size_t>(depth), 0);
  for (index_t layer = interval; layer < depth; layer += interval) reduction.r_per_layer[static_cast<std::size_t>(layer)] = r;
  return reduction;
}

// The tokens each block processes (depth entries), with every r clamped as the matching clamps it.
inline std::vector<index_t> tokens_per_block(const vim_config& config, const token_reduction& reduction) {
  if (!reduction.active()) return std::vector<index_t>(static_cast<std::size_t>(config.depth), config.tokens());
  rescan::matching_options options;
  options.class_token = config.class_position();
  std::vector<index_t> schedule(static_cast<std::size_t>(config.depth));
  for (index_t layer = 0; layer < config.depth; ++layer) schedule[static_cast<std::size_t>(layer)] = reduction.r_at(layer);
  return rescan::tokens_after(config.tokens(), schedule, options);
}

// The fraction of token × block work removed: 1 − Σ_i tokens_i / (depth · tokens).
inline double token_layer_reduction(const vim_config& config, const token_reduction& reduction) {
  double kept = 0;
  for (index_t tokens : tokens_per_block(config, reduction)) kept += static_cast<double>(tokens);
  return 1.0 - kept / static_cast<double>(config.depth * config.tokens());
}

inline const char* name_of(reduction_mode mode) {
  return mode == reduction_mode::merge ? "merge" : mode == reduction_mode::prune ? "prune" : "none";
}

}  // namespace rescan_examples
