#include "common/io/fashion_mnist.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include "common/io/file_error.hpp"
#include "common/io/idx.hpp"

namespace rescan_examples {
namespace {

constexpr index_t image_side = 28;
constexpr const char* how_to_install =
    "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set "
    "RESCAN_FASHION_MNIST_DIR to a directory holding train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz";

bool is_directory(const std::string& path) {
  struct stat status {};
  return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

bool exists(const std::string& path) {
  struct stat status {};
  return ::stat(path.c_str(), &status) == 0;
}

// One split from its image file (count, 28, 28) and label file (count).
image_dataset load_split(const std::string& directory, const std::string& prefix) {
  const std::string images_path = directory + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = directory + "/" + prefix + "-labels-idx1-ubyte.gz";
  for (const std::string* path : {&images_path, &labels_path})
    if (!exists(*path)) detail::raise_file_error("load_fashion_mnist: ", *path, " is missing; ", how_to_install);

  idx_array images = read_idx_gz(images_path);
  if (images.dims.size() != 3 || images.dims[1] != image_side || images.dims[2] != image_side) {
    std::string dims;
    for (const index_t extent : images.dims) dims += (dims.empty() ? "" : ", ") + std::to_string(extent);
    detail::raise_file_error<format_error>("load_fashion_mnist: ", images_path, ": images have extents (", dims,
                                           ") instead of (count, 28, 28)");
  }
  const idx_array labels = read_idx_gz(labels_path);
  if (labels.dims.size() != 1)
    detail::raise_file_error<format_error>("load_fashion_mnist: ", labels_path, ": labels have rank ",
                                           labels.dims.size(), " instead of 1");
  if (labels.dims[0] != images.dims[0])
    detail::raise_file_error<format_error>("load_fashion_mnist: ", images_path, " holds ", images.dims[0],
                                           " images but ", labels_path, " holds ", labels.dims[0], " labels");

  image_dataset set;
  set.count = images.dims[0];
  set.channels = 1;
  set.height = image_side;
  set.width = image_side;
  set.pixels = std::move(images.bytes);
  set.class_names = fashion_mnist_class_names();
  set.classes = static_cast<index_t>(set.class_names.size());
  set.labels.reserve(labels.bytes.size());
  for (std::size_t i = 0; i < labels.bytes.size(); ++i) {
    if (labels.bytes[i] >= set.classes)
      detail::raise_file_error<format_error>("load_fashion_mnist: ", labels_path, ": label ", i, " is ",
                                             int{labels.bytes[i]}, ", not in [0, ", set.classes, ")");
    set.labels.push_back(labels.bytes[i]);
  }
  return set;
}

}  // namespace

std::string default_fashion_mnist_directory() {
  const char* configured = std::getenv("RESCAN_FASHION_MNIST_DIR");
  if (configured != nullptr && configured[0] != '\0') return configured;
  return "/usr/share/datasets/fashion-mnist";
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

fashion_mnist load_fashion_mnist(const std::string& directory) {
  if (!is_directory(directory))
    detail::raise_file_error("load_fashion_mnist: the directory ", directory, " does not exist; ", how_to_install);
  fashion_mnist data;
  data.train = load_split(directory, "train");
  data.test = load_split(directory, "t10k");
  return data;
}

}  // namespace rescan_examples
