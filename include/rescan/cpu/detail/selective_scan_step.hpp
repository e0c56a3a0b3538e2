// The selective scan of sequences of length 1 (a decoding step) on the CPU. The row kernel's
// per-row set-up would cost more than the step itself, so the per-position work (softplus, the
// gate) is done for W channels at once (a few such groups back to back), and each channel then
// updates its state vectors. The
// arithmetic is the row kernel's, operation for operation, so a step gives the same bits as the
// forward pass at that position.
#pragma once

#include <algorithm>

#include "rescan/cpu/detail/selective_scan_row.hpp"
#include "rescan/cpu/parallel.hpp"

namespace rescan::detail {

// states(s, d, 0 .. N) -> h, and back (plain copies when the state axis is contiguous).
template <class T>
void copy_state_in(const strided_view<const T, 3>& states, index_t s, index_t d, index_t N, T* h) {
  const T* first = &states(s, d, 0);
  const index_t stride = states.stride(2);
  if (stride == 1) {
    for (index_t n = 0; n < N; ++n) h[n] = first[n];
  } else {
    for (index_t n = 0; n < N; ++n) h[n] = first[n * stride];
  }
}
template <class T>
void copy_state_out(const T* h, index_t N, const strided_view<T, 3>& states, index_t s, index_t d) {
  T* first = &states(s, d, 0);
  const index_t stride = states.stride(2);
  if (stride == 1) {
    for (index_t n = 0; n < N; ++n) first[n] = h[n];
  } else {
    for (index_t n = 0; n < N; ++n) first[n * stride] = h[n];
  }
}

// What one channel of one batch row reads: A log2(e), B and C packed (padded to whole vectors), D.
template <class T>
struct selective_scan_step_row {
  const T* A_log2e;
  const T* B;
  const T* C;
  T D;
};

// problem.length == 1, no packed sequences. row_of(b, d) gives the selective_scan_step_row of row
// (b, d). out: (batch, dim, 1) or absent; last_state: (batch, dim, N) or absent.
template <class T, class RowOf>
void selective_scan_single_position(const cpu_team& team, const selective_scan_problem<T>& problem,
                                    const RowOf& row_of, int vectors, const strided_view<T, 3>& out,
                                    const strided_view<T, 3>& last_state) {
  using lanes = math_lanes<T>;
  using V = typename lanes::vector;
  constexpr int W = lanes::width;
  const index_t groups = (problem.dim + W - 1) / W;
  // An item is up to block_groups groups of W channels of one batch row: their softplus and gate
  // vectors are computed back to back first (independent dependency chains that overlap; one at a
  // time, each waited its full latency: a sixth of the step), then each group's channels.
  constexpr index_t block_groups = 4;
  const index_t blocks = (groups + block_groups - 1) / block_groups;
  const auto& in = problem.in;
  // One state vector of one channel, the row kernel's arithmetic: exp2(Δ A log2 e) h + (Δ u) B.
  const auto next_state = [](T step, T input, const T* A_log2e, const T* h, const T* B) {
    const V decay = vector_exp2<T>(lanes::broadcast(step) * lanes::load(A_log2e));
    return decay * lanes::load(h) + lanes::broadcast(input) * lanes::load(B);
  };
  parallel_for(team, problem.batch * blocks, [&](index_t item) {
    // The state vectors are read from h0 and written to last_state in place when the state axis is
    // contiguous and fills whole vectors (the usual decoding layout), else through a copy h. (Locals
    // of the item, not captured: the compiler then keeps them out of the channel loop.)
    const bool whole_vectors = problem.state == index_t(vectors) * W;
    const bool state_in_place = whole_vectors && in.h0.data() != nullptr && in.h0.stride(2) == 1;
    const bool state_out_in_place = whole_vectors && last_state.data() != nullptr && last_state.stride(2) == 1;
    const index_t b = item / blocks, first_group = (item % blocks) * block_groups;
    const index_t item_groups = std::min(block_groups, groups - first_group);
    alignas(64) T steps[block_groups][W] = {}, us[block_groups][W] = {}, zs[block_groups][W] = {},
                  gates[block_groups][W] = {}, biases[block_groups][W] = {};
    for (index_t g = 0; g < item_groups; ++g) {
      const index_t first = (first_group + g) * W, count = std::min<index_t>(W, problem.dim - first);
      for (index_t c = 0; c < count; ++c) {
        steps[g][c] = in.delta(b, first + c, 0);
        us[g][c] = in.u(b, first + c, 0);
        if (in.delta_bias.data() != nullptr) biases[g][c] = in.delta_bias(first + c);
        if (in.z.data() != nullptr) zs[g][c] = in.z(b, first + c, 0);
      }
    }
    for (index_t g = 0; g < item_groups; ++g) {
      const V raw = lanes::load(steps[g]) + lanes::load(biases[g]);
      lanes::store(steps[g], in.delta_softplus ? vector_softplus<T>(raw) : raw);
      if (in.z.data() != nullptr) lanes::store(gates[g], vector_sigmoid<T>(lanes::load(zs[g])));
    }
    for (index_t g = 0; g < item_groups; ++g) {
      const index_t first = (first_group + g) * W, count = std::min<index_t>(W, problem.dim - first);
      const T* step = steps[g];
      const T* u = us[g];
      const T* z = zs[g];
      const T* gate = gates[g];
      alignas(64) T input[W];
      lanes::store(input, lanes::load(step) * lanes::load(u));

      // The W channels' y vectors are summed together (sum_each: sum()'s tree, so the same bits).
      alignas(64) T partial[W * W], skip[W];  // the y vectors; D of each channel
      for (index_t c = count; c < W; ++c) lanes::store(partial + c * W, V{});
      if (state_in_place && state_out_in_place && vectors == 1) {
        // The usual decoding layout with N = W: one vector a channel, updated in place. A loop of
        // its own (the general one below took 16-18 % longer), unrolled so that two channels'
        // chains are scheduled together; y = C h as the row kernel's one-vector recurrence has it.
        RESCAN_UNROLL(2)
        for (index_t c = 0; c < count; ++c) {
          const index_t d = first + c;
          const selective_scan_step_row<T> row = row_of(b, d);
          skip[c] = row.D;
          const V state = next_state(step[c], input[c], row.A_log2e, &in.h0(b, d, 0), row.B);
          lanes::store(partial + c * W, lanes::load(row.C) * state);
          lanes::store(&last_state(b, d, 0), state);
        }
      } else {
        for (index_t c = 0; c < count; ++c) {
          const index_t d = first + c;
          const selective_scan_step_row<T> row = row_of(b, d);
          skip[c] = row.D;
          alignas(64) T h[selective_scan_max_state + 64];
          const T* from = h;
          if (state_in_place) {
            from = &in.h0(b, d, 0);
          } else {
            if (in.h0.data() != nullptr) {
              copy_state_in(in.h0, b, d, problem.state, h);
            } else {
              for (index_t n = 0; n < problem.state; ++n) h[n] = T(0);
            }
            for (index_t n = problem.state; n < index_t(vectors) * W; ++n) h[n] = T(0);  // the padding
          }
          T* to = state_out_in_place ? &last_state(b, d, 0) : h;
          V y{};
          for (int p = 0; p < vectors; ++p) {
            const V state = next_state(step[c], input[c], row.A_log2e + p * W, from + p * W, row.B + p * W);
            y += lanes::load(row.C + p * W) * state;
            lanes::store(to + p * W, state);  // the same p as the load: safe when from == to
          }
          lanes::store(partial + c * W, y);
          if (last_state.data() != nullptr && !state_out_in_place) copy_state_out(h, problem.state, last_state, b, d);
        }
      }
      alignas(64) T sums[W];
      lanes::sum_each(partial, sums);
      for (index_t c = 0; c < count; ++c) {
        // As the row kernel: y = lane sum + D u, then y z sigmoid(z), then scale (vectors of one lane).
        const index_t d = first + c;
        T value = sums[c] + skip[c] * u[c];
        if (in.z.data() != nullptr) value = value * z[c] * gate[c];
        if (out.data() != nullptr) {
          T& target = out(b, d, 0);
          target = problem.accumulate_output ? target + problem.scale * value : problem.scale * value;
        }
      }
    }
  });
}

}  // namespace rescan::detail
