// The data of the Kendall tau benchmarks (CPU and CUDA): reproducible correlated pairs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_bench {

using rescan::index_t;

// splitmix64's output function of k: well-mixed 64-bit values, and easy to reproduce with numpy
// (bench/compare_scipy.py generates the same numbers).
inline std::uint64_t mix(std::uint64_t k) {
  std::uint64_t z = (k + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
inline double uniform(std::uint64_t k) { return double(mix(k) >> 11) * 0x1.0p-53; }

// x_i = u(2i), y_i = x_i + u(2i + 1): correlated (tau about 0.5), no ties.
inline std::pair<std::vector<double>, std::vector<double>> correlated(index_t n) {
  std::vector<double> x(static_cast<std::size_t>(n)), y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = uniform(2 * i);
    y[i] = x[i] + uniform(2 * i + 1);
  }
  return {x, y};
}

}  // namespace rescan_bench
