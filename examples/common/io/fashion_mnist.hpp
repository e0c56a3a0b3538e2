// Fashion-MNIST (Zalando): 28x28 grayscale images of clothing in 10 classes, 60000 for training and
// 10000 for testing, as four gzipped IDX files. The Debian package dataset-fashion-mnist installs
// them in /usr/share/datasets/fashion-mnist.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rescan/core/config.hpp>

namespace rescan_examples {

using rescan::index_t;

// Labelled images. pixels: (count, channels, height, width) row-major, 0 = black, 255 = white;
// labels: (count), each in [0, classes); class_names: (classes).
struct image_dataset {
  index_t count = 0, height = 0, width = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  index_t classes = 0;
  std::vector<std::string> class_names;
};

struct fashion_mnist {
  image_dataset train, test;
};

// $RESCAN_FASHION_MNIST_DIR when set and not empty, else /usr/share/datasets/fashion-mnist.
std::string default_fashion_mnist_directory();

// The ten class names in label order: T-shirt/top, Trouser, ..., Ankle boot.
const std::vector<std::string>& fashion_mnist_class_names();

// Loads the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from directory. Each set has channels = 1,
// height = width = 28, classes = 10. Throws file_error when the directory or a file is missing (the
// message says how to install them), and format_error when a file is not (count, 28, 28) images or
// (count) labels, the counts of a set's images and labels differ, or a label is 10 or more.
fashion_mnist load_fashion_mnist(const std::string& directory = default_fashion_mnist_directory());

}  // namespace rescan_examples
