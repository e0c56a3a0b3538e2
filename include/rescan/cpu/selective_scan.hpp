// The selective scan on the CPU: rows (batch, channel) in parallel, each row's N states in SIMD
// registers (cpu/detail/selective_scan_row.hpp).
//
// Per call, A, B and C are packed once with the state axis contiguous and padded to whole vectors
// (variable B / C: (batch, groups, L, Np), so a row reads B_t as one or a few vector loads).
// The backward pass is deterministic: every parameter gradient is summed in an order fixed by the
// shapes alone. Channels are cut into slabs (within one group of B and of C; the slab count depends
// only on batch, dim and groups); each slab accumulates its channels' variable dB / dC in a
// (L, Np) buffer of its own, and the slabs and batch rows are then summed in index order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "rescan/cpu/parallel.hpp"
#include "rescan/cpu/detail/selective_scan_row.hpp"
#include "rescan/cpu/detail/selective_scan_step.hpp"
#include "rescan/scan/selective_scan_dispatch.hpp"

namespace rescan::detail {

template <class T>
void check_selective_scan_values(const selective_scan_problem<T>& problem) {
  const auto& A = problem.in.A;
  for (index_t d = 0; d < A.extent(0); ++d) {
    for (index_t n = 0; n < A.extent(1); ++n) {
      if (!std::isfinite(A(d, n))) {
        raise<value_error>("selective_scan: A(", d, ", ", n, ") = ", A(d, n), " but must be finite");
      }
    }
  }
  const auto& offsets = problem.sequences.offsets;
  const index_t count = offsets.extent(0);
  for (index_t i = 0; i < count; ++i) {
    const index_t expected_low = i == 0 ? 0 : offsets(i - 1);
    const bool edge_wrong = (i == 0 && offsets(i) != 0) || (i == count - 1 && offsets(i) != problem.length);
    if (edge_wrong || offsets(i) < expected_low || offsets(i) > problem.length) {
      raise<value_error>("selective_scan: sequence_offsets[", i, "] = ", offsets(i),
                         " but offsets must be sorted, start at 0 and end at L = ", problem.length);
    }
  }
}

// A, B and C with the state axis contiguous and padded to P vectors of W lanes.
template <class T>
struct selective_scan_packing {
  index_t dim = 0, length = 0, padded = 0;
  int vectors = 1;
  std::vector<T> A, A_log2e, B, C;
  index_t B_groups = 0, C_groups = 0;  // 0: constant
  std::vector<index_t> B_group_of, C_group_of;  // (dim): each channel's group of a variable B, C

  selective_scan_packing(const cpu_team& team, const selective_scan_problem<T>& problem, int width)
      : dim(problem.dim), length(problem.length) {
    vectors = int((problem.state + width - 1) / width);
    if (vectors == 3) vectors = 4;  // 1, 2 and 4 vectors have kernels of their own
    padded = index_t(vectors) * width;
    A.assign(std::size_t(dim * padded), T(0));
    A_log2e = A;
    for (index_t d = 0; d < dim; ++d) {
      for (index_t n = 0; n < problem.state; ++n) {
        A[std::size_t(d * padded + n)] = problem.in.A(d, n);
        A_log2e[std::size_t(d * padded + n)] = problem.in.A(d, n) * T(1.4426950408889634074);
      }
    }
    B_groups = pack(team, problem, problem.in.B, B);
    C_groups = pack(team, problem, problem.in.C, C);
    B_group_of = channel_groups(B_groups);
    C_group_of = channel_groups(C_groups);
  }

  // Where row (b, d) finds B (or C) at position 0, and the step from one position to the next.
  const T* B_row(index_t b, index_t d) const { return row_start(B, B_groups, B_group_of, b, d); }
  const T* C_row(index_t b, index_t d) const { return row_start(C, C_groups, C_group_of, b, d); }
  index_t step(index_t groups) const { return groups == 0 ? 0 : padded; }

 private:
  // Each channel's group, once per call rather than a division per row: for a decoding step the
  // divisions cost as much as the step's arithmetic. Empty when constant (groups == 0).
  std::vector<index_t> channel_groups(index_t groups) const {
    std::vector<index_t> group_of;
    if (groups == 0) return group_of;
    group_of.resize(std::size_t(dim));
    for (index_t d = 0; d < dim; ++d) group_of[std::size_t(d)] = d / (dim / groups);
    return group_of;
  }
  const T* row_start(const std::vector<T>& packed, index_t groups, const std::vector<index_t>& group_of, index_t b,
                     index_t d) const {
    if (groups == 0) return packed.data() + d * padded;
    return packed.data() + ((b * groups + group_of[std::size_t(d)]) * length) * padded;
  }

  index_t pack(const cpu_team& team, const selective_scan_problem<T>& problem,
               const selective_scan_tensor<const T>& x, std::vector<T>& packed) const {
    if (!x.is_variable()) {
      packed.assign(std::size_t(dim * padded), T(0));
      for (index_t d = 0; d < dim; ++d) {
        for (index_t n = 0; n < problem.state; ++n) packed[std::size_t(d * padded + n)] = x.constant()(d, n);
      }
      return 0;
    }
    const auto& v = x.variable();
    const index_t groups = v.extent(1);
    packed.assign(std::size_t(problem.batch * groups * length * padded), T(0));
    parallel_for(team, problem.batch * groups, [&](index_t bg) {
      const index_t b = bg / groups, g = bg % groups;
      T* out = packed.data() + bg * length * padded;
      for (index_t n = 0; n < problem.state; ++n) {
        for (index_t t = 0; t < length; ++t) out[t * padded + n] = v(b, g, n, t);
      }
    });
    return groups;
  }
};

// Row (b, d) of a (batch, dim, L) view, or an absent row when the view is absent.
template <class View>
auto row_of_view(const View& x, index_t b, index_t d) {
  using row = std::decay_t<decltype(x[b][d])>;
  return x.data() != nullptr ? x[b][d] : row{};
}

// Whether rows are best walked batch row first (in memory order): channel-major activations,
// (dim, batch, L) as the mixers keep them, where rows (b, d) and (b + 1, d) are adjacent.
template <class T>
bool batch_inner(const selective_scan_problem<T>& problem) {
  return std::abs(problem.in.u.stride(0)) < std::abs(problem.in.u.stride(1));
}

template <class T>
selective_scan_row<T> make_selective_scan_row(const selective_scan_problem<T>& problem,
                                              const selective_scan_packing<T>& packing, index_t b, index_t d) {
  const auto& in = problem.in;
  selective_scan_row<T> row;
  row.u = in.u[b][d];
  row.delta = in.delta[b][d];
  row.z = row_of_view(in.z, b, d);
  row.A = packing.A.data() + d * packing.padded;
  row.A_log2e = packing.A_log2e.data() + d * packing.padded;
  row.B = packing.B_row(b, d);
  row.C = packing.C_row(b, d);
  row.B_step = packing.step(packing.B_groups);
  row.C_step = packing.step(packing.C_groups);
  row.D = in.D.data() != nullptr ? in.D(d) : T(0);
  row.bias = in.delta_bias.data() != nullptr ? in.delta_bias(d) : T(0);
  row.scale = problem.scale;
  row.softplus = in.delta_softplus;
  row.accumulate_output = problem.accumulate_output;
  row.P = packing.vectors;
  row.batch_row = b;
  row.channel = d;
  row.state = problem.state;
  row.sequences = problem.sequences;
  row.h0 = in.h0;
  return row;
}

// Calls job(kernel_type_tag) with the row kernel for this packing's vector count.
template <class T, class Job>
void with_row_kernel(int vectors, const Job& job) {
  switch (vectors) {
    case 1: return job(static_cast<selective_scan_row_kernel<T, 1>*>(nullptr));
    case 2: return job(static_cast<selective_scan_row_kernel<T, 2>*>(nullptr));
    case 4: return job(static_cast<selective_scan_row_kernel<T, 4>*>(nullptr));
    default: return job(static_cast<selective_scan_row_kernel<T, 0>*>(nullptr));
  }
}

// Per-thread scratch for the row kernels.
template <class T>
struct selective_scan_scratch {
  std::vector<T> memory;
  index_t per_thread = 0;
  selective_scan_scratch(const cpu_team& team, index_t padded)
      : per_thread(selective_scan_scratch_size(padded, math_lanes<T>::width)) {
    memory.resize(std::size_t(per_thread * team.threads));
  }
  T* of(int thread) { return memory.data() + thread * per_thread; }
};

// Runs the forward pass of every row; checkpoint(b, d) gives the row's checkpoint callback.
template <class T, class RowCheckpoint>
void selective_scan_forward_rows(const cpu_team& team, const selective_scan_problem<T>& problem,
                                 const selective_scan_packing<T>& packing, const strided_view<T, 3>& out,
                                 const strided_view<T, 3>& last_state, const RowCheckpoint& checkpoint) {
  selective_scan_scratch<T> scratch(team, packing.padded);
  with_row_kernel<T>(packing.vectors, [&](auto* kernel_tag) {
    using kernel = std::remove_pointer_t<decltype(kernel_tag)>;
    const bool batch_first = batch_inner(problem);
    const index_t rows = problem.batch * problem.dim;
    const auto row_of = [&](index_t r) {
      return batch_first ? std::pair{r % problem.batch, r / problem.batch}
                         : std::pair{r / problem.dim, r % problem.dim};
    };
    parallel_for(team, rows, [&](index_t r, int thread) {
      const auto [b, d] = row_of(r);
      const auto row = make_selective_scan_row(problem, packing, b, d);
      kernel{row, scratch.of(thread)}.forward(row_of_view(out, b, d), last_state, checkpoint(b, d));
    });
  });
}

// Fewer rows than threads: each row's states are run first, one row per thread, saving a checkpoint
// every block; then the outputs of every part of every row are computed in parallel from those
// checkpoints. The arithmetic is the one-pass kernel's, so the results are the same bits.
//
// h0 is read again by the second pass (where a sequence starts inside a part), after the first
// pass has written last_state, which may be the same memory (a state carried in place): so both
// passes read a private copy of h0 (small: rows < threads).
template <class T, class RowCheckpoint>
void selective_scan_forward_split_rows(const cpu_team& team, selective_scan_problem<T> problem,
                                       const selective_scan_packing<T>& packing, const strided_view<T, 3>& out,
                                       const strided_view<T, 3>& last_state, const RowCheckpoint& checkpoint) {
  std::vector<T> h0_copy;
  if (problem.in.h0.data() != nullptr) {
    const auto& h0 = problem.in.h0;
    h0_copy.resize(std::size_t(h0.size()));
    for (index_t s = 0; s < h0.extent(0); ++s)
      for (index_t d = 0; d < h0.extent(1); ++d)
        for (index_t n = 0; n < h0.extent(2); ++n)
          h0_copy[std::size_t((s * h0.extent(1) + d) * h0.extent(2) + n)] = h0(s, d, n);
    problem.in.h0 = make_view<const T>(h0_copy.data(), {h0.extent(0), h0.extent(1), h0.extent(2)});
  }
  const index_t rows = problem.batch * problem.dim, Np = packing.padded;
  const index_t blocks = (problem.length + selective_scan_block - 1) / selective_scan_block;
  std::vector<T> saved(std::size_t(rows * blocks * Np));
  selective_scan_forward_rows(team, problem, packing, strided_view<T, 3>{}, last_state,
                              [&](index_t b, index_t d) {
                                const auto user = checkpoint(b, d);
                                T* row_saved = saved.data() + (b * problem.dim + d) * blocks * Np;
                                return [user, row_saved, Np](index_t c, const T* h) {
                                  user(c, h);
                                  std::copy(h, h + Np, row_saved + c * Np);
                                };
                              });
  const index_t parts = std::min<index_t>(blocks, 4 * team.threads), blocks_per_part = (blocks + parts - 1) / parts;
  selective_scan_scratch<T> scratch(team, Np);
  with_row_kernel<T>(packing.vectors, [&](auto* kernel_tag) {
    using kernel = std::remove_pointer_t<decltype(kernel_tag)>;
    parallel_for(team, rows * parts, [&](index_t item, int thread) {
      const index_t r = item / parts, part = item % parts, b = r / problem.dim, d = r % problem.dim;
      const index_t first = part * blocks_per_part * selective_scan_block;
      const index_t last = std::min(problem.length, (part + 1) * blocks_per_part * selective_scan_block);
      if (first >= last) return;
      const auto row = make_selective_scan_row(problem, packing, b, d);
      const T* row_saved = saved.data() + r * blocks * Np;
      kernel{row, scratch.of(thread)}.forward_positions(
          row_of_view(out, b, d), strided_view<T, 3>{}, [](index_t, const T*) {},
          [row_saved, Np](index_t c, T* h) { std::copy(row_saved + c * Np, row_saved + (c + 1) * Np, h); }, first,
          last);
    });
  });
}

// The slabs of the backward pass: unit u = (b, slab), slab = channels [first, first + count).
struct selective_scan_slabs {
  index_t dim = 0, per_joint_group = 1, size = 1, per_batch = 0;

  selective_scan_slabs(index_t batch, index_t dim_, index_t B_groups, index_t C_groups) : dim(dim_) {
    const index_t span_B = B_groups > 0 ? dim / B_groups : dim, span_C = C_groups > 0 ? dim / C_groups : dim;
    per_joint_group = std::gcd(span_B, span_C);  // a slab never crosses a group of B or of C
    const index_t joint_groups = dim / per_joint_group;
    const index_t wanted = 64;  // enough units to spread over many cores, whatever their number
    const index_t slabs_per_group = std::clamp<index_t>((wanted + batch * joint_groups - 1) /
                                                            std::max<index_t>(1, batch * joint_groups),
                                                        1, per_joint_group);
    size = (per_joint_group + slabs_per_group - 1) / slabs_per_group;
    per_batch = joint_groups * ((per_joint_group + size - 1) / size);
  }
  index_t first_channel(index_t slab) const {
    const index_t slabs_per_group = per_batch / (dim / per_joint_group);
    return (slab / slabs_per_group) * per_joint_group + (slab % slabs_per_group) * size;
  }
  // The first slab holding channel `channel` or a later one (channel: a multiple of the joint
  // group size, or dim); the slabs of a group of B or C are [first_slab_of(begin), first_slab_of(end)).
  index_t first_slab_of(index_t channel) const {
    const index_t slabs_per_group = per_batch / (dim / per_joint_group);
    return channel / per_joint_group * slabs_per_group;
  }
  index_t channel_count(index_t slab) const {
    const index_t first = first_channel(slab);
    const index_t group_end = (first / per_joint_group + 1) * per_joint_group;
    return std::min(size, group_end - first);
  }
};

template <class T>
void write_gradient(T& target, T value, bool accumulate) {
  target = accumulate ? target + value : value;
}

template <>
struct selective_scan_kernels<cpu_t> {
  static index_t checkpoint_interval(const cpu_t&) { return selective_scan_block; }

  template <class T>
  static void check_values(const cpu_t&, const selective_scan_problem<T>& problem) {
    check_selective_scan_values(problem);
  }

  template <class T>
  static void forward(const cpu_t& backend, const selective_scan_problem<T>& problem, const strided_view<T, 3>& out,
                      const strided_view<T, 3>& last_state, const strided_view<T, 4>& checkpoints) {
    check_selective_scan_values(problem);
    const cpu_team team = team_of(backend);
    const selective_scan_packing<T> packing(team, problem, math_lanes<T>::width);
    if (problem.length == 1 && !problem.sequences.packed() && checkpoints.data() == nullptr) {
      const T* D = problem.in.D.data();
      const auto row_of = [&](index_t b, index_t d) {
        return selective_scan_step_row<T>{packing.A_log2e.data() + d * packing.padded, packing.B_row(b, d),
                                          packing.C_row(b, d), D != nullptr ? problem.in.D(d) : T(0)};
      };
      selective_scan_single_position(team, problem, row_of, packing.vectors, out, last_state);
      return;
    }
    const index_t N = problem.state;
    const auto user_checkpoint = [&](index_t b, index_t d) {
      return [&checkpoints, b, d, N](index_t c, const T* h) {
        if (checkpoints.data() == nullptr) return;
        for (index_t n = 0; n < N; ++n) checkpoints(b, d, c, n) = h[n];
      };
    };
    if (problem.batch * problem.dim < team.threads && problem.length > 4 * selective_scan_block) {
      selective_scan_forward_split_rows(team, problem, packing, out, last_state, user_checkpoint);
    } else {
      selective_scan_forward_rows(team, problem, packing, out, last_state, user_checkpoint);
    }
  }

  template <class T>
  static void backward(const cpu_t& backend, const selective_scan_problem<T>& problem,
                       const strided_view<const T, 3>& dout, const strided_view<const T, 3>& dlast_state,
                       const strided_view<const T, 4>& checkpoints, const selective_scan_gradients<T>& gradients) {
    check_selective_scan_values(problem);
    const cpu_team team = team_of(backend);
    const selective_scan_packing<T> packing(team, problem, math_lanes<T>::width);
    const index_t batch = problem.batch, dim = problem.dim, L = problem.length, N = problem.state;
    const index_t Np = packing.padded, chunks = (L + selective_scan_block - 1) / selective_scan_block;

    // The checkpoints: the caller's, or recomputed here by a forward pass without output.
    std::vector<T> own_checkpoints;
    if (checkpoints.data() == nullptr && L > selective_scan_block) {
      own_checkpoints.assign(std::size_t(batch * dim * chunks * Np), T(0));
      selective_scan_forward_rows(team, problem, packing, strided_view<T, 3>{}, strided_view<T, 3>{},
                                  [&](index_t b, index_t d) {
                                    return [&own_checkpoints, b, d, dim, chunks, Np](index_t c, const T* h) {
                                      std::copy(h, h + Np, own_checkpoints.data() + ((b * dim + d) * chunks + c) * Np);
                                    };
                                  });
    }
    const auto restore_of = [&](index_t b, index_t d) {
      return [&, b, d](index_t c, T* h) {
        if (checkpoints.data() != nullptr) {
          for (index_t n = 0; n < N; ++n) h[n] = checkpoints(b, d, c, n);
        } else {
          const T* saved = own_checkpoints.data() + ((b * dim + d) * chunks + c) * Np;
          std::copy(saved, saved + Np, h);
        }
      };
    };

    // A wanted dB / dC is summed per position (variable B / C: slabs of channels, below) or per row
    // (constant: a parameter slot).
    const auto& in = problem.in;
    const bool variable_dB = gradients.dB.given() && in.B.is_variable();
    const bool variable_dC = gradients.dC.given() && in.C.is_variable();
    const selective_scan_slabs slabs(batch, dim, packing.B_groups, packing.C_groups);
    const index_t units = batch * slabs.per_batch;
    selective_scan_parameter_layout layout;
    layout.Np = Np;
    layout.constant_B = gradients.dB.given() && !variable_dB;
    layout.constant_C = gradients.dC.given() && !variable_dC;
    const index_t parameter_size = layout.size();
    // Not zeroed: every row writes its whole slot. Debug builds fill it with NaN first, so that a
    // slot entry a row failed to write shows in the gradients the tests compare.
    const std::unique_ptr<T[]> parameters(new T[std::size_t(batch * dim * parameter_size)]);
#ifndef NDEBUG
    std::fill(parameters.get(), parameters.get() + batch * dim * parameter_size, std::numeric_limits<T>::quiet_NaN());
#endif
    std::vector<T> slab_dB(variable_dB ? std::size_t(units * L * Np) : 0);
    std::vector<T> slab_dC(variable_dC ? std::size_t(units * L * Np) : 0);

    selective_scan_scratch<T> scratch(team, Np);
    with_row_kernel<T>(packing.vectors, [&](auto* kernel_tag) {
      using kernel = std::remove_pointer_t<decltype(kernel_tag)>;
      // A task runs the units of one slab for a few consecutive batch rows, channel by channel and
      // batch row by batch row within a channel: rows adjacent in memory when the batch is the inner
      // axis. Each unit still adds its channels into its own dB / dC in channel order: the same bits.
      const index_t batch_rows = batch_inner(problem) ? std::min<index_t>(batch, 16) : 1;
      const index_t batch_parts = (batch + batch_rows - 1) / batch_rows;
      parallel_for(team, batch_parts * slabs.per_batch, [&](index_t task, int thread) {
        const index_t slab = task % slabs.per_batch, b_first = task / slabs.per_batch * batch_rows;
        const index_t b_end = std::min(batch, b_first + batch_rows);
        const index_t first = slabs.first_channel(slab), count = slabs.channel_count(slab);
        for (index_t d = first; d < first + count; ++d) for (index_t b = b_first; b < b_end; ++b) {
          const index_t unit = b * slabs.per_batch + slab;
          const auto row = make_selective_scan_row(problem, packing, b, d);
          selective_scan_row_gradients<T> g;
          g.du = row_of_view(gradients.du, b, d);
          g.ddelta = row_of_view(gradients.ddelta, b, d);
          g.dz = row_of_view(gradients.dz, b, d);
          g.accumulate = gradients.accumulate;
          g.dB = variable_dB ? slab_dB.data() + unit * L * Np : nullptr;
          g.dC = variable_dC ? slab_dC.data() + unit * L * Np : nullptr;
          g.layout = layout;
          g.parameters = parameters.get() + (b * dim + d) * parameter_size;
          g.dlast_state = dlast_state;
          g.dh0 = gradients.dh0;
          kernel{row, scratch.of(thread)}.backward(dout[b][d], g, restore_of(b, d));
        }
      });
    });

    // Parameter gradients: rows summed over the batch in order.
    parallel_for(team, dim, [&](index_t d) {
      const auto total = [&](index_t offset) {
        T sum = T(0);
        for (index_t b = 0; b < batch; ++b) sum += parameters[std::size_t((b * dim + d) * parameter_size + offset)];
        return sum;
      };
      const bool acc = gradients.accumulate;
      for (index_t n = 0; n < N; ++n) {
        if (gradients.dA.data() != nullptr) write_gradient(gradients.dA(d, n), total(layout.dA() + n), acc);
        if (layout.constant_B) write_gradient(gradients.dB.constant()(d, n), total(layout.dB() + n), acc);
        if (layout.constant_C) write_gradient(gradients.dC.constant()(d, n), total(layout.dC() + n), acc);
      }
      if (gradients.dD.data() != nullptr) write_gradient(gradients.dD(d), total(layout.dD()), acc);
      if (gradients.ddelta_bias.data() != nullptr) {
        write_gradient(gradients.ddelta_bias(d), total(layout.ddelta_bias()), acc);
      }
    });
    // Variable dB / dC: the slabs of each (batch row, group) summed in order, a tile of positions
    // at a time: each position's Np sums run along the state axis, contiguous in every slab (one
    // state at a time over all positions read each slab's lines N times, 64 slabs a page apart).
    const auto sum_slabs = [&](const std::vector<T>& slab_sums, const selective_scan_tensor<T>& target) {
      const auto& view = target.variable();
      const index_t groups = view.extent(1), span = dim / groups;
      constexpr index_t tile = 16;
      const index_t tiles = (L + tile - 1) / tile;
      parallel_for(team, batch * groups * tiles, [&](index_t item) {
        const index_t b = item / (groups * tiles), g = (item / tiles) % groups;
        const index_t t_first = item % tiles * tile, count = std::min(tile, L - t_first);
        const index_t first = slabs.first_slab_of(g * span), end = slabs.first_slab_of((g + 1) * span);
        T sums[tile * selective_scan_max_state];  // (count, Np); Np <= selective_scan_max_state
        std::fill(sums, sums + count * Np, T(0));
        for (index_t slab = first; slab < end; ++slab) {
          const T* rows = slab_sums.data() + ((b * slabs.per_batch + slab) * L + t_first) * Np;
          for (index_t i = 0; i < count * Np; ++i) sums[i] += rows[i];
        }
        for (index_t n = 0; n < N; ++n) {
          for (index_t i = 0; i < count; ++i) {
            write_gradient(view(b, g, n, t_first + i), sums[i * Np + n], gradients.accumulate);
          }
        }
      });
    };
    if (variable_dB) sum_slabs(slab_dB, gradients.dB);
    if (variable_dC) sum_slabs(slab_dC, gradients.dC);
  }
};

}  // namespace rescan::detail
