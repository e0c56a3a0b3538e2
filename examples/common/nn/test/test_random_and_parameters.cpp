// random_generator (xoshiro256** seeded by splitmix64, and its distributions) and parameter_set.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/nn/parameter.hpp"
#include "common/nn/random.hpp"
#include "nn_test_support.hpp"

namespace rescan_examples::testing {

TEST_CASE("random_generator: xoshiro256** outputs for seed 0 (state = splitmix64 outputs 0xe220a8397b1dcdaf, ...)") {
  random_generator random(0);
  // Worked by hand from the published splitmix64 outputs of seed 0 and the xoshiro256** update.
  CHECK(random.next() == 0x99ec5f36cb75f2b4ULL);
  CHECK(random.next() == 0xbf6e1f784956452aULL);
  CHECK(random.next() == 0x1a5f849d4933e6e0ULL);
}

TEST_CASE("random_generator: same seed same stream, other seed other stream") {
  random_generator a(42), b(42), c(43);
  bool all_same = true, any_same_as_other = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.next(), y = b.next(), z = c.next();
    all_same = all_same && x == y;
    any_same_as_other = any_same_as_other || x == z;
  }
  CHECK(all_same);
  CHECK_FALSE(any_same_as_other);
}

TEST_CASE("random_generator: uniform, normal and truncated normal moments and ranges") {
  random_generator random(7);
  const int count = 200000;
  double sum = 0, lowest = 1, highest = 0;
  for (int i = 0; i < count; ++i) {
    const double u = random.uniform();
    sum += u;
    lowest = std::min(lowest, u);
    highest = std::max(highest, u);
  }
  CHECK(lowest >= 0.0);
  CHECK(highest < 1.0);
  CHECK(sum / count == doctest::Approx(0.5).epsilon(0.01));

  for (int i = 0; i < 1000; ++i) {
    const double u = random.uniform(-3.0, 5.0);
    CHECK((u >= -3.0 && u < 5.0));
  }
  CHECK(random.uniform(2.0, 2.0) == 2.0);

  double normal_sum = 0, normal_squares = 0;
  for (int i = 0; i < count; ++i) {
    const double x = random.normal();
    normal_sum += x;
    normal_squares += x * x;
  }
  CHECK(std::abs(normal_sum / count) < 0.01);
  CHECK(normal_squares / count == doctest::Approx(1.0).epsilon(0.02));

  // std 1.5: a quarter of the normal's mass lies outside ±2, so the bounds matter.
  double truncated_squares = 0;
  bool inside = true;
  for (int i = 0; i < count; ++i) {
    const double x = random.truncated_normal(1.5);
    inside = inside && x >= -2.0 && x <= 2.0;
    truncated_squares += x * x;
  }
  CHECK(inside);
  // Variance of N(0, 1.5²) truncated to ±2 (α = 2/1.5): σ²(1 − 2α φ(α) / (2Φ(α) − 1)) = 1.04637.
  CHECK(truncated_squares / count == doctest::Approx(1.04637).epsilon(0.02));
  CHECK(random.truncated_normal(0.0) == 0.0);
}

TEST_CASE("random_generator: below is uniform over [0, n) and shuffle permutes") {
  random_generator random(3);
  std::vector<int> histogram(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const index_t value = random.below(7);
    REQUIRE((value >= 0 && value < 7));
    ++histogram[std::size_t(value)];
  }
  for (const int bin : histogram) CHECK(std::abs(bin - 10000) < 500);
  CHECK(random.below(1) == 0);

  // n = 3 · 2^61: a plain bits % n would land below 2^62 (two thirds of the range) three times in
  // four; the rejection of the lowest 2^64 mod n = 2^62 draws makes it two times in three.
  const index_t huge = index_t(3) << 61;
  int low = 0;
  for (int i = 0; i < 20000; ++i) low += random.below(huge) < (index_t(1) << 62) ? 1 : 0;
  CHECK(low / 20000.0 == doctest::Approx(2.0 / 3).epsilon(0.03));

  std::vector<index_t> values(50);
  std::iota(values.begin(), values.end(), 0);
  random_generator first(11), second(11);
  std::vector<index_t> shuffled = values, again = values;
  first.shuffle(shuffled);
  second.shuffle(again);
  CHECK(shuffled == again);
  CHECK(shuffled != values);
  std::vector<index_t> sorted = shuffled;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == values);
  std::vector<index_t> empty;
  random.shuffle(empty);
  CHECK(empty.empty());
}

TEST_CASE("random_generator: fork gives reproducible independent streams and leaves the parent alone") {
  random_generator parent(5), twin(5);
  random_generator a = parent.fork(1), a_again = parent.fork(1), b = parent.fork(2);
  CHECK(parent.next() == twin.next());  // forking did not advance the parent
  const std::uint64_t first_a = a.next();
  CHECK(first_a == a_again.next());
  CHECK(first_a != b.next());
}

TEST_CASE("random_generator: bad arguments throw naming the function and the value") {
  random_generator random(1);
  NN_CHECK_THROWS_MENTIONING(random.below(0), rescan::value_error, "random_generator::below", "n = 0");
  NN_CHECK_THROWS_MENTIONING(random.uniform(2.0, 1.0), rescan::value_error, "random_generator::uniform", "lo = 2",
                             "hi = 1");
  NN_CHECK_THROWS_MENTIONING(random.uniform(0.0, INFINITY), rescan::value_error, "random_generator::uniform");
  NN_CHECK_THROWS_MENTIONING(random.truncated_normal(-1.0), rescan::value_error, "truncated_normal", "std = -1");
  NN_CHECK_THROWS_MENTIONING(random.truncated_normal(NAN), rescan::value_error, "truncated_normal", "std = nan");
}

TEST_CASE("parameter_set: add, find, counts, zero_grad, stable references") {
  parameter_set<float> params;
  parameter<float>& weight = params.add("layer.weight", {3, 4});
  parameter<float>& bias = params.add("layer.bias", {3}, false);
  parameter<float>& scalar = params.add("scale", {});
  CHECK(weight.size() == 12);
  CHECK(weight.grad.size() == 12);
  CHECK(weight.weight_decay);
  CHECK_FALSE(bias.weight_decay);
  CHECK(scalar.size() == 1);
  CHECK(params.count() == 3);
  CHECK(params.total_size() == 16);
  CHECK(params.find("layer.bias") == &bias);
  CHECK(params.find("missing") == nullptr);
  const parameter_set<float>& constant = params;
  CHECK(constant.find("layer.weight") == &weight);

  for (int i = 0; i < 1000; ++i) params.add("extra." + std::to_string(i), {2});
  CHECK(params.find("layer.weight") == &weight);  // still the same object after many additions
  CHECK(weight.shape == std::vector<index_t>{3, 4});

  for (parameter<float>& p : params) std::fill(p.grad.begin(), p.grad.end(), 1.0f);
  params.zero_grad();
  double grad_sum = 0;
  for (const parameter<float>& p : constant) grad_sum += std::accumulate(p.grad.begin(), p.grad.end(), 0.0);
  CHECK(grad_sum == 0.0);
  CHECK(params.begin()->name == "layer.weight");  // insertion order
}

TEST_CASE("parameter_set: duplicate names, empty names and empty extents throw") {
  parameter_set<double> params;
  params.add("w", {2});
  NN_CHECK_THROWS_MENTIONING(params.add("w", {3}), rescan::value_error, "parameter_set::add", "\"w\"", "already");
  NN_CHECK_THROWS_MENTIONING(params.add("", {3}), rescan::value_error, "parameter_set::add", "empty");
  NN_CHECK_THROWS_MENTIONING(params.add("v", {3, 0}), rescan::shape_error, "parameter_set::add", "shape[1] = 0");
  CHECK(params.count() == 1);
}

}  // namespace rescan_examples::testing
