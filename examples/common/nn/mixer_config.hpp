// The sizes and initialization ranges of a Mamba-1 mixer (mamba_ssm's Mamba, Vim's bimamba v2).
#pragma once

#include <string>

#include <rescan/scan/selective_scan_arguments.hpp>

#include "common/nn/checks.hpp"

namespace rescan_examples {

struct mixer_config {
  index_t d_model = 0, d_state = 16, expand = 2, d_conv = 4, dt_rank = 0;  // dt_rank 0 = ceil(d_model / 16)
  bool bidirectional = true;  // Vim's v2: a second branch over the reversed tokens
  double dt_min = 1e-3, dt_max = 1e-1, dt_init_floor = 1e-4;
  index_t layers = 1;  // depth of the model, for out_proj's rescaling at init

  index_t inner() const { return expand * d_model; }                            // E
  index_t rank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }  // R
};

// Throws a rescan::value_error naming the field: d_model, expand, d_conv, layers >= 1; d_state in
// [1, 256] (the scan's limit); dt_rank >= 0; 0 < dt_min <= dt_max; dt_init_floor >= 0.
inline void check_mixer_config(const std::string& function, const mixer_config& config) {
  detail::check_at_least(function, "config.d_model", config.d_model, 1);
  detail::check_at_least(function, "config.d_state", config.d_state, 1);
  if (config.d_state > rescan::selective_scan_max_state) {
    detail::fail(function, ": config.d_state = ", config.d_state,
                 " but it must be <= ", rescan::selective_scan_max_state);
  }
  detail::check_at_least(function, "config.expand", config.expand, 1);
  detail::check_at_least(function, "config.d_conv", config.d_conv, 1);
  detail::check_at_least(function, "config.dt_rank", config.dt_rank, 0);
  detail::check_at_least(function, "config.layers", config.layers, 1);
  detail::check_in_range(function, "config.dt_min", config.dt_min, 1e-30, 1e30);
  detail::check_in_range(function, "config.dt_max", config.dt_max, config.dt_min, 1e30);
  detail::check_in_range(function, "config.dt_init_floor", config.dt_init_floor, 0.0, 1e30);
}

}  // namespace rescan_examples
