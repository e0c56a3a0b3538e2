// A model's parameters <-> a safetensors file, under the parameters' own names (which follow the
// official checkpoints, so an official model converted to safetensors loads). Saving is atomic;
// loading checks the whole file against the model before it writes a single value, so a bad file
// leaves the model as it was.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/io/file_error.hpp"
#include "common/io/safetensors.hpp"
#include "common/nn/parameter.hpp"

namespace rescan_examples {

// Writes every parameter (as float32, in registration order) and the metadata strings to path.
template <class T>
void save_checkpoint(const std::string& path, const parameter_set<T>& params,
                     const std::map<std::string, std::string>& metadata = {}) {
  safetensors_file file;
  file.metadata = metadata;
  for (const parameter<T>& p : params) {
    safetensors_tensor tensor;
    tensor.name = p.name;
    tensor.shape = p.shape;
    tensor.values.assign(p.value.begin(), p.value.end());
    file.tensors.push_back(std::move(tensor));
  }
  write_safetensors(path, file);
}

namespace detail {

inline std::string shape_string(const std::vector<index_t>& shape) {
  std::ostringstream text;
  text << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) text << (i ? ", " : "") << shape[i];
  text << (shape.size() == 1 ? ",)" : ")");
  return text.str();
}

// "a, b, c" for up to `shown` names, then "and N more".
inline std::string name_list(const std::vector<std::string>& names, std::size_t shown = 5) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

}  // namespace detail

// Reads path into params: every parameter must be in the file with its shape, and the file may
// hold nothing else; every value must be finite. Throws format_error naming the missing, extra,
// misshaped or non-finite tensors (params untouched then). Returns the file's metadata.
template <class T>
std::map<std::string, std::string> load_checkpoint(const std::string& path, parameter_set<T>& params) {
  const safetensors_file file = read_safetensors(path);
  std::vector<std::string> missing, misshaped, extra, non_finite;
  for (const parameter<T>& p : params) {
    const safetensors_tensor* tensor = file.find(p.name);
    if (tensor == nullptr) {
      missing.push_back(p.name);
    } else if (tensor->shape != p.shape) {
      misshaped.push_back(p.name + " " + detail::shape_string(tensor->shape) + " but the model has " +
                          detail::shape_string(p.shape));
    } else if (!std::all_of(tensor->values.begin(), tensor->values.end(), [](float v) { return std::isfinite(v); })) {
      non_finite.push_back(p.name);
    }
  }
  for (const safetensors_tensor& tensor : file.tensors) {
    if (params.find(tensor.name) == nullptr) extra.push_back(tensor.name);
  }
  if (!missing.empty() || !misshaped.empty() || !extra.empty() || !non_finite.empty()) {
    std::string message = "checkpoint " + path + " does not fit the model:";
    if (!missing.empty()) message += " missing " + detail::name_list(missing) + ";";
    if (!misshaped.empty()) message += " misshaped " + detail::name_list(misshaped) + ";";
    if (!extra.empty()) message += " not in the model " + detail::name_list(extra) + ";";
    if (!non_finite.empty()) message += " non-finite values in " + detail::name_list(non_finite) + ";";
    message.pop_back();
    throw format_error(message);
  }
  for (parameter<T>& p : params) {
    const safetensors_tensor& tensor = *file.find(p.name);
    p.value.assign(tensor.values.begin(), tensor.values.end());
  }
  return file.metadata;
}

}  // namespace rescan_examples
