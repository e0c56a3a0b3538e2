// Mamba's fused residual add + RMSNorm (mamba_ssm's RMSNorm with prenorm and residual_in_fp32 off):
//   residual_out = hidden + residual_in   (= hidden in the first block, which has no residual)
//   normed       = residual_out · rstd · weight,   rstd = 1 / sqrt(mean(residual_out²) + eps)   per row
// Backward, with x̂ = residual_out · rstd and g = dnormed · weight:
//   dresidual_out_total = rstd · (g − x̂ · mean(g · x̂)) + dresidual_out,   dweight += Σ_rows dnormed · x̂
// and that total is the gradient of hidden and of residual_in alike.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/nn/parameter.hpp"
#include "common/nn/pass.hpp"

namespace rescan_examples {

template <class T>
class add_rms_norm {
 public:
  add_rms_norm() = default;

  // Registers prefix + ".weight" (width), ones, without weight decay. width >= 1, eps > 0.
  add_rms_norm(parameter_set<T>& params, const std::string& prefix, index_t width, double eps = 1e-5)
      : width_(width), eps_(eps) {
    const std::string function = "add_rms_norm(\"" + prefix + "\")";
    detail::check_at_least(function, "width", width, 1);
    detail::check_in_range(function, "eps", eps, 1e-30, 1.0);
    weight_ = &params.add(prefix + ".weight", {width}, /*weight_decay=*/false);
    std::fill(weight_->value.begin(), weight_->value.end(), T(1));
  }

  // hidden, residual_in (nullptr = none), residual_out, normed: (rows, width). residual_out and
  // normed are written; residual_out may be residual_in or hidden (updated in place). rows >= 0.
  void forward(const T* hidden, const T* residual_in, index_t rows, T* residual_out, T* normed, pass mode) {
    constexpr const char* function = "add_rms_norm::forward";
    check_built(function);
    detail::check_at_least(function, "rows", rows, 0);
    saved_rows_ = -1;
    if (rows > 0) {
      detail::check_given(function, "hidden", hidden);
      detail::check_given(function, "residual_out", residual_out);
      detail::check_given(function, "normed", normed);
    }
    const bool training = mode == pass::training;
    if (training) {
      normalized_.resize(std::size_t(rows * width_));
      rstd_.resize(std::size_t(rows));
    }
    const T* weight = weight_->value.data();
    const index_t width = width_;
#pragma omp parallel for schedule(static) if (rows * width > 32768)
    for (index_t row = 0; row < rows; ++row) {
      const index_t begin = row * width;
      double sum_of_squares = 0;
      for (index_t i = begin; i < begin + width; ++i) {
        const T sum = residual_in != nullptr ? hidden[i] + residual_in[i] : hidden[i];
        residual_out[i] = sum;
        sum_of_squares += double(sum) * double(sum);
      }
      const T rstd = T(1.0 / std::sqrt(sum_of_squares / double(width) + eps_));
      for (index_t i = begin; i < begin + width; ++i) {
        const T x_hat = residual_out[i] * rstd;
        normed[i] = x_hat * weight[i - begin];
        if (training) normalized_[std::size_t(i)] = x_hat;
      }
      if (training) rstd_[std::size_t(row)] = rstd;
    }
    if (training) saved_rows_ = rows;
  }

  // dnormed: (rows, width) for the rows of the last training forward; dresidual_out: the gradient
  // reaching residual_out from later blocks, (rows, width) or nullptr (zero). dsum: (rows, width),
  // written (may be dresidual_out): the gradient of hidden and of residual_in alike. Adds to the
  // weight's gradient. Consumes the saved activations.
  void backward(const T* dnormed, const T* dresidual_out, T* dsum) {
    constexpr const char* function = "add_rms_norm::backward";
    check_built(function);
    if (saved_rows_ < 0) detail::fail(function, ": no training forward pass to differentiate");
    const index_t rows = saved_rows_;
    if (rows > 0) {
      detail::check_given(function, "dnormed", dnormed);
      detail::check_given(function, "dsum", dsum);
    }
    saved_rows_ = -1;
    if (rows == 0) return;
    const T* weight = weight_->value.data();
    const index_t width = width_;
    // dweight: one fixed order over the rows per column, so the sum never depends on the threads.
    T* dweight = weight_->grad.data();
#pragma omp parallel for schedule(static) if (rows * width > 32768)
    for (index_t column = 0; column < width; ++column) {
      T sum = 0;
      for (index_t row = 0; row < rows; ++row)
        sum += dnormed[row * width + column] * normalized_[std::size_t(row * width + column)];
      dweight[column] += sum;
    }
#pragma omp parallel for schedule(static) if (rows * width > 32768)
    for (index_t row = 0; row < rows; ++row) {
      const index_t begin = row * width;
      T mean_product = 0;  // mean(g · x̂)
      for (index_t i = begin; i < begin + width; ++i)
        mean_product += dnormed[i] * weight[i - begin] * normalized_[std::size_t(i)];
      mean_product /= T(width);
      const T rstd = rstd_[std::size_t(row)];
      for (index_t i = begin; i < begin + width; ++i) {
        const T from_norm = rstd * (dnormed[i] * weight[i - begin] - normalized_[std::size_t(i)] * mean_product);
        dsum[i] = dresidual_out != nullptr ? from_norm + dresidual_out[i] : from_norm;
      }
    }
  }

  parameter<T>& weight() { return *weight_; }
  index_t width() const { return width_; }

 private:
  void check_built(const char* function) const {
    if (weight_ == nullptr) detail::fail(function, ": the layer was default-constructed (no parameters)");
  }

  parameter<T>* weight_ = nullptr;
  index_t width_ = 0;
  double eps_ = 1e-5;
  std::vector<T> normalized_;  // x̂ = residual_out · rstd, (rows, width), last training forward
  std::vector<T> rstd_;        // (rows)
  index_t saved_rows_ = -1;    // -1: nothing saved
};

}  // namespace rescan_examples
