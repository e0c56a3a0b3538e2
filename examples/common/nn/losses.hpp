// Classification losses and accuracy over logits (rows, classes) row-major, with their gradients
// with respect to the logits. Losses are returned in double (summed in double); gradients have the
// logits' type. Row statistics (log-sum-exp, softmax, argmax) come from rescan's reductions.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <rescan/cpu/reduce.hpp>
#include <rescan/reduce/argmax.hpp>
#include <rescan/reduce/logsumexp.hpp>
#include <rescan/reduce/softmax.hpp>

#include "common/nn/checks.hpp"

namespace rescan_examples {

namespace detail {

// rows, classes >= 1, logits given, every label in [0, classes).
template <class T>
void check_classification(const char* function, const T* logits, const std::int32_t* labels, index_t rows,
                          index_t classes) {
  check_at_least(function, "rows", rows, 1);
  check_at_least(function, "classes", classes, 1);
  check_given(function, "logits", logits);
  check_given(function, "labels", labels);
  for (index_t row = 0; row < rows; ++row) {
    if (labels[row] < 0 || labels[row] >= classes) {
      fail(function, ": labels[", row, "] = ", labels[row], " but it must be in [0, ", classes, ")");
    }
  }
}

// log Σ_c exp(values[row, c]) per row: (rows).
template <class T>
std::vector<T> row_logsumexp(const T* values, index_t rows, index_t classes) {
  std::vector<T> result(static_cast<std::size_t>(rows));
  rescan::logsumexp(rescan::cpu, rescan::make_view(values, {rows, classes}), rescan::make_view(result.data(), rows));
  return result;
}

}  // namespace detail

// logits: (rows, classes); labels: (rows) in [0, classes). Returns the mean over rows of the
// cross-entropy against the label-smoothed target q = (1 − ε) one_hot(label) + ε / classes (torch's
// label_smoothing = ε in [0, 1]):  loss_row = logsumexp(x) − Σ_c q_c x_c.
// dlogits: (rows, classes), written with scale · (softmax(x) − q) / rows; nullptr skips it.
template <class T>
double cross_entropy(const T* logits, const std::int32_t* labels, index_t rows, index_t classes, double label_smoothing,
                     rescan::detail::non_deduced<T>* dlogits, double scale = 1.0) {
  constexpr const char* function = "cross_entropy";
  detail::check_classification(function, logits, labels, rows, classes);
  detail::check_in_range(function, "label_smoothing", label_smoothing, 0.0, 1.0);
  const double on_label = 1.0 - label_smoothing, everywhere = label_smoothing / double(classes);
  const std::vector<T> lse = detail::row_logsumexp(logits, rows, classes);
  double total = 0;
  for (index_t row = 0; row < rows; ++row) {
    const T* x = logits + row * classes;
    double row_sum = 0;
    for (index_t c = 0; c < classes; ++c) row_sum += double(x[c]);
    total += double(lse[std::size_t(row)]) - on_label * double(x[labels[row]]) - everywhere * row_sum;
  }
  if (dlogits != nullptr) {
    rescan::softmax(rescan::cpu, rescan::make_view(logits, {rows, classes}),
                    rescan::make_view(dlogits, {rows, classes}));
    const double factor = scale / double(rows);
    for (index_t row = 0; row < rows; ++row) {
      T* gradient = dlogits + row * classes;
      for (index_t c = 0; c < classes; ++c) {
        const double target = everywhere + (c == labels[row] ? on_label : 0.0);
        gradient[c] = T(factor * (double(gradient[c]) - target));
      }
    }
  }
  return total / double(rows);
}

// student_logits, teacher_logits: (rows, classes). Returns the mean over rows of
// τ² · KL(p ‖ q), p = softmax(teacher / τ) (held constant), q = softmax(student / τ), τ > 0.
// dstudent: (rows, classes), written with scale · τ · (q − p) / rows; nullptr skips it.
template <class T>
double kl_distillation(const T* student_logits, const T* teacher_logits, index_t rows, index_t classes,
                       double temperature, rescan::detail::non_deduced<T>* dstudent, double scale = 1.0) {
  constexpr const char* function = "kl_distillation";
  detail::check_at_least(function, "rows", rows, 1);
  detail::check_at_least(function, "classes", classes, 1);
  detail::check_given(function, "student_logits", student_logits);
  detail::check_given(function, "teacher_logits", teacher_logits);
  detail::check_in_range(function, "temperature", temperature, 1e-6, 1e6);
  const index_t count = rows * classes;
  std::vector<T> student(static_cast<std::size_t>(count)), teacher(static_cast<std::size_t>(count));  // logits / τ
  for (index_t i = 0; i < count; ++i) {
    student[std::size_t(i)] = T(double(student_logits[i]) / temperature);
    teacher[std::size_t(i)] = T(double(teacher_logits[i]) / temperature);
  }
  const std::vector<T> student_lse = detail::row_logsumexp(student.data(), rows, classes);
  const std::vector<T> teacher_lse = detail::row_logsumexp(teacher.data(), rows, classes);
  double total = 0;
  for (index_t row = 0; row < rows; ++row) {
    for (index_t c = 0; c < classes; ++c) {
      const std::size_t i = std::size_t(row * classes + c);
      const double log_p = double(teacher[i]) - double(teacher_lse[std::size_t(row)]);
      const double log_q = double(student[i]) - double(student_lse[std::size_t(row)]);
      const double p = std::exp(log_p);
      if (p > 0) total += p * (log_p - log_q);  // p log p → 0 as p → 0
    }
  }
  if (dstudent != nullptr) {
    rescan::softmax(rescan::cpu, rescan::make_view<const T>(student.data(), {rows, classes}),
                    rescan::make_view(dstudent, {rows, classes}));
    const double factor = scale * temperature / double(rows);
    for (index_t row = 0; row < rows; ++row) {
      for (index_t c = 0; c < classes; ++c) {
        const std::size_t i = std::size_t(row * classes + c);
        const double p = std::exp(double(teacher[i]) - double(teacher_lse[std::size_t(row)]));
        dstudent[i] = T(factor * (double(dstudent[i]) - p));
      }
    }
  }
  return temperature * temperature * total / double(rows);
}

// logits: (rows, classes); labels: (rows) in [0, classes). The number of rows whose argmax (the
// first on ties) equals the label.
template <class T>
index_t count_correct(const T* logits, const std::int32_t* labels, index_t rows, index_t classes) {
  detail::check_classification("count_correct", logits, labels, rows, classes);
  std::vector<index_t> predicted(static_cast<std::size_t>(rows));
  rescan::argmax(rescan::cpu, rescan::make_view(logits, {rows, classes}), rescan::make_view(predicted.data(), rows));
  index_t correct = 0;
  for (index_t row = 0; row < rows; ++row) correct += predicted[std::size_t(row)] == labels[row] ? 1 : 0;
  return correct;
}

}  // namespace rescan_examples
