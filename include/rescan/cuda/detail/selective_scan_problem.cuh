// The selective scan (S6) as the CUDA kernels see it: tuning constants, the problem's views in scan
// order as one trivially copyable kernel argument, the scanned element (an affine pair, lifted to a
// flagged pair when packed sequences restart the state), and the per-position math of
// selective_scan_arguments.hpp (Δ with bias and softplus, the silu gate).
//
// Positions s = 0 .. L-1 are scan positions: the views handed over by the front door are already in
// scan order (reversed along L for a reverse scan), so nothing here knows about the direction
// except detail::selective_scan_sequences, which maps packed sequences (offsets in memory order) to scan
// order itself.
#pragma once

#include <cstddef>
#include <type_traits>
#include <numeric>

#include "rescan/core/operators.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/elements.cuh"
#include "rescan/scan/selective_scan_dispatch.hpp"

namespace rescan::cuda_detail {

// ---- tuning (changing these changes float results in the last bits: tiles associate sums) ----
namespace selective_scan_tuning {
// The block kernels (the backward pass; the forward pass of packed sequences): one block per
// (batch, channel) row; a tile is threads * items consecutive positions, thread i
// holding positions i*items .. i*items + items - 1 of the tile (the blocked arrangement the block
// scan wants). The tile is also the checkpoint interval: the backward pass recomputes one tile
// from the state saved at its start.
inline constexpr int threads = 128;
inline constexpr int items = 4;
inline constexpr index_t tile = index_t(threads) * items;
// Short sequences (Vim's 197 tokens) run in one smaller tile: one warp for L <= 128, two for
// L <= 256, so fewer threads idle and more rows share an SM. Calls `body` with the thread count
// (std::integral_constant) for a sequence of length L.
template <class Body>
void with_block_threads(index_t length, const Body& body) {
  if (length <= 32 * items) {
    body(std::integral_constant<int, 32>{});
  } else if (length <= 64 * items) {
    body(std::integral_constant<int, 64>{});
  } else {
    body(std::integral_constant<int, threads>{});
  }
}
// Rows without packed sequences, N <= 16 and L <= 256 run the forward pass with the states across
// lanes (warp/warp_state_lanes_selective_scan.cuh): the fewest lanes a row (4, 8 or 16) that hold
// its N states, forward_warps warps a block. Calls `body` with the lanes (std::integral_constant),
// or returns false for the other rows (the warp kernel below). Measured on an H100 at N = 16
// (docs/benchmarks-gpu.md): 1.5x the warp kernel at Vim's L = 197; at L = 2048 the same time from
// batch 2 on and 1.7x slower at batch 1 (a row is one group's serial walk, and 768 warps do not
// fill the GPU), where the warp kernel's lanes split the row's positions.
inline constexpr index_t state_lanes_max_state = 16;
inline constexpr index_t state_lanes_max_length = 256;
// Its registers are budgeted for this many blocks of forward_warps warps a multiprocessor (float:
// 4, at most 128 registers a thread; double values take two registers each, so 2).
template <class T>
inline constexpr int state_lanes_min_blocks = sizeof(T) <= 4 ? 4 : 2;
template <class Body>
bool with_state_lanes(index_t state, index_t length, const Body& body) {
  if (length > state_lanes_max_length || state > state_lanes_max_state) return false;
  if (state <= 4) {
    body(std::integral_constant<int, 4>{});
  } else if (state <= 8) {
    body(std::integral_constant<int, 8>{});
  } else {
    body(std::integral_constant<int, 16>{});
  }
  return true;
}
// The other rows without packed sequences run the warp-level forward pass (warp/warp_selective_scan.cuh):
// one warp per row, forward_warps warps a block, 32 * items positions a tile. Items grow with L so
// that the scan's fixed cost is spread over more positions, up to 64 bytes of each per-item array
// a lane (16 floats, 8 doubles). Calls `body` with the items (std::integral_constant).
inline constexpr int forward_warps = 4;
// The warp-level forward pass stages variable B and C through shared memory this many bytes of each
// at a time (as many states of a tile as fit), double-buffered, and its registers are budgeted for
// forward_min_blocks blocks a multiprocessor (float: 3, at most 168 registers a thread with 4 warps;
// double values take two registers each, so 2).
inline constexpr std::size_t forward_stage_bytes = 8192;
template <class T>
inline constexpr int forward_min_blocks = sizeof(T) <= 4 ? 3 : 2;
template <class T, class Body>
void with_warp_items(index_t length, const Body& body) {
  if (length <= 32 * 4) {
    body(std::integral_constant<int, 4>{});
    return;
  }
  if constexpr (64 / sizeof(T) >= 16) {  // not instantiated where 16 items would pass 64 bytes
    if (length > 32 * 8) {
      body(std::integral_constant<int, 16>{});
      return;
    }
  }
  body(std::integral_constant<int, 8>{});
}
// The decoding step (L = 1): a block takes tiles of step_threads rows, one thread per row; the
// rows' states go in chunks of up to step_chunk n's, spread over the block's threads (each
// thread holds step_chunk states' inputs in registers at a time). Neither changes a bit of the
// results: each row's y is summed over n in order whatever they are.
inline constexpr int step_threads = 128;
inline constexpr int step_chunk = 16;
// The backward pass sums variable dB / dC over the channels of a group without atomics: each block
// handles a run of channels of one group one after the other and adds their contributions to its
// own (N, L) partial in a temporary, which a second kernel sums over runs in order. Runs grow until
// the temporary fits this many bytes (more runs = more blocks in flight, more memory).
inline constexpr std::size_t variable_partial_bytes = std::size_t(256) << 20;
}  // namespace selective_scan_tuning

// ---- math, in T (float math for float, double for double) ------------------------------------
RESCAN_HOST_DEVICE inline float log1p_of(float x) { return log1pf(x); }
RESCAN_HOST_DEVICE inline double log1p_of(double x) { return log1p(x); }

// The decay exp(Δ A) as every selective-scan kernel computes it (the tile kernels and the decoding
// step must agree). Float: exp2(Δ (A log2 e)), one multiply and the hardware exp2 (the CPU backend's
// formulation too), where expf adds a range reduction of its own; on the device the exp2 is the
// SFU's instruction with subnormal results flushed to zero (ex2.approx.ftz: a decay below 2^-126
// counts as 0, as in the CPU backend's kernels under their default flush_subnormals), which saves
// exp2f's rescaling of arguments under -126 (three instructions per state update). Double: exp.
RESCAN_HOST_DEVICE inline float decay_of(float step, float a) {
  const float x = step * (a * 1.4426950408889634f);
#if defined(__CUDA_ARCH__)
  float result;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(result) : "f"(x));
  return result;
#else
  return exp2f(x);
#endif
}
RESCAN_HOST_DEVICE inline double decay_of(double step, double a) { return exp(step * a); }

template <class T>
RESCAN_HOST_DEVICE T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

// B or C at (b, d, n, s): constant (dim, N) or variable (batch, groups, N, L), channel d reading
// group d / channels_per_group.
template <class T>
struct ss_input_matrix {
  strided_view<const T, 2> constant{};
  strided_view<const T, 4> variable{};
  index_t channels_per_group = 1;
  bool is_variable = false;

  RESCAN_HOST_DEVICE T operator()(index_t b, index_t d, index_t n, index_t s) const {
    return is_variable ? variable(b, d / channels_per_group, n, s) : constant(d, n);
  }
  // The group of channel d (what a caller reading many n of one channel computes once).
  RESCAN_HOST_DEVICE index_t group_of(index_t d) const { return is_variable ? d / channels_per_group : d; }
  // The same element as (b, d, n, s), given group = group_of(d).
  RESCAN_HOST_DEVICE T at_group(index_t b, index_t d, index_t group, index_t n, index_t s) const {
    return is_variable ? variable(b, group, n, s) : constant(d, n);
  }
};

template <class T>
ss_input_matrix<T> make_input_matrix(const selective_scan_tensor<const T>& x, index_t dim) {
  ss_input_matrix<T> result;
  result.is_variable = x.is_variable();
  if (result.is_variable) {
    result.variable = x.variable();
    result.channels_per_group = dim / x.variable().extent(1);
  } else {
    result.constant = x.constant();
  }
  return result;
}

// Where scan position s sits among packed sequences: its sequence k in scan order, the state index
// of k (h0 / last_state / dh0 row), and whether s is the first / last position of k.
struct ss_position {
  index_t sequence = 0;
  index_t state_index = 0;
  bool begins = false;
  bool ends = false;
};

// The largest k with begin(k) <= s: the (non-empty) sequence holding s. begin() is non-decreasing
// in k and begin(0) = 0 (offsets are validated on the host), end(k) = begin(k + 1).
RESCAN_HOST_DEVICE inline ss_position locate_position(const detail::selective_scan_sequences& sequences, index_t s) {
  index_t low = 0, high = sequences.count() - 1;
  while (low < high) {
    const index_t middle = low + (high - low + 1) / 2;
    if (sequences.begin(middle) <= s) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  ss_position position;
  position.sequence = low;
  position.state_index = sequences.state_index(low, 0);
  position.begins = sequences.begin(low) == s;
  position.ends = sequences.end(low) == s + 1;
  return position;
}

// Every input of one call, in scan order, as a kernel argument.
template <class T>
struct ss_params {
  strided_view<const T, 3> u{}, delta{}, z{};
  strided_view<const T, 2> A{};
  ss_input_matrix<T> B{}, C{};
  strided_view<const T, 1> D{}, delta_bias{};
  strided_view<const T, 3> h0{};
  detail::selective_scan_sequences sequences{};
  index_t batch = 0, dim = 0, length = 0, state = 0;
  T scale = T(1);
  bool delta_softplus = false;

  RESCAN_HOST_DEVICE bool has_z() const { return z.data() != nullptr; }
  RESCAN_HOST_DEVICE bool has_D() const { return D.data() != nullptr; }

  // Δ at (b, d, s) and dΔ/d(delta) (the softplus derivative, 1 above 20 or without softplus).
  RESCAN_HOST_DEVICE T step(index_t b, index_t d, index_t s, T& derivative) const {
    T raw = delta(b, d, s);
    if (delta_bias.data() != nullptr) raw += delta_bias(d);
    return step_of(raw, derivative);
  }
  // Δ and its derivative from delta + delta_bias (softplus or pass-through).
  RESCAN_HOST_DEVICE T step_of(T raw, T& derivative) const {
    derivative = T(1);
    if (!delta_softplus || raw > T(20)) return raw;
    derivative = sigmoid_of(raw);
    return log1p_of(exp_of(raw));
  }

  // The state entering a row or sequence: h0(index, d, n), or zero when h0 is not given.
  RESCAN_HOST_DEVICE T initial(index_t index, index_t d, index_t n) const {
    return h0.data() != nullptr ? h0(index, d, n) : T(0);
  }
};

// target = value, or += value when accumulating (every output and gradient of the kernels).
template <class T>
RESCAN_HOST_DEVICE void ss_store(T& target, T value, bool accumulate) {
  target = accumulate ? target + value : value;
}
// view(i, j, k) = value, or += value when accumulating.
template <class T>
RESCAN_HOST_DEVICE void ss_write(const strided_view<T, 3>& view, index_t i, index_t j, index_t k, T value,
                                 bool accumulate) {
  ss_store(view(i, j, k), value, accumulate);
}

// y as the output wants it: scaled, then gated by silu(z) where the call has a z (z, the position's
// value, is ignored otherwise).
template <class T>
RESCAN_HOST_DEVICE T ss_scaled_and_gated(const ss_params<T>& p, T y, T z) {
  T value = y * p.scale;
  if (p.has_z()) value *= z * sigmoid_of(z);
  return value;
}
// The same for position (b, d, s), reading its z.
template <class T>
RESCAN_HOST_DEVICE T ss_scaled_and_gated(const ss_params<T>& p, T y, index_t b, index_t d, index_t s) {
  return ss_scaled_and_gated(p, y, p.has_z() ? p.z(b, d, s) : T(0));
}

template <class T>
ss_params<T> make_params(const detail::selective_scan_problem<T>& problem) {
  ss_params<T> p;
  p.u = problem.in.u;
  p.delta = problem.in.delta;
  p.z = problem.in.z;
  p.A = problem.in.A;
  p.B = make_input_matrix(problem.in.B, problem.dim);
  p.C = make_input_matrix(problem.in.C, problem.dim);
  p.D = problem.in.D;
  p.delta_bias = problem.in.delta_bias;
  p.h0 = problem.in.h0;
  p.sequences = problem.sequences;
  p.batch = problem.batch;
  p.dim = problem.dim;
  p.length = problem.length;
  p.state = problem.state;
  p.scale = problem.scale;
  p.delta_softplus = problem.in.delta_softplus;
  return p;
}

// ---- the scanned element ---------------------------------------------------------------------
// Without packed sequences: affine pairs (Ā, b̄) under affine_compose, the state entering a tile
// being the pair (1, h). With packed sequences: the pairs flagged where a sequence restarts (the
// segmented lift of elements.cuh), so a restart discards everything before it whatever the values
// (no 0 * inf).
template <class T, bool Packed>
struct ss_element;

template <class T>
struct ss_element<T, false> {
  using type = affine_pair<T>;
  using op_type = affine_compose;
  RESCAN_HOST_DEVICE static type make(T a, T b, bool) { return type{a, b}; }
  RESCAN_HOST_DEVICE static type identity() { return type{T(1), T(0)}; }
  RESCAN_HOST_DEVICE static type from_state(T h) { return type{T(1), h}; }
  RESCAN_HOST_DEVICE static T state(const type& x) { return x.b; }
};

template <class T>
struct ss_element<T, true> {
  using type = flagged<affine_pair<T>>;
  using op_type = segmented_op<affine_compose>;
  RESCAN_HOST_DEVICE static type make(T a, T b, bool restart) { return type{affine_pair<T>{a, b}, restart ? 1 : 0}; }
  RESCAN_HOST_DEVICE static type identity() { return type{affine_pair<T>{T(1), T(0)}, 0}; }
  RESCAN_HOST_DEVICE static type from_state(T h) { return type{affine_pair<T>{T(1), h}, 0}; }
  RESCAN_HOST_DEVICE static T state(const type& x) { return x.value.b; }
};

// ---- runs of rows (backward pass) ------------------------------------------------------------
// How the backward pass groups rows into runs (one block each). Without variable dB / dC a run is
// one row. With them, a run is up to `length` consecutive channels of one unit (a unit: channels
// that share their B group and their C group), so its contributions to dB / dC can be summed in
// its own partial; runs of a unit are numbered run_in_unit = 0 .. runs_per_unit - 1.
struct ss_runs {
  index_t batch = 0, dim = 0;
  index_t unit = 1;           // channels per unit
  index_t length = 1;         // channels per run (at most unit)
  index_t runs_per_unit = 1;  // ceil(unit / length)

  RESCAN_HOST_DEVICE index_t units() const { return dim / unit; }
  RESCAN_HOST_DEVICE index_t count() const { return batch * units() * runs_per_unit; }
  // Run r = ((b * units + unit index) * runs_per_unit + run_in_unit): its batch row and channels.
  RESCAN_HOST_DEVICE index_t batch_of(index_t r) const { return r / (units() * runs_per_unit); }
  RESCAN_HOST_DEVICE index_t first_channel(index_t r) const {
    const index_t in_batch = r % (units() * runs_per_unit);
    return (in_batch / runs_per_unit) * unit + (in_batch % runs_per_unit) * length;
  }
  RESCAN_HOST_DEVICE index_t channels(index_t r) const {
    const index_t in_unit = (r % runs_per_unit) * length;
    return unit - in_unit < length ? unit - in_unit : length;
  }
};

// Runs of rows for the backward kernel (ss_runs): a unit is the gcd of the channels per group of
// the variable gradients asked for; runs grow until the partials fit the budget.
template <class T>
ss_runs make_runs(const detail::selective_scan_problem<T>& problem, const selective_scan_gradients<T>& gradients,
                  std::size_t budget = selective_scan_tuning::variable_partial_bytes) {
  ss_runs runs;
  runs.batch = problem.batch;
  runs.dim = problem.dim;
  const bool variable_dB = gradients.dB.given() && gradients.dB.is_variable();
  const bool variable_dC = gradients.dC.given() && gradients.dC.is_variable();
  if (!variable_dB && !variable_dC) return runs;  // one row per run
  index_t unit = 0;
  if (variable_dB) unit = std::gcd(unit, problem.dim / gradients.dB.variable().extent(1));
  if (variable_dC) unit = std::gcd(unit, problem.dim / gradients.dC.variable().extent(1));
  runs.unit = unit;
  const std::size_t tensors = (variable_dB ? 1 : 0) + (variable_dC ? 1 : 0);
  const std::size_t full = std::size_t(problem.batch) * std::size_t(problem.dim) * std::size_t(problem.state) *
                           std::size_t(problem.length) * sizeof(T) * tensors;
  index_t length = static_cast<index_t>((full + budget - 1) / budget);
  length = length < 1 ? 1 : (length > unit ? unit : length);
  runs.length = length;
  runs.runs_per_unit = (unit + length - 1) / length;
  return runs;
}

}  // namespace rescan::cuda_detail
