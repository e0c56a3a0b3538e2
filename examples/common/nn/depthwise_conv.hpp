// The mixer's depthwise 1-D convolution along the tokens, in the channel-major layout the mixer
// keeps (x: (channels, sequences, length) row-major, one row per channel and sequence), with zero
// padding so that out has the length of x. Tap k of channel c reads position t + shift(k):
//   causal      (Mamba's conv1d, left padding d_conv − 1):    shift(k) = k − (K − 1)
//   anti_causal (the same conv on the reversed sequence, reversed back): shift(k) = (K − 1) − k
//   out[c, s, t] = bias[c] + Σ_k weight[c, k] · x[c, s, t + shift(k)]   (x outside [0, length) is 0)
#pragma once

#include "common/nn/index.hpp"

namespace rescan_examples::detail {

enum class conv_direction { causal, anti_causal };

inline index_t conv_shift(conv_direction direction, index_t kernel, index_t tap) {
  return direction == conv_direction::causal ? tap - (kernel - 1) : (kernel - 1) - tap;
}

// x, out: (channels, sequences, length); weight: (channels, kernel); bias: (channels). out written.
template <class T>
void depthwise_conv_forward(const T* x, const T* weight, const T* bias, index_t channels, index_t sequences,
                            index_t length, index_t kernel, conv_direction direction, T* out) {
#pragma omp parallel for schedule(static)
  for (index_t channel = 0; channel < channels; ++channel) {
    const T* taps = weight + channel * kernel;
    for (index_t sequence = 0; sequence < sequences; ++sequence) {
      const index_t row = (channel * sequences + sequence) * length;
      for (index_t t = 0; t < length; ++t) {
        T sum = bias[channel];
        for (index_t tap = 0; tap < kernel; ++tap) {
          const index_t source = t + conv_shift(direction, kernel, tap);
          if (source >= 0 && source < length) sum += taps[tap] * x[row + source];
        }
        out[row + t] = sum;
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
    const T* taps = weight + channel * kernel;
    T* dtaps = dweight + channel * kernel;
    T bias_sum = 0;
    for (index_t sequence = 0; sequence < sequences; ++sequence) {
      const index_t row = (channel * sequences + sequence) * length;
      for (index_t t = 0; t < length; ++t) {
        const T gradient = dout[row + t];
        bias_sum += gradient;
        for (index_t tap = 0; tap < kernel; ++tap) {
          const index_t source = t + conv_shift(direction, kernel, tap);
          if (source < 0 || source >= length) continue;
          dtaps[tap] += gradient * x[row + source];
          dx[row + source] += taps[tap] * gradient;
        }
      }
    }
    dbias[channel] += bias_sum;
  }
}

}  // namespace rescan_examples::detail
