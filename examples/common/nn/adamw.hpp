// AdamW (Loshchilov and Hutter; torch.optim.AdamW's update), global gradient-norm clipping and the
// warm-up + cosine learning-rate schedule. Moments are kept in double, whatever T is.
#pragma once

#include <cmath>
#include <vector>

#include "common/nn/parameter.hpp"

namespace rescan_examples {

struct adamw_options {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.05;
};

template <class T>
class adamw {
 public:
  // Moments for every parameter of params as it is now: add no parameter afterwards. beta1, beta2
  // in [0, 1), eps > 0, weight_decay >= 0.
  explicit adamw(parameter_set<T>& params, adamw_options options = {}) : params_(&params), options_(options) {
    constexpr const char* function = "adamw";
    detail::check_in_range(function, "options.beta1", options.beta1, 0.0, 0.999999999);
    detail::check_in_range(function, "options.beta2", options.beta2, 0.0, 0.999999999);
    detail::check_in_range(function, "options.eps", options.eps, 1e-300, 1.0);
    detail::check_in_range(function, "options.weight_decay", options.weight_decay, 0.0, 1e6);
    for (const parameter<T>& p : params) {
      first_moment_.emplace_back(std::size_t(p.size()), 0.0);
      second_moment_.emplace_back(std::size_t(p.size()), 0.0);
    }
  }

  // One step with learning rate lr >= 0, t = steps() + 1. For each element:
  //   p −= lr · weight_decay · p                 (only parameters with weight_decay)
  //   m = β1 m + (1 − β1) g,  v = β2 v + (1 − β2) g²
  //   p −= lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)
  void step(double lr) {
    constexpr const char* function = "adamw::step";
    detail::check_in_range(function, "lr", lr, 0.0, 1e6);
    if (params_->count() != index_t(first_moment_.size())) {
      detail::fail(function, ": the parameter set has ", params_->count(), " tensors but the optimizer was built for ",
                   first_moment_.size());
    }
    ++steps_;
    const double correction1 = 1.0 - std::pow(options_.beta1, double(steps_));
    const double correction2 = 1.0 - std::pow(options_.beta2, double(steps_));
    std::size_t tensor = 0;
    for (parameter<T>& p : *params_) {
      std::vector<double>& m = first_moment_[tensor];
      std::vector<double>& v = second_moment_[tensor];
      ++tensor;
      if (m.size() != p.value.size() || p.grad.size() != p.value.size()) {
        detail::fail(function, ": parameter \"", p.name, "\" has ", p.value.size(), " values and ", p.grad.size(),
                     " gradients but the optimizer holds ", m.size(), " moments");
      }
      const double decay = p.weight_decay ? 1.0 - lr * options_.weight_decay : 1.0;
      const index_t count = p.size();
#pragma omp parallel for schedule(static) if (count > 65536)
      for (index_t i = 0; i < count; ++i) {
        const auto k = std::size_t(i);
        const double g = double(p.grad[k]);
        m[k] = options_.beta1 * m[k] + (1.0 - options_.beta1) * g;
        v[k] = options_.beta2 * v[k] + (1.0 - options_.beta2) * g * g;
        const double update = (m[k] / correction1) / (std::sqrt(v[k] / correction2) + options_.eps);
        p.value[k] = T(double(p.value[k]) * decay - lr * update);
      }
    }
  }

  // Steps taken so far.
  index_t steps() const { return steps_; }

 private:
  parameter_set<T>* params_;
  adamw_options options_;
  std::vector<std::vector<double>> first_moment_, second_moment_;  // one per tensor, in set order
  index_t steps_ = 0;
};

// The global L2 norm of every gradient, summed in double in the set's order. When it is above
// max_norm (> 0), every gradient is multiplied by max_norm / (norm + 1e-6) (torch's
// clip_grad_norm_). A non-finite norm leaves the gradients as they are. Returns the norm before clipping.
template <class T>
double clip_grad_norm(parameter_set<T>& params, double max_norm) {
  detail::check_in_range("clip_grad_norm", "max_norm", max_norm, 1e-300, 1e300);
  double sum_of_squares = 0;
  for (const parameter<T>& p : params) {
    for (const T g : p.grad) sum_of_squares += double(g) * double(g);
  }
  const double norm = std::sqrt(sum_of_squares);
  if (std::isfinite(norm) && norm > max_norm) {
    const double factor = max_norm / (norm + 1e-6);
    for (parameter<T>& p : params) {
      for (T& g : p.grad) g = T(double(g) * factor);
    }
  }
  return norm;
}

// The learning rate at step (0-based): linear warm-up peak · step / warmup for step < warmup,
// then cosine from peak down to floor: floor + (peak − floor) (1 + cos(π (step − warmup) /
// (total − warmup))) / 2 for warmup <= step < total, and floor from total on. 0 <= warmup <= total.
inline double cosine_schedule(index_t step, index_t total, index_t warmup, double peak, double floor) {
  constexpr const char* function = "cosine_schedule";
  detail::check_at_least(function, "step", step, 0);
  detail::check_at_least(function, "warmup", warmup, 0);
  detail::check_at_least(function, "total", total, warmup);
  if (step < warmup) return peak * double(step) / double(warmup);
  if (step >= total) return floor;
  const double progress = double(step - warmup) / double(total - warmup);
  const double pi = 3.14159265358979323846264338327950288;
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(pi * progress));
}

}  // namespace rescan_examples
