// The mixer's depthwise 1-D convolution along the tokens, in the channel-major layout the mixer
// keeps (x: (channels, sequences, length) row-major, one row per channel and sequence), with zero
// padding so that out has the length of x. Tap k of channel c reads position t + shift(k):
//   causal      (Mamba's conv1d, left padding d_conv − 1):    shift(k) = k − (K − 1)
//   anti_causal (the same conv on the reversed sequence, reversed back): shift(k) = (K − 1) − k
//   out[c, s, t] = bias[c] + Σ_k weight[c, k] · x[c, s, t + shift(k)]   (x outside [0, length) is 0)
#pragma once

#include <algorithm>

#include "common/nn/index.hpp"

namespace rescan_examples::detail {

enum class conv_direction { causal, anti_causal };

inline index_t conv_shift(conv_direction direction, index_t kernel, index_t tap) {
  return direction == conv_direction::causal ? tap - (kernel - 1) : (kernel - 1) - tap;
}

// The positions t whose tap reads inside the row, t + shift in [0, length): [first, last).
struct tap_range {
  index_t first, last;
};
inline tap_range valid_positions(index_t shift, index_t length) {
  return {std::max<index_t>(0, -shift), std::min<index_t>(length, length - shift)};
}

// x, out: (channels, sequences, length); weight: (channels, kernel); bias: (channels). out written.
// One pass per tap over the positions it reaches, so the inner loops have no bounds tests.
template <class T>
void depthwise_conv_forward(const T* x, const T* weight, const T* bias, index_t channels, index_t sequences,
                            index_t length, index_t kernel, conv_direction direction, T* out) {
#pragma omp parallel for schedule(static)
  for (index_t channel = 0; channel < channels; ++channel) {
    for (index_t sequence = 0; sequence < sequences; ++sequence) {
      const index_t row = (channel * sequences + sequence) * length;
      T* out_row = out + row;
      const T* x_row = x + row;
      for (index_t t = 0; t < length; ++t) out_row[t] = bias[channel];
      for (index_t tap = 0; tap < kernel; ++tap) {
        const index_t shift = conv_shift(direction, kernel, tap);
        const T w = weight[channel * kernel + tap];
        const tap_range range = valid_positions(shift, length);
        for (index_t t = range.first; t < range.last; ++t) out_row[t] += w * x_row[t + shift];
      }
    }
  }
}

// The gradients from dout: (channels, sequences, length). dx (same shape), dweight (channels,
// kernel) and dbias (channels) are ADDED to. Each channel is one task, summed in a fixed order.
template <class T>
void depthwise_conv_backward(const T* x, const T* weight, const T* dout, index_t channels, index_t sequences,
                             index_t length, index_t kernel, conv_direction direction, T* dx, T* dweight, T* dbias) {
#pragma omp parallel for schedule(static)
  for (index_t channel = 0; channel < channels; ++channel) {
    T bias_sum = 0;
    for (index_t sequence = 0; sequence < sequences; ++sequence) {
      const index_t row = (channel * sequences + sequence) * length;
      const T* dout_row = dout + row;
      const T* x_row = x + row;
      T* dx_row = dx + row;
      for (index_t t = 0; t < length; ++t) bias_sum += dout_row[t];
      for (index_t tap = 0; tap < kernel; ++tap) {
        const index_t shift = conv_shift(direction, kernel, tap);
        const T w = weight[channel * kernel + tap];
        const tap_range range = valid_positions(shift, length);
        T weight_sum = 0;
        for (index_t t = range.first; t < range.last; ++t) {
          weight_sum += dout_row[t] * x_row[t + shift];
          dx_row[t + shift] += w * dout_row[t];
        }
        dweight[channel * kernel + tap] += weight_sum;
      }
    }
    dbias[channel] += bias_sum;
  }
}

// One decoding step of the causal conv: x, out: (channels, sequences), the newest token of each
// sequence; window: (channels, sequences, kernel − 1), the previous kernel − 1 inputs of each row,
// oldest first (zeros before the sequence starts), read and shifted by one to take x in:
//   out[c, s] = bias[c] + Σ_{k < K−1} weight[c, k] · window[c, s, k] + weight[c, K−1] · x[c, s]
// which is depthwise_conv_forward's causal output at the newest position.
template <class T>
void depthwise_conv_step(const T* x, const T* weight, const T* bias, index_t channels, index_t sequences,
                         index_t kernel, T* window, T* out) {
  const index_t history = kernel - 1;
  for (index_t channel = 0; channel < channels; ++channel) {
    const T* w = weight + channel * kernel;
    for (index_t sequence = 0; sequence < sequences; ++sequence) {
      const index_t row = channel * sequences + sequence;
      T* past = window + row * history;
      T sum = bias[channel];
      for (index_t tap = 0; tap < history; ++tap) sum += w[tap] * past[tap];
      sum += w[history] * x[row];
      out[row] = sum;
      if (history > 0) {
        std::copy(past + 1, past + history, past);
        past[history - 1] = x[row];
      }
    }
  }
}

}  // namespace rescan_examples::detail
