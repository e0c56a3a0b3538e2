// Trainable tensors and the set a model keeps them in. Each parameter holds its value and its
// gradient as flat row-major vectors, with the name and shape a PyTorch checkpoint would give it.
#pragma once

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/nn/checks.hpp"

namespace rescan_examples {

template <class T>
struct parameter {
  std::string name;            // checkpoint name, e.g. "layers.3.mixer.in_proj.weight"
  std::vector<index_t> shape;  // as the checkpoint stores it (PyTorch layout)
  std::vector<T> value, grad;  // row-major, both of size() elements
  bool weight_decay = true;    // false for biases, norm weights, A_log, D, cls_token, pos_embed

  index_t size() const { return index_t(value.size()); }
};

// The product of a shape's extents (1 for the empty shape, a scalar).
inline index_t shape_size(const std::vector<index_t>& shape) {
  index_t count = 1;
  for (const index_t extent : shape) count *= extent;
  return count;
}

// Every parameter of a model, in the order they were added (the optimizer's and the checkpoint's
// order). Stored in a deque, so a reference to a parameter stays valid as more are added.
template <class T>
class parameter_set {
 public:
  // A new parameter of the given shape (each extent >= 1), value and grad zero. Throws on a
  // duplicate name or an empty name.
  parameter<T>& add(std::string name, std::vector<index_t> shape, bool weight_decay = true) {
    if (name.empty()) detail::fail("parameter_set::add: name is empty");
    if (find(name) != nullptr) detail::fail("parameter_set::add: name \"", name, "\" is already taken");
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
      if (shape[axis] < 1) {
        detail::fail<rescan::shape_error>("parameter_set::add: \"", name, "\" shape[", axis, "] = ", shape[axis],
                                          " but every extent must be >= 1");
      }
    }
    const auto count = std::size_t(shape_size(shape));
    parameters_.push_back(parameter<T>{std::move(name), std::move(shape), std::vector<T>(count, T(0)),
                                       std::vector<T>(count, T(0)), weight_decay});
    return parameters_.back();
  }

  // The parameter of that name, or nullptr.
  parameter<T>* find(const std::string& name) {
    for (parameter<T>& p : parameters_) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }
  const parameter<T>* find(const std::string& name) const { return const_cast<parameter_set*>(this)->find(name); }

  auto begin() { return parameters_.begin(); }
  auto end() { return parameters_.end(); }
  auto begin() const { return parameters_.begin(); }
  auto end() const { return parameters_.end(); }

  // Number of tensors.
  index_t count() const { return index_t(parameters_.size()); }

  // Number of scalars in all tensors together.
  index_t total_size() const {
    index_t total = 0;
    for (const parameter<T>& p : parameters_) total += p.size();
    return total;
  }

  // Every gradient to zero (before a backward pass that accumulates).
  void zero_grad() {
    for (parameter<T>& p : parameters_) std::fill(p.grad.begin(), p.grad.end(), T(0));
  }

 private:
  std::deque<parameter<T>> parameters_;
};

}  // namespace rescan_examples
