// The selective scan of one (batch, channel) row on the CPU: forward and backward, with the N
// states held in P SIMD vectors (N padded with zeros to P * W lanes: a padded lane has A = B = C = 0,
// so its state stays 0 and adds nothing).
//
// The row is walked in blocks of selective_scan_block positions. Per block, the per-position work
// (bias, softplus and its derivative, Δ·u, the z gate, the output) is done vectorized along time,
// off the recurrence's critical path; the recurrence itself is one exp, two FMAs and one multiply
// per state vector and position. The backward pass recomputes a block's states from the state
// saved at its start (a checkpoint), then walks the block backwards. Every sum runs in one fixed
// order, so results never depend on the thread count.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rescan/cpu/detail/simd_math.hpp"
#include "rescan/scan/selective_scan_dispatch.hpp"

namespace rescan::detail {

// Positions per block, and so between two checkpoints.
inline constexpr index_t selective_scan_block = 64;

// State vectors that the compiler can keep in registers: Count named members reached by compile-time
// recursion (an array indexed in a loop lives in memory, and the recurrence's dependency chain
// would then run through a store and a load per position).
template <class V, int Count>
struct vector_registers {
  V first;
  vector_registers<V, Count - 1> rest;
  // f(x, y, p) for the p-th vectors of this and other.
  template <class F>
  void zip(vector_registers& other, const F& f, int p = 0) {
    f(first, other.first, p);
    rest.zip(other.rest, f, p + 1);
  }
};
template <class V>
struct vector_registers<V, 0> {
  template <class F>
  void zip(vector_registers&, const F&, int = 0) {}
};

// The same interface for a vector count known only at run time (large N): the vectors live in memory.
template <class V, int Capacity>
struct vector_array {
  V v[Capacity];
  int count = 0;
  template <class F>
  void zip(vector_array& other, const F& f) {
    for (int p = 0; p < count; ++p) f(v[p], other.v[p], p);
  }
};

// Everything one row reads, with A, B and C already packed: state axis contiguous, padded to
// P * W lanes (B and C at position t start at B + t * B_step; the step is 0 when they are constant).
template <class T>
struct selective_scan_row {
  strided_view<const T, 1> u, delta, z;  // (L); z absent when not given
  const T* A = nullptr;                  // (Np)
  const T* A_log2e = nullptr;            // (Np): A log2(e), so that exp(Δ A) = exp2(Δ A log2(e))
  const T* B = nullptr;
  const T* C = nullptr;
  index_t B_step = 0, C_step = 0;
  T D = T(0), bias = T(0), scale = T(1);
  bool softplus = false, accumulate_output = false;
  int P = 1;             // state vectors
  index_t batch_row = 0, channel = 0, state = 0;  // b, d, N
  selective_scan_sequences sequences;
  strided_view<const T, 3> h0;  // (states, dim, N) or absent
};

// Where a row's parameter gradients lie in its slot of the backward pass's per-row array:
// dA (Np), dD, ddelta_bias, then dB (Np) and dC (Np) only where B / C are constant (a variable
// B or C has its gradient summed per position instead).
struct selective_scan_parameter_layout {
  index_t Np = 0;
  bool constant_B = false, constant_C = false;

  index_t dA() const { return 0; }
  index_t dD() const { return Np; }
  index_t ddelta_bias() const { return Np + 1; }
  index_t dB() const { return Np + 2; }
  index_t dC() const { return dB() + (constant_B ? Np : 0); }
  index_t size() const { return dC() + (constant_C ? Np : 0); }
};

// What the backward pass of one row writes (each pointer or view may be absent).
template <class T>
struct selective_scan_row_gradients {
  strided_view<T, 1> du, ddelta, dz;   // (L)
  bool accumulate = false;
  T* dB = nullptr;                     // (L, Np), added to: the partial sum of this row's slab
  T* dC = nullptr;
  T* parameters = nullptr;             // the row's slot (layout), every entry written
  selective_scan_parameter_layout layout;  // its constant_B / constant_C: dB / dC wanted and constant
  strided_view<const T, 3> dlast_state;  // (states, dim, N) or absent
  strided_view<T, 3> dh0;
};

// Per-thread scratch of the row kernels, in T elements.
inline index_t selective_scan_scratch_size(index_t Np, int width) {
  return 8 * selective_scan_block + 3 * selective_scan_block * width + (2 * selective_scan_block + 1) * Np;
}

// How far ahead of a contiguous row block its copy asks for data: one 4 KiB page. Consecutive
// rows are consecutive in memory, but the hardware prefetchers stop at page boundaries, and rows
// of a few hundred positions cross one every few rows.
inline constexpr index_t selective_scan_prefetch_bytes = 4096;

// A prefetch (ForWrite: with the intent to write) of the line `bytes` away from p, which may lie
// outside the row: a prefetch never faults, and the address is formed as an integer, not as a
// pointer past the array.
template <bool ForWrite = false>
void prefetch_at(const void* p, std::ptrdiff_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) + std::uintptr_t(bytes)),
                     ForWrite ? 1 : 0);
#else
  (void)p;
  (void)bytes;
#endif
}

// x[t0 .. t0 + n) into out, then zeros up to a whole number of vectors. Contiguous rows, forward
// (stride 1) or reversed (stride -1, the reverse branch of a bidirectional scan), are copied a
// whole vector at a time: the block is read back as vectors right after, and a vector load that
// spans several narrower stores (the compiler's own copy loop stored 32 bytes at a time) cannot
// take their data and waits for them to reach the cache.
template <class T>
void gather_padded(const strided_view<const T, 1>& x, index_t t0, index_t n, T* out) {
  using lanes = math_lanes<T>;
  constexpr index_t W = lanes::width;
  const T* first = x.data() + t0 * x.stride(0);
  const index_t whole = n - n % W;
  index_t i = 0;
  if (x.stride(0) == 1) {
    for (; i < whole; i += W) {
      prefetch_at(first + i, selective_scan_prefetch_bytes);
      lanes::store(out + i, lanes::load(first + i));
    }
    if (whole < n) lanes::store(out + whole, lanes::load_first(first + whole, int(n - whole)));
    return;
  }
  if (x.stride(0) == -1) {
    for (; i < whole; i += W) {
      prefetch_at(first - i, -selective_scan_prefetch_bytes);
      lanes::store(out + i, lanes::reversed(lanes::load(first - i - (W - 1))));
    }
  }
  for (; i < n; ++i) out[i] = first[i * x.stride(0)];
  for (; i < (n + W - 1) / W * W; ++i) out[i] = T(0);
}

// out[t0 .. t0 + n) := values (or += values when accumulating). A contiguous row also asks for
// the lines a page ahead, for writing, as gather_padded does for reading.
template <class T>
void write_block_values(const strided_view<T, 1>& out, index_t t0, index_t n, const T* values, bool accumulate) {
  T* first = out.data() + t0 * out.stride(0);
  const index_t stride = out.stride(0);
  if (stride == 1 || stride == -1) {
    const T* lowest = stride == 1 ? first : first - (n - 1);
    for (index_t byte = 0; byte < n * index_t(sizeof(T)); byte += 64) {
      prefetch_at<true>(lowest, stride * selective_scan_prefetch_bytes + byte);
    }
  }
  const auto write = [&](auto step) {  // step: the stride, a compile-time constant where it can be
    if (accumulate) {
      for (index_t i = 0; i < n; ++i) first[i * step] += values[i];
    } else {
      for (index_t i = 0; i < n; ++i) first[i * step] = values[i];
    }
  };
  if (stride == 1) {
    write(std::integral_constant<index_t, 1>{});
  } else if (stride == -1) {
    write(std::integral_constant<index_t, -1>{});
  } else {
    write(stride);
  }
}

template <class T, int StaticP>
struct selective_scan_row_kernel {
  using lanes = math_lanes<T>;
  using V = typename lanes::vector;
  static constexpr int W = lanes::width;
  static constexpr int max_P = StaticP > 0 ? StaticP : int(selective_scan_max_state / W > 0 ? selective_scan_max_state / W : 1);
  static constexpr index_t block = selective_scan_block;

  const selective_scan_row<T>& row;
  T* scratch;  // selective_scan_scratch_size(P * W, W)

  int vectors() const { return StaticP > 0 ? StaticP : row.P; }
  index_t padded() const { return index_t(vectors()) * W; }

  // Block arrays in the scratch.
  T* delta_block() const { return scratch; }                  // Δ
  T* softplus_slope() const { return scratch + block; }       // dΔ / d(delta)
  T* u_block() const { return scratch + 2 * block; }
  T* delta_u() const { return scratch + 3 * block; }          // Δ u
  T* y_block() const { return scratch + 4 * block; }          // y before the gate
  T* gate_sigmoid() const { return scratch + 5 * block; }     // sigmoid(z)
  T* z_block() const { return scratch + 6 * block; }
  T* dout_block() const { return scratch + 7 * block; }
  T* y_lanes() const { return scratch + 8 * block; }          // (block, W) per-lane partial sums
  T* s1_lanes() const { return y_lanes() + block * W; }
  T* s2_lanes() const { return s1_lanes() + block * W; }
  // (block + 1, Np): row i holds h_{t0+i-1}, the state before position t0 + i, and so row i + 1
  // the state after it; row n the block's last state.
  T* states_before() const { return s2_lanes() + block * W; }
  T* decays() const { return states_before() + (block + 1) * padded(); }  // (block, Np)

  // The state entering sequence k: h0 of its state index, or zero.
  void initial_state(index_t k, V* h) const {
    load_state(row.h0, row.sequences.state_index(k, row.batch_row), h);
  }

  // Δ (after bias and softplus), u and Δ u for positions [t0, t0 + n); with Slope, also dΔ/d(delta).
  template <bool Slope>
  void prepare(index_t t0, index_t n) const {
    T* dt = delta_block();
    T* slope = softplus_slope();
    T* u = u_block();
    T* du = delta_u();
    gather_padded(row.delta, t0, n, dt);
    gather_padded(row.u, t0, n, u);
    for (index_t i = 0; i < n; i += W) {
      const V raw = lanes::load(dt + i) + row.bias;
      if (row.softplus) {
        V derivative;
        lanes::store(dt + i, vector_softplus<T>(raw, Slope ? &derivative : nullptr));
        if constexpr (Slope) lanes::store(slope + i, derivative);
      } else {
        lanes::store(dt + i, raw);
        if constexpr (Slope) lanes::store(slope + i, V{} + T(1));
      }
      lanes::store(du + i, lanes::load(dt + i) * lanes::load(u + i));
    }
  }

  // Runs the recurrence over [t0, t0 + n) from h, leaving the final state in h. Writes y_t
  // (before the gate) into y_block; with Save, also every state (states_before) and the decays.
  template <bool Save>
  void recur(index_t t0, index_t n, V* state) const {
    if constexpr (StaticP == 1) {
      state[0] = recur_one_vector<Save>(t0, n, state[0]);
    } else {
      using holder = std::conditional_t<(StaticP > 0), vector_registers<V, StaticP>, vector_array<V, max_P>>;
      holder h, A;
      if constexpr (StaticP == 0) h.count = A.count = vectors();
      h.zip(A, [&](V& x, V& a, int p) {
        x = state[p];
        a = lanes::load(row.A_log2e + p * W);
      });
      recur_vectors<Save>(t0, n, h, A);
      h.zip(A, [&](V& x, V&, int p) { state[p] = x; });
    }
    // y = Σ_n C h (the lanes of each position's vector) + D u. (One state vector: recur_one_vector
    // has summed the whole groups of W positions itself.)
    T* y = y_block();
    const T* u = u_block();
    const index_t summed = StaticP == 1 ? n - n % W : 0;
    sum_lanes(y_lanes() + summed * W, n - summed, y + summed);
    for (index_t i = 0; i < n; i += W) lanes::store(y + i, lanes::load(y + i) + row.D * lanes::load(u + i));
  }

  // sums[i] := the sum of the lanes of vector i, for n vectors (W at a time, then one by one:
  // both give the same bits).
  static void sum_lanes(const T* vectors, index_t n, T* sums) {
    index_t i = 0;
    for (; i + W <= n; i += W) lanes::sum_each(vectors + i * W, sums + i);
    for (; i < n; ++i) sums[i] = lanes::sum(lanes::load(vectors + i * W));
  }

  // One state vector per position. Not inlined on purpose: the state is then live only inside this
  // loop, and the register allocator keeps it in a register (inlined into the row loop, whose calls
  // clobber every vector register, it was kept in memory: a store and a load on the critical path).
  // Whole groups of W positions sum their C h over the lanes in registers, into y_block (the bits
  // of sum_lanes); the last n % W positions leave their C h vectors in y_lanes for recur to sum.
  template <bool Save>
  RESCAN_NOINLINE V recur_one_vector(index_t t0, index_t n, V h) const {
    const V A = lanes::load(row.A_log2e);
    const T* dt = delta_block();
    const T* du = delta_u();
    const auto advance = [&](index_t i) RESCAN_ALWAYS_INLINE {  // h through position t0 + i; returns C h
      const index_t t = t0 + i;
      const V decay = vector_exp2<T>(lanes::broadcast(dt[i]) * A);
      if constexpr (Save) lanes::store(states_before() + i * W, h);
      h = decay * h + lanes::broadcast(du[i]) * lanes::load(row.B + t * row.B_step);
      if constexpr (Save) lanes::store(decays() + i * W, decay);
      return lanes::load(row.C + t * row.C_step) * h;
    };
    index_t i = 0;
    for (; i + W <= n; i += W) {
      V outputs[W];
      RESCAN_UNROLL(64)
      for (int m = 0; m < W; ++m) outputs[m] = advance(i + m);  // unrolled: outputs stays in registers
      lanes::store(y_block() + i, lanes::sum_each(outputs));
    }
    for (; i < n; ++i) lanes::store(y_lanes() + i * W, advance(i));
    if constexpr (Save) lanes::store(states_before() + n * W, h);
    return h;
  }

  template <bool Save, class Vectors>
  RESCAN_NOINLINE void recur_vectors(index_t t0, index_t n, Vectors& h, Vectors& A) const {
    const index_t Np = padded();
    const T* dt = delta_block();
    const T* du = delta_u();
    T* ys = y_lanes();
    for (index_t i = 0; i < n; ++i) {
      const index_t t = t0 + i;
      const T* B = row.B + t * row.B_step;
      const T* C = row.C + t * row.C_step;
      const V step = lanes::broadcast(dt[i]), input = lanes::broadcast(du[i]);
      V y{};
      h.zip(A, [&](V& state, V& a, int p) {
        const V decay = vector_exp2<T>(step * a);
        if constexpr (Save) lanes::store(states_before() + i * Np + p * W, state);
        state = decay * state + input * lanes::load(B + p * W);
        y += lanes::load(C + p * W) * state;
        if constexpr (Save) lanes::store(decays() + i * Np + p * W, decay);
      });
      lanes::store(ys + i * W, y);
    }
    if constexpr (Save) h.zip(A, [&](V& state, V&, int p) { lanes::store(states_before() + n * Np + p * W, state); });
  }

  // z and sigmoid(z) for the block, vectorized (z_block := z, gate_sigmoid := sigmoid(z)).
  void load_gate(index_t t0, index_t n) const {
    T* z = z_block();
    T* sigmoid = gate_sigmoid();
    gather_padded(row.z, t0, n, z);
    for (index_t i = 0; i < n; i += W) lanes::store(sigmoid + i, vector_sigmoid<T>(lanes::load(z + i)));
  }

  // The forward pass of the row. checkpoint(c, h) is called with the state before position
  // c * block (h: Np lanes) whenever the scan reaches it; out may be absent (only states and checkpoints).
  template <class Checkpoint>
  void forward(const strided_view<T, 1>& out, const strided_view<T, 3>& last_state,
               const Checkpoint& checkpoint) const {
    forward_positions(out, last_state, checkpoint, [](index_t, T*) {}, 0, row.u.extent(0));
  }

  // The forward pass over positions [first, last) only (first a multiple of block): a sequence
  // that started before first resumes from the state restore(first / block, h) loads. The same
  // arithmetic as one pass over the whole row, so the parts of a row can run in parallel once its
  // checkpoints are known. last_state is written for the sequences that end in the range.
  template <class Checkpoint, class Restore>
  void forward_positions(const strided_view<T, 1>& out, const strided_view<T, 3>& last_state,
                         const Checkpoint& checkpoint, const Restore& restore, index_t first, index_t last) const {
    const bool has_out = out.data() != nullptr, has_last = last_state.data() != nullptr;
    const index_t length = row.u.extent(0);
    V h[max_P];
    for (index_t k = 0; k < row.sequences.count(); ++k) {
      const index_t begin = row.sequences.begin(k), end = row.sequences.end(k);
      const index_t state = row.sequences.state_index(k, row.batch_row);
      if (begin == end) {  // an empty sequence: its last state is its initial state
        if (has_last && begin >= first && (begin < last || (begin == length && last == length))) {
          initial_state(k, h);
          store_state(last_state, state, h);
        }
        continue;
      }
      if (end <= first || begin >= last) continue;
      index_t t0 = std::max(begin, first);
      entering_state(k, t0 == begin, restore, t0 / block, h);
      const index_t stop = std::min(end, last);
      while (t0 < stop) {
        const index_t n = std::min(stop, (t0 / block + 1) * block) - t0;
        if (t0 % block == 0) {
          alignas(64) T lanes_of_h[selective_scan_max_state + 64];
          for (int p = 0; p < vectors(); ++p) lanes::store(lanes_of_h + p * W, h[p]);
          checkpoint(t0 / block, static_cast<const T*>(lanes_of_h));
        }
        prepare<false>(t0, n);
        recur<false>(t0, n, h);
        if (has_out) write_block(out, t0, n);
        t0 += n;
      }
      if (has_last && end <= last) store_state(last_state, state, h);
    }
  }

  // out[t0 .. t0 + n) := scale * y * silu(z) (or += when accumulating), the gate in one pass.
  void write_block(const strided_view<T, 1>& out, index_t t0, index_t n) const {
    T* y = y_block();
    if (row.z.data() != nullptr) {
      T* z = z_block();
      gather_padded(row.z, t0, n, z);
      for (index_t i = 0; i < n; i += W) {
        const V gate = lanes::load(z + i);
        lanes::store(y + i, row.scale * (lanes::load(y + i) * gate * vector_sigmoid<T>(gate)));
      }
    } else {
      for (index_t i = 0; i < n; i += W) lanes::store(y + i, row.scale * lanes::load(y + i));
    }
    write_block_values(out, t0, n, y, row.accumulate_output);
  }

  // states(s, d, :) := h (or += h when accumulating).
  void store_state(const strided_view<T, 3>& states, index_t s, const V* h, bool accumulate = false) const {
    alignas(64) T lanes_of_h[selective_scan_max_state + 64];
    for (int p = 0; p < vectors(); ++p) lanes::store(lanes_of_h + p * W, h[p]);
    for (index_t n = 0; n < row.state; ++n) {
      T& target = states(s, row.channel, n);
      target = accumulate ? target + lanes_of_h[n] : lanes_of_h[n];
    }
  }

  // The backward pass of the row. restore(c, h) loads the state saved before position c * block
  // into the first N of h's Np (zeroed) lanes.
  template <class Restore>
  void backward(const strided_view<const T, 1>& dout, const selective_scan_row_gradients<T>& g,
                const Restore& restore) const {
    const int P = vectors();
    const bool has_z = row.z.data() != nullptr;
    V dA[max_P], dB[max_P], dC[max_P], dh[max_P], h[max_P];
    for (int p = 0; p < P; ++p) dA[p] = dB[p] = dC[p] = V{};
    V dD{}, dbias{};  // per-lane partial sums over positions i = lane (mod W), in a fixed order
    for (index_t k = row.sequences.count() - 1; k >= 0; --k) {
      const index_t begin = row.sequences.begin(k), end = row.sequences.end(k);
      const index_t s = row.sequences.state_index(k, row.batch_row);
      load_state(g.dlast_state, s, dh);
      for (index_t t1 = end; t1 > begin;) {
        const index_t t0 = std::max(begin, ((t1 - 1) / block) * block), n = t1 - t0;
        if (t0 == begin) {
          initial_state(k, h);
        } else {
          restore_state(restore, t0 / block, h);
        }
        prepare<true>(t0, n);
        recur<true>(t0, n, h);
        // The output side: gy = dout * scale * silu(z), dz (written over y), dD.
        T* gy = dout_block();
        T* y = y_block();
        const T* u = u_block();
        gather_padded(dout, t0, n, gy);
        if (has_z) {
          load_gate(t0, n);
          for (index_t i = 0; i < n; i += W) {
            const V g_out = lanes::load(gy + i) * row.scale, z = lanes::load(z_block() + i);
            const V sigmoid = lanes::load(gate_sigmoid() + i);
            lanes::store(y + i, g_out * lanes::load(y + i) * sigmoid * (T(1) + z * (T(1) - sigmoid)));
            lanes::store(gy + i, g_out * z * sigmoid);
          }
          if (g.dz.data() != nullptr) write_block_values(g.dz, t0, n, static_cast<const T*>(y), g.accumulate);
        } else {
          for (index_t i = 0; i < n; i += W) lanes::store(gy + i, lanes::load(gy + i) * row.scale);
        }
        for (index_t i = 0; i < n; i += W) dD += lanes::load(gy + i) * lanes::load(u + i);  // zero beyond n
        // The reverse recurrence over the block, then du and dΔ from its per-lane sums.
        T* s1 = y_block();  // y is no longer needed
        T* s2 = z_block();
        index_t s1_summed = 0;  // positions whose s1 the reverse recurrence has summed itself
        if constexpr (StaticP == 1) {
          carry c{dh[0], dA[0], dB[0], dC[0]};
          c = reverse_one_vector(t0, n, c, g, s1);
          dh[0] = c.dh, dA[0] = c.dA, dB[0] = c.dB, dC[0] = c.dC;
          s1_summed = n - n % W;
        } else {
          reverse_vectors(t0, n, dh, dA, dB, dC, g);
        }
        sum_lanes(s1_lanes() + s1_summed * W, n - s1_summed, s1 + s1_summed);
        sum_lanes(s2_lanes(), n, s2);
        for (index_t i = n; i < ((n + W - 1) / W) * W; ++i) s1[i] = s2[i] = T(0);  // dΔ = 0 there
        const T* slope = softplus_slope();
        const T* dt = delta_block();
        T* d_delta = s2;
        T* d_u = s1;
        for (index_t i = 0; i < n; i += W) {
          const V sum1 = lanes::load(s1 + i);
          lanes::store(d_delta + i, (lanes::load(u + i) * sum1 + lanes::load(s2 + i)) * lanes::load(slope + i));
          lanes::store(d_u + i, lanes::load(dt + i) * sum1 + row.D * lanes::load(gy + i));
        }
        for (index_t i = 0; i < n; i += W) dbias += lanes::load(d_delta + i);
        if (g.du.data() != nullptr) write_block_values(g.du, t0, n, d_u, g.accumulate);
        if (g.ddelta.data() != nullptr) write_block_values(g.ddelta, t0, n, d_delta, g.accumulate);
        t1 = t0;
      }
      if (g.dh0.data() != nullptr) store_state(g.dh0, s, dh, g.accumulate);
    }
    if (g.parameters != nullptr) {
      assert(g.layout.Np == padded() && "selective_scan_parameter_layout: the row's padded state count");
      for (int p = 0; p < P; ++p) {
        lanes::store(g.parameters + g.layout.dA() + p * W, dA[p]);
        if (g.layout.constant_B) lanes::store(g.parameters + g.layout.dB() + p * W, dB[p]);
        if (g.layout.constant_C) lanes::store(g.parameters + g.layout.dC() + p * W, dC[p]);
      }
      g.parameters[g.layout.dD()] = lanes::sum(dD);
      g.parameters[g.layout.ddelta_bias()] = lanes::sum(dbias);
    }
  }

  // The carries of the reverse recurrence for one state vector: dL/dh, and the sums for dA and
  // (when constant) dB and dC.
  struct carry {
    V dh, dA, dB, dC;
  };

  // One position of the reverse recurrence for one state vector: B, C (and the dB / dC partial
  // sums when they vary) at this position and vector, `at` the vector's offset in the saved block.
  // Adds this vector's terms of Σ_n dh B (s1) and Σ_n A dh Ā h_{t-1} (s2).
  void reverse_position(const T* B, const T* C, T* dB_t, T* dC_t, index_t at, const V& A, const V& grad_y,
                        const V& step, const V& input, carry& c, V& s1, V& s2,
                        const selective_scan_row_gradients<T>& g) const {
    const V decay = lanes::load(decays() + at);
    c.dh += grad_y * lanes::load(C);
    const V q = c.dh * decay * lanes::load(states_before() + at);
    s1 += c.dh * lanes::load(B);
    s2 += A * q;
    c.dA += step * q;
    // dB += dh Δu and dC += dy h_t, each product written in the sum so that it contracts to one FMA
    // (where the compiler contracts: GCC in its default GNU mode, Clang within an expression)
    const V h_t = lanes::load(states_before() + at + padded());
    if (g.layout.constant_B) c.dB += c.dh * input;
    else if (dB_t) lanes::store(dB_t, lanes::load(dB_t) + c.dh * input);
    if (g.layout.constant_C) c.dC += grad_y * h_t;
    else if (dC_t) lanes::store(dC_t, lanes::load(dC_t) + grad_y * h_t);
    c.dh *= decay;
  }

  // The reverse recurrence over positions [t0, t0 + n) of a saved block, one state vector. Not
  // inlined, for the same reason as recur_one_vector: the carries stay in registers. The s2
  // vectors go to s2_lanes; the s1 vectors of each whole group of W positions are summed over the
  // lanes in registers into s1_sums (as recur_one_vector does with C h), those of the last n % W
  // positions go to s1_lanes.
  RESCAN_NOINLINE carry reverse_one_vector(index_t t0, index_t n, carry c, const selective_scan_row_gradients<T>& g,
                                           T* s1_sums) const {
    const V A = lanes::load(row.A);
    const auto back = [&](index_t i) RESCAN_ALWAYS_INLINE {  // c through position t0 + i; returns s1
      const index_t t = t0 + i;
      V s1{}, s2{};
      reverse_position(row.B + t * row.B_step, row.C + t * row.C_step, g.dB ? g.dB + t * W : nullptr,
                       g.dC ? g.dC + t * W : nullptr, i * W, A, lanes::broadcast(dout_block()[i]),
                       lanes::broadcast(delta_block()[i]), lanes::broadcast(delta_u()[i]), c, s1, s2, g);
      lanes::store(s2_lanes() + i * W, s2);
      return s1;
    };
    const index_t whole = n - n % W;
    for (index_t i = n - 1; i >= whole; --i) lanes::store(s1_lanes() + i * W, back(i));
    for (index_t first = whole - W; first >= 0; first -= W) {
      V s1[W];
      RESCAN_UNROLL(64)
      for (int m = W - 1; m >= 0; --m) s1[m] = back(first + m);
      lanes::store(s1_sums + first, lanes::sum_each(s1));
    }
    return c;
  }

  // The same for P state vectors, carries in memory.
  RESCAN_NOINLINE void reverse_vectors(index_t t0, index_t n, V* dh, V* dA, V* dB, V* dC,
                                       const selective_scan_row_gradients<T>& g) const {
    const int P = vectors();
    const index_t Np = padded();
    for (index_t i = n - 1; i >= 0; --i) {
      const index_t t = t0 + i;
      const V grad_y = lanes::broadcast(dout_block()[i]), step = lanes::broadcast(delta_block()[i]);
      const V input = lanes::broadcast(delta_u()[i]);
      V s1{}, s2{};
      for (int p = 0; p < P; ++p) {
        carry c{dh[p], dA[p], dB[p], dC[p]};
        const index_t lane = p * W;
        reverse_position(row.B + t * row.B_step + lane, row.C + t * row.C_step + lane,
                         g.dB ? g.dB + t * Np + lane : nullptr, g.dC ? g.dC + t * Np + lane : nullptr, i * Np + lane,
                         lanes::load(row.A + lane), grad_y, step, input, c, s1, s2, g);
        dh[p] = c.dh, dA[p] = c.dA, dB[p] = c.dB, dC[p] = c.dC;
      }
      lanes::store(s1_lanes() + i * W, s1);
      lanes::store(s2_lanes() + i * W, s2);
    }
  }

  // h := states(s, d, :), zero in the padding lanes (all zero when states is absent).
  void load_state(const strided_view<const T, 3>& states, index_t s, V* h) const {
    if (states.data() == nullptr) {
      for (int p = 0; p < vectors(); ++p) h[p] = V{};
      return;
    }
    alignas(64) T lanes_of_h[selective_scan_max_state + 64];
    for (index_t n = 0; n < row.state; ++n) lanes_of_h[n] = states(s, row.channel, n);
    for (index_t n = row.state; n < padded(); ++n) lanes_of_h[n] = T(0);
    for (int p = 0; p < vectors(); ++p) h[p] = lanes::load(lanes_of_h + p * W);
  }

  // h := the initial state of sequence k when it starts here, else the state restore(c, lanes)
  // saves before position c * block. Out of line on purpose: GCC 12 at -O3 for SSE2 computed wrong
  // outputs in the split-rows forward pass (selective_scan_forward_split_rows) when this choice was
  // inlined into forward_positions together with the recurrence (right with -O2 or -fwrapv; no
  // overflow or invalid access found). The portable test preset builds at -O3 to keep it covered.
  template <class Restore>
  RESCAN_NOINLINE void entering_state(index_t k, bool starts, const Restore& restore, index_t c, V* h) const {
    if (starts) {
      initial_state(k, h);
    } else {
      restore_state(restore, c, h);
    }
  }

  // h := the state restore(c, lanes) saves before position c * block (its first N lanes), zero-padded.
  template <class Restore>
  void restore_state(const Restore& restore, index_t c, V* h) const {
    alignas(64) T lanes_of_h[selective_scan_max_state + 64];
    for (index_t n = row.state; n < padded(); ++n) lanes_of_h[n] = T(0);
    restore(c, static_cast<T*>(lanes_of_h));
    for (int p = 0; p < vectors(); ++p) h[p] = lanes::load(lanes_of_h + p * W);
  }
};

}  // namespace rescan::detail
