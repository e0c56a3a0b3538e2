// The shape of a Vision Mamba (Vim, hustvl/Vim "v2" models): image and patch sizes, width, depth,
// the mixer's sizes, and the class count. Named configurations: "tiny" (Fashion-MNIST, this
// example's demo) and the paper's "ti", "s" and "b" (224×224×3, patch 16, 196 patches + 1 class
// token, depth 24, N 16, expand 2, dt_rank ⌈D/16⌉, D = 192 / 384 / 768).
#pragma once

#include <string>
#include <vector>

#include "common/nn/mamba_mixer.hpp"

namespace rescan_examples {

struct vim_config {
  std::string name;
  index_t image_size = 28;  // square images, image_size × image_size pixels
  index_t channels = 1;
  index_t patch = 4;  // patch embedding: a convolution with kernel = stride = patch
  index_t d_model = 64;
  index_t depth = 8;
  index_t d_state = 16;
  index_t expand = 2;
  index_t d_conv = 4;
  index_t dt_rank = 0;  // 0 = ⌈d_model / 16⌉
  index_t classes = 10;

  index_t grid() const { return image_size / patch; }          // patches per side
  index_t patches() const { return grid() * grid(); }          // M
  index_t tokens() const { return patches() + 1; }              // M patches + the class token
  index_t class_position() const { return patches() / 2; }     // Vim's middle class token: M / 2
  index_t patch_features() const { return channels * patch * patch; }

  mixer_config mixer() const {
    mixer_config config;
    config.d_model = d_model;
    config.d_state = d_state;
    config.expand = expand;
    config.d_conv = d_conv;
    config.dt_rank = dt_rank;
    config.bidirectional = true;
    config.layers = depth;
    return config;
  }
};

// "tiny", "ti", "s" or "b"; throws std::invalid_argument naming the choices otherwise.
vim_config vim_config_named(const std::string& name, index_t classes = 0);  // classes 0 = the config's own
std::vector<std::string> vim_config_names();

// Checks the sizes fit together (image divisible by patch, positive widths, ...); throws
// std::invalid_argument naming the field.
void check_vim_config(const vim_config& config);

}  // namespace rescan_examples
