// Parameters <-> safetensors: round trip, and every misfit (missing, extra, misshaped, non-finite,
// unreadable) is an error that leaves the parameters as they were.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "common/checkpoint/parameter_checkpoint.hpp"

using namespace rescan_examples;

namespace {

parameter_set<float> two_tensors(float base) {
  parameter_set<float> params;
  parameter<float>& weight = params.add("layer.weight", {2, 3});
  parameter<float>& bias = params.add("layer.bias", {3}, false);
  for (index_t i = 0; i < weight.size(); ++i) weight.value[static_cast<std::size_t>(i)] = base + static_cast<float>(i);
  for (index_t i = 0; i < bias.size(); ++i) bias.value[static_cast<std::size_t>(i)] = -base - static_cast<float>(i);
  return params;
}

std::string temporary(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }

void expect_rejected(const std::string& path, const char* expected) {
  parameter_set<float> target = two_tensors(100);
  CHECK_THROWS_WITH_AS(load_checkpoint(path, target), doctest::Contains(expected), format_error);
  CHECK(target.find("layer.weight")->value == two_tensors(100).find("layer.weight")->value);
  CHECK(target.find("layer.bias")->value == two_tensors(100).find("layer.bias")->value);
}

}  // namespace

TEST_CASE("checkpoint: round trip of values and metadata") {
  const std::string path = temporary("rescan_checkpoint_roundtrip.safetensors");
  save_checkpoint(path, two_tensors(0.5f), {{"config", "tiny"}});
  parameter_set<float> loaded = two_tensors(100);
  const auto metadata = load_checkpoint(path, loaded);
  CHECK(metadata.at("config") == "tiny");
  CHECK(loaded.find("layer.weight")->value == two_tensors(0.5f).find("layer.weight")->value);
  CHECK(loaded.find("layer.bias")->value == two_tensors(0.5f).find("layer.bias")->value);

  parameter_set<double> as_double;
  as_double.add("layer.weight", {2, 3});
  as_double.add("layer.bias", {3});
  load_checkpoint(path, as_double);
  CHECK(as_double.find("layer.bias")->value[2] == -2.5);
  std::filesystem::remove(path);
}

TEST_CASE("checkpoint: missing, extra, misshaped and non-finite tensors are named") {
  const std::string path = temporary("rescan_checkpoint_misfit.safetensors");
  SUBCASE("missing") {
    parameter_set<float> only_weight;
    only_weight.add("layer.weight", {2, 3});
    save_checkpoint(path, only_weight);
    expect_rejected(path, "missing layer.bias");
  }
  SUBCASE("extra") {
    parameter_set<float> more = two_tensors(1);
    more.add("layer.scale", {3});
    save_checkpoint(path, more);
    expect_rejected(path, "not in the model layer.scale");
  }
  SUBCASE("misshaped") {
    parameter_set<float> transposed;
    transposed.add("layer.weight", {3, 2});
    transposed.add("layer.bias", {3});
    save_checkpoint(path, transposed);
    expect_rejected(path, "misshaped layer.weight (3, 2) but the model has (2, 3)");
  }
  SUBCASE("non-finite") {
    parameter_set<float> broken = two_tensors(1);
    broken.find("layer.bias")->value[1] = std::numeric_limits<float>::quiet_NaN();
    save_checkpoint(path, broken);
    expect_rejected(path, "non-finite values in layer.bias");
  }
  std::filesystem::remove(path);
}

TEST_CASE("checkpoint: an unreadable or truncated file is an error, the parameters untouched") {
  const std::string missing = temporary("rescan_checkpoint_does_not_exist.safetensors");
  std::filesystem::remove(missing);
  parameter_set<float> target = two_tensors(3);
  CHECK_THROWS_AS(load_checkpoint(missing, target), file_error);
  CHECK(target.find("layer.weight")->value == two_tensors(3).find("layer.weight")->value);

  const std::string path = temporary("rescan_checkpoint_truncated.safetensors");
  save_checkpoint(path, two_tensors(1));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  CHECK_THROWS_AS(load_checkpoint(path, target), file_error);
  CHECK(target.find("layer.weight")->value == two_tensors(3).find("layer.weight")->value);
  std::filesystem::remove(path);
}
