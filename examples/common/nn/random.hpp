// The examples' own random numbers: xoshiro256** (Blackman and Vigna) seeded through splitmix64.
// Every distribution is computed here rather than with <random>'s distributions, whose output
// differs between standard libraries, so a seed gives the same model and the same batches on
// every platform.
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/nn/checks.hpp"

namespace rescan_examples {

class random_generator {
 public:
  // The four state words are four successive splitmix64 outputs of seed (never all zero).
  explicit random_generator(std::uint64_t seed) {
    for (std::uint64_t& word : state_) word = splitmix64(seed);
  }

  // 64 uniformly random bits.
  std::uint64_t next() {
    const std::uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
    const std::uint64_t shifted = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= shifted;
    state_[3] = rotate_left(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1): the top 53 bits as a double's mantissa.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi); lo <= hi, both finite.
  double uniform(double lo, double hi) {
    if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi)) {
      detail::fail("random_generator::uniform: lo = ", lo, ", hi = ", hi, " but they must be finite with lo <= hi");
    }
    return lo + (hi - lo) * uniform();
  }

  // Standard normal (Box-Muller, one value per call: no cached second value to carry around).
  double normal() {
    const double radius_uniform = 1.0 - uniform();  // in (0, 1], so the log is finite
    const double angle_uniform = uniform();
    const double two_pi = 6.283185307179586476925286766559;
    return std::sqrt(-2.0 * std::log(radius_uniform)) * std::cos(two_pi * angle_uniform);
  }

  // Normal with mean 0 and standard deviation std, drawn again while outside [-2, 2] (absolute
  // bounds, as torch.nn.init.trunc_normal_'s defaults a = -2, b = 2). std in [0, 1000].
  double truncated_normal(double std) {
    detail::check_in_range("random_generator::truncated_normal", "std", std, 0.0, 1000.0);
    for (;;) {
      const double value = std * normal();
      if (value >= -2.0 && value <= 2.0) return value;
    }
  }

  // Uniform integer in [0, n), n >= 1, without modulo bias (draws below 2^64 mod n are rejected).
  index_t below(index_t n) {
    detail::check_at_least("random_generator::below", "n", n, 1);
    const auto range = static_cast<std::uint64_t>(n);
    const std::uint64_t rejected = (0 - range) % range;  // 2^64 mod n
    for (;;) {
      const std::uint64_t bits = next();
      if (bits >= rejected) return static_cast<index_t>(bits % range);
    }
  }

  // Fisher-Yates: every permutation equally likely.
  void shuffle(std::vector<index_t>& values) {
    for (index_t i = index_t(values.size()) - 1; i > 0; --i)
      std::swap(values[std::size_t(i)], values[std::size_t(below(i + 1))]);
  }

  // An independent generator for sub-task number stream (data loading, one layer's initialization,
  // ...), derived from this generator's state and stream without advancing this one.
  random_generator fork(std::uint64_t stream) const {
    std::uint64_t seed = splitmix64(stream);
    for (const std::uint64_t word : state_) {
      std::uint64_t mixed = seed ^ word;
      seed = splitmix64(mixed);
    }
    return random_generator(seed);
  }

 private:
  static std::uint64_t rotate_left(std::uint64_t x, int bits) { return (x << bits) | (x >> (64 - bits)); }

  // Advances x by the golden-ratio increment and returns its mixed value.
  static std::uint64_t splitmix64(std::uint64_t& x) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4] = {};
};

}  // namespace rescan_examples
