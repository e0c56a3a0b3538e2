#include "vim_config.hpp"

#include <stdexcept>

namespace rescan_examples {

namespace {

vim_config paper_config(const std::string& name, index_t d_model) {
  vim_config config;
  config.name = name;
  config.image_size = 224;
  config.channels = 3;
  config.patch = 16;
  config.d_model = d_model;
  config.depth = 24;
  config.d_state = 16;
  config.classes = 1000;
  return config;
}

}  // namespace

std::vector<std::string> vim_config_names() { return {"tiny", "ti", "s", "b"}; }

vim_config vim_config_named(const std::string& name, index_t classes) {
  vim_config config;
  if (name == "tiny") {
    // Fashion-MNIST: 28×28×1 in 4×4 patches gives 49 patches + the class token.
    config.name = name;
    config.image_size = 28;
    config.channels = 1;
    config.patch = 4;
    config.d_model = 64;
    config.depth = 8;
    config.d_state = 16;
    config.classes = 10;
  } else if (name == "ti") {
    config = paper_config(name, 192);
  } else if (name == "s") {
    config = paper_config(name, 384);
  } else if (name == "b") {
    config = paper_config(name, 768);
  } else {
    throw std::invalid_argument("unknown Vim configuration '" + name + "' (choose tiny, ti, s or b)");
  }
  if (classes > 0) config.classes = classes;
  check_vim_config(config);
  return config;
}

void check_vim_config(const vim_config& config) {
  auto require = [&](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("Vim configuration '" + config.name + "': " + what);
  };
  require(config.image_size > 0, "image_size = " + std::to_string(config.image_size) + " but must be > 0");
  require(config.channels > 0, "channels = " + std::to_string(config.channels) + " but must be > 0");
  require(config.patch > 0 && config.image_size % config.patch == 0,
          "patch = " + std::to_string(config.patch) + " must divide image_size = " + std::to_string(config.image_size));
  require(config.d_model > 0, "d_model = " + std::to_string(config.d_model) + " but must be > 0");
  require(config.depth > 0, "depth = " + std::to_string(config.depth) + " but must be > 0");
  require(config.d_state > 0 && config.d_state <= 256,
          "d_state = " + std::to_string(config.d_state) + " but must be in [1, 256]");
  require(config.expand > 0, "expand = " + std::to_string(config.expand) + " but must be > 0");
  require(config.d_conv > 0, "d_conv = " + std::to_string(config.d_conv) + " but must be > 0");
  require(config.dt_rank >= 0, "dt_rank = " + std::to_string(config.dt_rank) + " but must be >= 0");
  require(config.classes > 0, "classes = " + std::to_string(config.classes) + " but must be > 0");
}

}  // namespace rescan_examples
