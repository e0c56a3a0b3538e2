#include "common/io/fashion_mnist.hpp"

#include <cstdlib>
#include <numeric>

#include "common/io/binary_file.hpp"
#include "common/io/file_error.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

using test::check_mentions;
using test::message_of;

void write_gzipped_idx(const std::string& path, const std::vector<std::uint32_t>& dims,
                       const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> bytes = {0, 0, 8, static_cast<std::uint8_t>(dims.size())};
  for (const std::uint32_t extent : dims)
    for (const int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<std::uint8_t>(extent >> shift));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  const std::vector<std::uint8_t> gz = test::gzip_compress(bytes);
  write_file_atomically(path, gz.data(), gz.size());
}

// The four files in scratch: train_images training images of side x side pixels with train_labels,
// and two well-formed test images.
void write_small_set(const test::scratch_directory& scratch, std::uint32_t train_images, std::uint32_t side,
                     const std::vector<std::uint8_t>& train_labels) {
  const std::vector<std::uint8_t> pixels(std::size_t{train_images} * side * side, 128);
  write_gzipped_idx(scratch.file("train-images-idx3-ubyte.gz"), {train_images, side, side}, pixels);
  write_gzipped_idx(scratch.file("train-labels-idx1-ubyte.gz"), {static_cast<std::uint32_t>(train_labels.size())},
                    train_labels);
  write_gzipped_idx(scratch.file("t10k-images-idx3-ubyte.gz"), {2, 28, 28}, std::vector<std::uint8_t>(2 * 28 * 28, 7));
  write_gzipped_idx(scratch.file("t10k-labels-idx1-ubyte.gz"), {2}, {0, 9});
}

TEST_CASE("the installed Fashion-MNIST loads with its documented counts and first label") {
  const fashion_mnist data = load_fashion_mnist();
  for (const image_dataset* set : {&data.train, &data.test}) {
    CHECK(set->channels == 1);
    CHECK(set->height == 28);
    CHECK(set->width == 28);
    CHECK(set->classes == 10);
    CHECK(set->pixels.size() == static_cast<std::size_t>(set->count * 28 * 28));
    CHECK(set->labels.size() == static_cast<std::size_t>(set->count));
    CHECK(set->class_names.size() == 10);
  }
  CHECK(data.train.count == 60000);
  CHECK(data.test.count == 10000);
  CHECK(data.train.labels[0] == 9);
  CHECK(data.train.class_names[9] == "Ankle boot");
  CHECK(data.train.class_names[0] == "T-shirt/top");
  // Every class appears equally often: 6000 times in training, 1000 times in the test set.
  std::vector<int> histogram(10, 0);
  for (const std::int32_t label : data.train.labels) ++histogram[static_cast<std::size_t>(label)];
  CHECK(histogram == std::vector<int>(10, 6000));
  // The first image is not blank.
  CHECK(std::accumulate(data.train.pixels.begin(), data.train.pixels.begin() + 784, 0) > 0);
}

TEST_CASE("a small well-formed directory loads") {
  test::scratch_directory scratch;
  write_small_set(scratch, 3, 28, {9, 0, 4});
  const fashion_mnist data = load_fashion_mnist(scratch.path());
  CHECK(data.train.count == 3);
  CHECK(data.train.labels == std::vector<std::int32_t>{9, 0, 4});
  CHECK(data.train.pixels == std::vector<std::uint8_t>(3 * 784, 128));
  CHECK(data.test.count == 2);
  CHECK(data.test.labels == std::vector<std::int32_t>{0, 9});
}

TEST_CASE("a missing directory or file tells how to install the data set") {
  test::scratch_directory scratch;
  const std::string absent = scratch.file("nowhere");
  check_mentions(message_of<file_error>([&] { load_fashion_mnist(absent); }),
                 {"load_fashion_mnist", absent, "apt-get install dataset-fashion-mnist", "RESCAN_FASHION_MNIST_DIR"});
  write_small_set(scratch, 3, 28, {1, 2, 3});
  std::remove(scratch.file("t10k-labels-idx1-ubyte.gz").c_str());
  check_mentions(message_of<file_error>([&] { load_fashion_mnist(scratch.path()); }),
                 {"t10k-labels-idx1-ubyte.gz", "is missing", "dataset-fashion-mnist", "RESCAN_FASHION_MNIST_DIR"});
}

TEST_CASE("count mismatches, labels of 10 or more and wrong image sizes are format errors") {
  test::scratch_directory scratch;
  write_small_set(scratch, 3, 28, {1, 2});
  check_mentions(message_of<format_error>([&] { load_fashion_mnist(scratch.path()); }),
                 {"train-images-idx3-ubyte.gz", "3 images", "2 labels"});
  write_small_set(scratch, 3, 28, {1, 10, 2});
  check_mentions(message_of<format_error>([&] { load_fashion_mnist(scratch.path()); }),
                 {"train-labels-idx1-ubyte.gz", "label 1 is 10", "[0, 10)"});
  write_small_set(scratch, 3, 14, {1, 2, 3});
  check_mentions(message_of<format_error>([&] { load_fashion_mnist(scratch.path()); }),
                 {"train-images-idx3-ubyte.gz", "(3, 14, 14)", "(count, 28, 28)"});
  write_small_set(scratch, 3, 28, {1, 2, 3});
  write_gzipped_idx(scratch.file("train-labels-idx1-ubyte.gz"), {3, 1}, {1, 2, 3});
  check_mentions(message_of<format_error>([&] { load_fashion_mnist(scratch.path()); }),
                 {"train-labels-idx1-ubyte.gz", "rank 2"});
}

TEST_CASE("the default directory follows RESCAN_FASHION_MNIST_DIR") {
  const char* saved = std::getenv("RESCAN_FASHION_MNIST_DIR");
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("RESCAN_FASHION_MNIST_DIR", "/data/fm", 1);
  CHECK(default_fashion_mnist_directory() == "/data/fm");
  ::setenv("RESCAN_FASHION_MNIST_DIR", "", 1);
  CHECK(default_fashion_mnist_directory() == "/usr/share/datasets/fashion-mnist");
  ::unsetenv("RESCAN_FASHION_MNIST_DIR");
  CHECK(default_fashion_mnist_directory() == "/usr/share/datasets/fashion-mnist");
  if (saved != nullptr) ::setenv("RESCAN_FASHION_MNIST_DIR", restore.c_str(), 1);
}

}  // namespace
}  // namespace rescan_examples
