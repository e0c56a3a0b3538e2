// The data of the token-merging benchmarks (CPU and CUDA): the model shapes, a standard normal
// input (the metric is the tensor itself) and ToMe's / R-MeeTo's matching settings.
#pragma once

#include <random>
#include <vector>

#include <rescan/core/config.hpp>
#include <rescan/core/view.hpp>
#include <rescan/merge/merge_options.hpp>

namespace rescan_bench {

using rescan::index_t;

struct merge_shape {
  index_t batch, tokens, channels, r;
};
inline constexpr merge_shape merge_shapes[] = {{128, 197, 192, 5}, {64, 197, 384, 11}, {32, 577, 1024, 23}};

struct merge_data {
  merge_shape shape;
  std::vector<float> x, size, out, size_out;

  explicit merge_data(index_t which) : shape(merge_shapes[which]) {
    std::mt19937 engine(11);
    std::normal_distribution<float> pick(0.0f, 1.0f);
    x.resize(static_cast<std::size_t>(shape.batch * shape.tokens * shape.channels));
    for (auto& value : x) value = pick(engine);
    size.assign(static_cast<std::size_t>(shape.batch * shape.tokens), 1.0f);
    out.resize(x.size());
    size_out.resize(size.size());
  }
  rescan::strided_view<const float, 3> x_view() const {
    return rescan::make_view(x.data(), {shape.batch, shape.tokens, shape.channels});
  }
};

inline rescan::matching_options tome_options() {
  rescan::matching_options options;
  options.class_token = 0;
  options.class_handling = rescan::class_token_handling::tome;
  options.order = rescan::merge_order::tome;
  return options;
}

inline rescan::matching_options rmeeto_options(index_t tokens) {
  rescan::matching_options options;
  options.class_token = tokens / 2;
  return options;
}

}  // namespace rescan_bench
