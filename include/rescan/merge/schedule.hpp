// r schedules: how many tokens each layer merges.
//   constant_schedule(r, layers)             r at every layer
//   tome_schedule(r, inflection, layers)     ToMe's (r, inflection) pair: a straight line from
//                                            int(r (1 - inflection)) at the first layer to
//                                            2r - that at the last, each value truncated toward
//                                            zero; inflection 0 is constant, -1 the paper's
//                                            "decreasing schedule" (2r down to 0), +1 increasing
//   explicit_schedule(list, layers)          the given r per layer, padded with 0 to `layers`
//   rmeeto_schedule(r, layers)               R-MeeTo's Vim placement: r at every layer with
//                                            layer > 0 and layer % 2 == 0, else 0
//   tokens_after(tokens, schedule, options)  token counts after each layer, with every r clamped
//                                            as bipartite_soft_matching clamps it
#pragma once

#include <vector>

#include "rescan/core/checks.hpp"
#include "rescan/merge/bipartite_soft_matching.hpp"

namespace rescan {

namespace detail {
inline void check_schedule_arguments(const char* function, index_t r, index_t layers) {
  if (r < 0) raise<value_error>(function, ": r = ", r, " but must be >= 0");
  if (layers < 0) raise<value_error>(function, ": layers = ", layers, " but must be >= 0");
}
}  // namespace detail

inline std::vector<index_t> constant_schedule(index_t r, index_t layers) {
  detail::check_schedule_arguments("constant_schedule", r, layers);
  return std::vector<index_t>(static_cast<std::size_t>(layers), r);
}

inline std::vector<index_t> tome_schedule(index_t r, double inflection, index_t layers) {
  constexpr const char* function = "tome_schedule";
  detail::check_schedule_arguments(function, r, layers);
  if (!(inflection >= -1.0 && inflection <= 1.0)) {
    detail::raise<value_error>(function, ": inflection = ", inflection, " but must be in [-1, 1]");
  }
  std::vector<index_t> schedule(static_cast<std::size_t>(layers));
  const auto first = static_cast<index_t>(static_cast<double>(r) * (1.0 - inflection));
  const index_t last = 2 * r - first;
  // One layer: the line has no slope (ToMe divides by layers - 1; its single value is `first`).
  const double step = layers > 1 ? static_cast<double>(last - first) / static_cast<double>(layers - 1) : 0.0;
  for (index_t layer = 0; layer < layers; ++layer) {
    schedule[static_cast<std::size_t>(layer)] =
        static_cast<index_t>(static_cast<double>(first) + step * static_cast<double>(layer));
  }
  return schedule;
}

inline std::vector<index_t> explicit_schedule(const std::vector<index_t>& per_layer, index_t layers) {
  constexpr const char* function = "explicit_schedule";
  detail::check_schedule_arguments(function, 0, layers);
  if (static_cast<index_t>(per_layer.size()) > layers) {
    detail::raise<value_error>(function, ": the list has ", per_layer.size(), " entries but layers = ", layers);
  }
  for (std::size_t layer = 0; layer < per_layer.size(); ++layer) {
    if (per_layer[layer] < 0) {
      detail::raise<value_error>(function, ": r[", layer, "] = ", per_layer[layer], " but must be >= 0");
    }
  }
  std::vector<index_t> schedule(per_layer);
  schedule.resize(static_cast<std::size_t>(layers), 0);
  return schedule;
}

inline std::vector<index_t> rmeeto_schedule(index_t r, index_t layers) {
  detail::check_schedule_arguments("rmeeto_schedule", r, layers);
  std::vector<index_t> schedule(static_cast<std::size_t>(layers), 0);
  for (index_t layer = 2; layer < layers; layer += 2) schedule[static_cast<std::size_t>(layer)] = r;
  return schedule;
}

// Entry i is the number of tokens after layer i. The class token's position is followed as the
// plans follow it only for class_token_handling::take_out (floor(p (T - r) / T)); with tome
// handling its position depends on the data, so the clamp assumes it stays where it was.
inline std::vector<index_t> tokens_after(index_t tokens, const std::vector<index_t>& schedule,
                                         matching_options options = {}) {
  std::vector<index_t> counts;
  counts.reserve(schedule.size());
  for (index_t r : schedule) {
    if (r < 0) detail::raise<value_error>("tokens_after: a scheduled r = ", r, " but must be >= 0");
    if (options.class_token >= tokens) options.class_token = tokens - 1;
    const index_t used = clamped_r(tokens, r, options);
    if (options.class_token >= 0 && options.class_handling == class_token_handling::take_out) {
      options.class_token = options.class_token * (tokens - used) / tokens;
    }
    tokens -= used;
    counts.push_back(tokens);
  }
  return counts;
}

}  // namespace rescan
