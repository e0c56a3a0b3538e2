// PyTorch's nn.Linear: y = x Wᵀ + b, weight (out, in) row-major, optional bias (out).
//   forward:  y = x Wᵀ + b
//   backward: dx = dy W,  dW += dyᵀ x,  db += Σ_rows dy
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "common/nn/matrix.hpp"
#include "common/nn/parameter.hpp"
#include "common/nn/pass.hpp"
#include "common/nn/random.hpp"

namespace rescan_examples {

template <class T>
class linear {
 public:
  linear() = default;

  // Registers prefix + ".weight" with shape weight_shape (default {out, in}; any shape with
  // out · in elements and out first, e.g. a patch embedding's conv {out, C, p, p}, same memory)
  // and, when bias, prefix + ".bias" (out) without weight decay. in, out >= 1.
  linear(parameter_set<T>& params, const std::string& prefix, index_t in, index_t out, bool bias,
         std::vector<index_t> weight_shape = {})
      : in_(in), out_(out) {
    const std::string function = "linear(\"" + prefix + "\")";
    detail::check_at_least(function, "in", in, 1);
    detail::check_at_least(function, "out", out, 1);
    if (weight_shape.empty()) weight_shape = {out, in};
    if (weight_shape.front() != out || shape_size(weight_shape) != out * in) {
      detail::fail<rescan::shape_error>(function, ": weight_shape has ", shape_size(weight_shape),
                                        " elements and first extent ", weight_shape.front(), " but out = ", out,
                                        ", in = ", in, " need ", out * in, " elements and first extent ", out);
    }
    weight_ = &params.add(prefix + ".weight", std::move(weight_shape));
    if (bias) bias_ = &params.add(prefix + ".bias", {out}, /*weight_decay=*/false);
  }

  // PyTorch's default initialization: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)), weight first.
  void init_default(random_generator& random) {
    const double bound = 1.0 / std::sqrt(double(in_));
    for (T& w : weight().value) w = T(random.uniform(-bound, bound));
    if (bias_ != nullptr) {
      for (T& b : bias_->value) b = T(random.uniform(-bound, bound));
    }
  }

  // x: (rows, in) -> y: (rows, out), written; y must not overlap x. rows >= 0. In training keeps
  // a copy of x.
  void forward(const T* x, index_t rows, T* y, pass mode) {
    check_built("linear::forward");
    detail::check_at_least("linear::forward", "rows", rows, 0);
    saved_rows_ = -1;
    if (rows == 0) {
      if (mode == pass::training) saved_rows_ = 0;
      return;
    }
    detail::check_given("linear::forward", "x", x);
    detail::check_given("linear::forward", "y", y);
    if (mode == pass::training) saved_x_.assign(x, x + rows * in_);
    auto output = detail::as_matrix(y, rows, out_);
    output.noalias() = detail::as_matrix(x, rows, in_) * weight_matrix().transpose();
    if (bias_ != nullptr) output.rowwise() += detail::as_matrix<const T>(bias_->value.data(), 1, out_).row(0);
    if (mode == pass::training) saved_rows_ = rows;
  }

  // dy: (rows, out) for the rows of the last training forward -> dx: (rows, in), written (nullptr:
  // skipped, e.g. for the first layer). Adds dW = dyᵀ x and db = Σ_rows dy to the gradients.
  // Consumes the saved input: a second backward needs a new training forward.
  void backward(const T* dy, T* dx) {
    check_built("linear::backward");
    if (saved_rows_ < 0) detail::fail("linear::backward: no training forward pass to differentiate");
    const index_t rows = saved_rows_;
    if (rows > 0) detail::check_given("linear::backward", "dy", dy);
    saved_rows_ = -1;
    if (rows == 0) return;
    const auto dout = detail::as_matrix(dy, rows, out_);
    detail::as_matrix(weight().grad.data(), out_, in_).noalias() +=
        dout.transpose() * detail::as_matrix<const T>(saved_x_.data(), rows, in_);
    if (bias_ != nullptr) detail::as_matrix(bias_->grad.data(), 1, out_) += dout.colwise().sum();
    if (dx != nullptr) detail::as_matrix(dx, rows, in_).noalias() = dout * weight_matrix();
  }

  parameter<T>& weight() { return *weight_; }
  parameter<T>* bias() { return bias_; }
  index_t in() const { return in_; }
  index_t out() const { return out_; }

 private:
  void check_built(const char* function) const {
    if (weight_ == nullptr) detail::fail(function, ": the layer was default-constructed (no parameters)");
  }
  auto weight_matrix() const { return detail::as_matrix<const T>(weight_->value.data(), out_, in_); }

  parameter<T>* weight_ = nullptr;
  parameter<T>* bias_ = nullptr;
  index_t in_ = 0, out_ = 0;
  std::vector<T> saved_x_;   // (rows, in), the last training forward's input
  index_t saved_rows_ = -1;  // -1: nothing saved
};

}  // namespace rescan_examples
