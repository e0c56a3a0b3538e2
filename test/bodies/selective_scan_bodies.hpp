// Test bodies of the selective scan, templated over a backend harness (test/support/*_harness):
// forward and backward against the double-precision oracle on awkward shapes and every optional
// input, checkpoints, the decoding step, the bidirectional scan and packed sequences.
#pragma once

#include <array>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/data.hpp"
#include "support/selective_scan_cases.hpp"

namespace rescan::testing {

template <class T>
std::vector<T> narrowed(const std::vector<double>& x) {
  return std::vector<T>(x.begin(), x.end());
}
template <class T>
std::vector<double> widened(const std::vector<T>& x) {
  return std::vector<double>(x.begin(), x.end());
}

// How a case's tensors sit in memory; every layout is read through strides (no copy).
enum class sequence_layout {
  row_major,     // sequences (batch, dim, L), variable B / C (batch, groups, N, L)
  time_major,    // sequences stored (batch, L, dim); B / C row-major
  channel_major  // the examples' mixers: sequences stored (dim, batch, L), variable B / C stored
                 // (groups, N, batch, L), so rows (b, d) and (b + 1, d) are adjacent
};

inline const char* layout_name(sequence_layout layout) {
  switch (layout) {
    case sequence_layout::row_major: return "row-major";
    case sequence_layout::time_major: return "time-major";
    case sequence_layout::channel_major: return "channel-major";
  }
  return "?";
}

// Strides of the (batch, dim, L) sequence tensors.
inline std::array<index_t, 3> sequence_strides(const selective_scan_case& c, sequence_layout layout) {
  switch (layout) {
    case sequence_layout::time_major: return {c.length * c.dim, 1, c.dim};
    case sequence_layout::channel_major: return {c.length, c.batch * c.length, 1};
    default: return {c.dim * c.length, c.length, 1};
  }
}
// Strides of the (batch, groups, N, L) variable B / C.
inline std::array<index_t, 4> variable_input_strides(const selective_scan_case& c, sequence_layout layout) {
  if (layout == sequence_layout::channel_major) {
    return {c.length, c.state * c.batch * c.length, c.batch * c.length, 1};
  }
  return {c.groups * c.state * c.length, c.state * c.length, c.length, 1};
}

// Where element `flat` of a row-major tensor of `extents` sits in memory with `strides`.
template <std::size_t Rank>
std::size_t stored_offset(index_t flat, const std::array<index_t, Rank>& extents, const std::array<index_t, Rank>& strides) {
  index_t offset = 0;
  for (std::size_t k = Rank; k-- > 0;) {
    offset += flat % extents[k] * strides[k];
    flat /= extents[k];
  }
  return std::size_t(offset);
}
// A row-major tensor x of `extents` into (to_strided) or out of (from_strided) the dense storage
// of the same size that `strides` describe.
template <std::size_t Rank>
std::vector<double> to_strided(const std::vector<double>& x, const std::array<index_t, Rank>& extents,
                               const std::array<index_t, Rank>& strides) {
  std::vector<double> stored(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) stored[stored_offset(index_t(i), extents, strides)] = x[i];
  return stored;
}
template <std::size_t Rank>
std::vector<double> from_strided(const std::vector<double>& stored, const std::array<index_t, Rank>& extents,
                                 const std::array<index_t, Rank>& strides) {
  std::vector<double> x(stored.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = stored[stored_offset(index_t(i), extents, strides)];
  return x;
}

// A case's (batch, dim, L) sequence tensor and its variable (batch, groups, N, L) B / C (constant
// ones, (dim, N), are always row-major), between the oracle's row-major order and storage.
inline std::vector<double> to_sequence_storage(const std::vector<double>& x, const selective_scan_case& c,
                                               sequence_layout layout) {
  return to_strided<3>(x, {c.batch, c.dim, c.length}, sequence_strides(c, layout));
}
inline std::vector<double> from_sequence_storage(const std::vector<double>& stored, const selective_scan_case& c,
                                                 sequence_layout layout) {
  return from_strided<3>(stored, {c.batch, c.dim, c.length}, sequence_strides(c, layout));
}
inline std::vector<double> to_input_storage(const std::vector<double>& x, const selective_scan_case& c, bool variable,
                                            sequence_layout layout) {
  if (!variable) return x;
  return to_strided<4>(x, {c.batch, c.groups, c.state, c.length}, variable_input_strides(c, layout));
}
inline std::vector<double> from_input_storage(const std::vector<double>& stored, const selective_scan_case& c,
                                              bool variable, sequence_layout layout) {
  if (!variable) return stored;
  return from_strided<4>(stored, {c.batch, c.groups, c.state, c.length}, variable_input_strides(c, layout));
}

// One case's inputs in the harness's memory, as T, and views of them.
template <class Harness, class T>
struct selective_scan_device_case {
  using buffer = decltype(Harness::upload(std::vector<T>{}));
  selective_scan_case shape;
  sequence_layout layout = sequence_layout::row_major;
  buffer u, delta, A, B, C, D, z, delta_bias, h0;
  decltype(Harness::upload(std::vector<index_t>{})) offsets;

  selective_scan_device_case(const selective_scan_case& c, const selective_scan_inputs& in, sequence_layout layout_)
      : shape(c), layout(layout_),
        u(Harness::upload(narrowed<T>(to_sequence_storage(in.u, c, layout_)))),
        delta(Harness::upload(narrowed<T>(to_sequence_storage(in.delta, c, layout_)))),
        A(Harness::upload(narrowed<T>(in.A))),
        B(Harness::upload(narrowed<T>(to_input_storage(in.B, c, c.variable_B, layout_)))),
        C(Harness::upload(narrowed<T>(to_input_storage(in.C, c, c.variable_C, layout_)))),
        D(Harness::upload(narrowed<T>(in.D))),
        z(Harness::upload(narrowed<T>(to_sequence_storage(in.z, c, layout_)))),
        delta_bias(Harness::upload(narrowed<T>(in.delta_bias))), h0(Harness::upload(narrowed<T>(in.h0))),
        offsets(Harness::upload(c.offsets)) {}
  // The two-layout form the CUDA tests call: time-major or row-major.
  selective_scan_device_case(const selective_scan_case& c, const selective_scan_inputs& in, bool time_major)
      : selective_scan_device_case(c, in, time_major ? sequence_layout::time_major : sequence_layout::row_major) {}

  template <class U>
  strided_view<U, 3> sequence_view(U* data) const {
    const auto& c = shape;
    const auto strides = sequence_strides(c, layout);
    return make_strided_view(data, {c.batch, c.dim, c.length}, {strides[0], strides[1], strides[2]});
  }
  template <class U>
  strided_view<U, 3> state_view(U* data) const {
    return make_view(data, {shape.states(), shape.dim, shape.state});
  }
  template <class U>
  selective_scan_tensor<U> input_view(U* data, bool variable) const {
    const auto& c = shape;
    if (!variable) return make_view(data, {c.dim, c.state});
    const auto strides = variable_input_strides(c, layout);
    return make_strided_view(data, {c.batch, c.groups, c.state, c.length}, {strides[0], strides[1], strides[2], strides[3]});
  }

  selective_scan_arguments<T> arguments() const {
    const auto& c = shape;
    selective_scan_arguments<T> a;
    a.u = sequence_view<const T>(u.data());
    a.delta = sequence_view<const T>(delta.data());
    a.A = make_view<const T>(A.data(), {c.dim, c.state});
    a.B = input_view<const T>(B.data(), c.variable_B);
    a.C = input_view<const T>(C.data(), c.variable_C);
    if (c.D) a.D = make_view<const T>(D.data(), c.dim);
    if (c.z) a.z = sequence_view<const T>(z.data());
    if (c.delta_bias) a.delta_bias = make_view<const T>(delta_bias.data(), c.dim);
    if (c.h0) a.h0 = state_view<const T>(h0.data());
    a.delta_softplus = c.softplus;
    a.direction = c.reverse ? scan_direction::reverse : scan_direction::forward;
    if (!c.offsets.empty()) a.sequence_offsets = make_view<const index_t>(offsets.data(), index_t(c.offsets.size()));
    return a;
  }
};

// Gradient buffers for one case, allocated in the harness's memory.
template <class Harness, class T>
struct selective_scan_device_gradients {
  using buffer = decltype(Harness::upload(std::vector<T>{}));
  buffer du, ddelta, dA, dB, dC, dD, dz, ddelta_bias, dh0;

  explicit selective_scan_device_gradients(const selective_scan_inputs& in, index_t states)
      : du(Harness::template allocate<T>(in.u.size())), ddelta(Harness::template allocate<T>(in.u.size())),
        dA(Harness::template allocate<T>(in.A.size())), dB(Harness::template allocate<T>(in.B.size())),
        dC(Harness::template allocate<T>(in.C.size())), dD(Harness::template allocate<T>(in.D.size())),
        dz(Harness::template allocate<T>(in.z.size())), ddelta_bias(Harness::template allocate<T>(in.delta_bias.size())),
        dh0(Harness::template allocate<T>(std::size_t(states * in.dim * in.state))) {}

  rescan::selective_scan_gradients<T> views(const selective_scan_device_case<Harness, T>& device) {
    const auto& c = device.shape;
    rescan::selective_scan_gradients<T> g;
    g.du = device.template sequence_view<T>(du.data());
    g.ddelta = device.template sequence_view<T>(ddelta.data());
    g.dA = make_view(dA.data(), {c.dim, c.state});
    g.dB = device.template input_view<T>(dB.data(), c.variable_B);
    g.dC = device.template input_view<T>(dC.data(), c.variable_C);
    if (c.D) g.dD = make_view(dD.data(), c.dim);
    if (c.z) g.dz = device.template sequence_view<T>(dz.data());
    if (c.delta_bias) g.ddelta_bias = make_view(ddelta_bias.data(), c.dim);
    g.dh0 = device.template state_view<T>(dh0.data());
    return g;
  }
};

// The cases every backend runs: tiny, odd, past one block/tile, every N kernel width, groups,
// constant B/C, no optional inputs, L = 0, batch 0, reverse, packed sequences (with empty and
// one-long sequences and sequences crossing blocks).
inline std::vector<selective_scan_case> selective_scan_cases() {
  selective_scan_case_list list;
  const auto add = [&](index_t batch, index_t dim, index_t L, index_t N, index_t groups) -> selective_scan_case& {
    return list.add(batch, dim, L, N, groups);
  };
  add(1, 1, 1, 1, 1);
  add(2, 4, 5, 3, 2);
  add(2, 4, 67, 16, 2);
  {
    auto& c = add(1, 2, 130, 16, 1);
    c.variable_B = c.variable_C = c.D = c.z = c.delta_bias = c.softplus = c.h0 = false;
  }
  add(1, 3, 64, 64, 1).h0 = false;
  add(2, 2, 17, 1, 1).variable_C = false;
  add(1, 2, 40, 40, 2).variable_B = false;
  add(1, 2, 9, 200, 1);
  add(2, 3, 0, 4, 1);
  add(0, 2, 5, 4, 1);
  add(1, 4, 33, 8, 4).reverse = true;
  {
    auto& c = add(1, 2, 150, 16, 1);
    c.reverse = true;
    c.variable_B = false;
    c.h0 = false;
  }
  add(1, 2, 140, 16, 2).offsets = {0, 0, 1, 70, 70, 140};
  {
    auto& c = add(1, 3, 77, 5, 1);
    c.offsets = {0, 30, 31, 77};
    c.reverse = true;
  }
  {
    auto& c = add(1, 2, 66, 16, 1);
    c.offsets = {0, 66};
    c.h0 = false;
  }
  {  // one position (the decoding path), no initial state, padded state vectors
    auto& c = add(3, 5, 1, 20, 1);
    c.h0 = c.D = c.z = false;
    c.variable_B = false;
  }
  // Long rows, fewer than the threads: backends may split a row across threads.
  add(1, 2, 700, 4, 1);
  add(1, 1, 600, 16, 1).offsets = {0, 100, 100, 300, 600, 600};
  return list.cases;
}

// How close two computations of the same scan in a different grouping (token by token against one
// pass, packed against separate calls) must be. A backend whose kernels do the same arithmetic in
// both (the CPU's) specializes this to exact equality.
template <class Harness>
struct same_scan_tolerance {
  static tolerance of() { return tolerance{1e-5, 1e-5}; }
};

template <class T>
tolerance forward_tolerance() {
  return std::is_same_v<T, double> ? tolerance{1e-10, 1e-9} : tolerance{2e-4, 2e-4};
}
// mamba_ssm's tolerances for fp32 gradients against its reference.
template <class T>
tolerance gradient_tolerance() {
  return std::is_same_v<T, double> ? tolerance{1e-9, 1e-9} : tolerance{2e-3, 6e-4};
}

// "harness: case, layout[, dlast_state], type" for failure messages, as one string (doctest 2.4.9's
// INFO prints a const char* value as its address).
template <class T>
std::string selective_scan_run_label(const char* harness, const selective_scan_case& c, sequence_layout layout,
                                     bool with_dlast_state) {
  std::ostringstream label;
  label << harness << ": " << c << ", " << layout_name(layout) << (with_dlast_state ? ", dlast_state" : "")
        << (std::is_same_v<T, float> ? ", float" : ", double");
  return label.str();
}

template <class Harness, class T>
void check_selective_scan_case(const selective_scan_case& c, sequence_layout layout, bool with_dlast_state) {
  INFO(selective_scan_run_label<T>(Harness::name, c, layout, with_dlast_state));
  const auto backend = Harness::backend();
  const auto in = random_selective_scan_inputs(c);
  const auto dout = random_uniform<double>(in.u.size(), -1.0, 1.0);
  const std::size_t state_values = std::size_t(c.states() * c.dim * c.state);
  const auto dlast = with_dlast_state ? random_uniform<double>(state_values, -1.0, 1.0) : std::vector<double>{};
  const auto expected = expected_selective_scan(c, in, dout, dlast);

  selective_scan_device_case<Harness, T> device(c, in, layout);
  const auto args = device.arguments();
  auto out = Harness::template allocate<T>(in.u.size());
  auto last_state = Harness::template allocate<T>(state_values);
  selective_scan_forward(backend, args, device.template sequence_view<T>(out.data()),
                         device.template state_view<T>(last_state.data()));
  check_all_close(from_sequence_storage(widened(Harness::download(out)), c, layout), expected.forward.out,
                  forward_tolerance<T>());
  check_all_close(widened(Harness::download(last_state)), expected.forward.last_state, forward_tolerance<T>());

  auto dout_device = Harness::upload(narrowed<T>(to_sequence_storage(dout, c, layout)));
  auto dlast_device = Harness::upload(narrowed<T>(dlast));
  selective_scan_device_gradients<Harness, T> grads(in, c.states());
  const strided_view<const T, 3> dlast_view =
      with_dlast_state ? device.template state_view<const T>(dlast_device.data()) : strided_view<const T, 3>{};
  selective_scan_backward(backend, args, device.template sequence_view<const T>(dout_device.data()), grads.views(device),
                          dlast_view);
  const auto& e = expected.gradients;
  const auto tol = gradient_tolerance<T>();
  const auto sequence = [&](auto& buffer) { return from_sequence_storage(widened(Harness::download(buffer)), c, layout); };
  const auto input = [&](auto& buffer, bool variable) {
    return from_input_storage(widened(Harness::download(buffer)), c, variable, layout);
  };
  INFO("du");
  check_all_close(sequence(grads.du), e.du, tol);
  INFO("ddelta");
  check_all_close(sequence(grads.ddelta), e.ddelta, tol);
  INFO("dA");
  check_all_close(widened(Harness::download(grads.dA)), e.dA, tol);
  INFO("dB");
  check_all_close(input(grads.dB, c.variable_B), e.dB, tol);
  INFO("dC");
  check_all_close(input(grads.dC, c.variable_C), e.dC, tol);
  INFO("dD, dz, ddelta_bias, dh0");
  if (c.D) check_all_close(widened(Harness::download(grads.dD)), e.dD, tol);
  if (c.z) check_all_close(sequence(grads.dz), e.dz, tol);
  if (c.delta_bias) check_all_close(widened(Harness::download(grads.ddelta_bias)), e.ddelta_bias, tol);
  check_all_close(widened(Harness::download(grads.dh0)), e.dh0, tol);
}

// The two-layout form the CUDA tests call: time-major or row-major.
template <class Harness, class T>
void check_selective_scan_case(const selective_scan_case& c, bool time_major, bool with_dlast_state) {
  check_selective_scan_case<Harness, T>(c, time_major ? sequence_layout::time_major : sequence_layout::row_major,
                                        with_dlast_state);
}

TEST_CASE_TEMPLATE_DEFINE("selective scan forward and backward match the double-precision oracle", Harness,
                          selective_scan_matches_oracle) {
  const auto cases = selective_scan_cases();
  const auto layout_of = [](bool time_major) { return time_major ? sequence_layout::time_major : sequence_layout::row_major; };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    check_selective_scan_case<Harness, double>(cases[i], layout_of(i % 2 == 1), i % 3 != 0);
    check_selective_scan_case<Harness, float>(cases[i], layout_of(i % 2 == 0), i % 3 == 0);
  }
}

// Channel-major cases (the mixers' layout, where a backend may walk the batch rows innermost):
// batch past 16 and not a multiple of it (backends may take the batch rows in groups of 16), one
// position (the decoding path), odd L, L past one 64-position block, both directions.
inline std::vector<selective_scan_case> selective_scan_channel_major_cases() {
  selective_scan_case_list list;
  list.add(20, 3, 1, 5, 1);
  list.add(17, 2, 33, 16, 1).reverse = true;
  list.add(33, 2, 130, 8, 1);
  {
    auto& c = list.add(35, 2, 67, 4, 2);
    c.reverse = true;
    c.variable_C = false;
  }
  {
    auto& c = list.add(5, 4, 65, 16, 1);
    c.h0 = c.D = false;
  }
  return list.cases;
}

TEST_CASE_TEMPLATE_DEFINE("selective scan on channel-major activations (dim, batch, L) matches the double-precision oracle",
                          Harness, selective_scan_channel_major) {
  const auto cases = selective_scan_channel_major_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    check_selective_scan_case<Harness, double>(cases[i], sequence_layout::channel_major, i % 2 == 0);
    check_selective_scan_case<Harness, float>(cases[i], sequence_layout::channel_major, i % 2 == 1);
  }
}

}  // namespace rescan::testing

namespace rescan::testing {

// Runs the backward pass of one case into fresh gradient buffers and returns them on the host.
template <class Harness, class T>
struct selective_scan_run {
  selective_scan_case shape;
  selective_scan_inputs in;
  selective_scan_device_case<Harness, T> device;
  decltype(Harness::upload(std::vector<T>{})) dout;

  explicit selective_scan_run(const selective_scan_case& c, sequence_layout layout = sequence_layout::row_major)
      : shape(c), in(random_selective_scan_inputs(c)), device(c, in, layout),
        dout(Harness::upload(random_uniform<T>(in.u.size(), -1.0, 1.0))) {}

  std::vector<T> forward(const strided_view<T, 4>& checkpoints = {}) {
    auto out = Harness::template allocate<T>(in.u.size());
    selective_scan_forward(Harness::backend(), device.arguments(), device.template sequence_view<T>(out.data()),
                           strided_view<T, 3>{}, checkpoints);
    return Harness::download(out);
  }
  std::vector<std::vector<T>> backward(const strided_view<const T, 4>& checkpoints = {}) {
    selective_scan_device_gradients<Harness, T> grads(in, shape.states());
    selective_scan_backward(Harness::backend(), device.arguments(), device.template sequence_view<const T>(dout.data()),
                            grads.views(device), strided_view<const T, 3>{}, checkpoints);
    return {Harness::download(grads.du), Harness::download(grads.ddelta), Harness::download(grads.dA),
            Harness::download(grads.dB), Harness::download(grads.dC), Harness::download(grads.dD),
            Harness::download(grads.dz), Harness::download(grads.ddelta_bias), Harness::download(grads.dh0)};
  }
};

TEST_CASE_TEMPLATE_DEFINE("selective scan checkpoints saved by the forward pass give the gradients of a backward pass without them",
                          Harness, selective_scan_checkpoints) {
  const auto backend = Harness::backend();
  for (auto [length, N] : {std::pair<index_t, index_t>{1, 16}, {200, 5}, {1500, 16}, {300, 64}}) {
    selective_scan_case c;
    c.batch = 2, c.dim = 3, c.length = length, c.state = N;
    INFO(Harness::name << ": " << c);
    selective_scan_run<Harness, float> run(c);
    const index_t count = selective_scan_checkpoint_count(backend, length);
    auto checkpoints = Harness::template allocate<float>(std::size_t(c.batch * c.dim * count * c.state));
    const auto view = make_view(checkpoints.data(), {c.batch, c.dim, count, c.state});
    const auto out_with = run.forward(view);
    CHECK(out_with == run.forward());
    CHECK(run.backward(view) == run.backward());
  }
}

TEST_CASE_TEMPLATE_DEFINE("selective_state_update token by token equals the forward pass", Harness,
                          selective_scan_step) {
  const auto backend = Harness::backend();
  // N = 4 and 16: one vector a channel on some backends (4-lane or 16-lane float), the step's fast path.
  for (auto [variable, N] : {std::pair{true, index_t(16)}, {false, index_t(16)}, {true, index_t(5)}, {true, index_t(64)},
                             {true, index_t(4)}}) {
    selective_scan_case c;
    c.batch = 3, c.dim = 4, c.length = 70, c.state = N, c.groups = 2;
    c.variable_B = c.variable_C = variable;
    INFO(Harness::name << ": " << c);
    selective_scan_run<Harness, float> run(c);
    auto last_state = Harness::template allocate<float>(std::size_t(c.batch * c.dim * c.state));
    auto out = Harness::template allocate<float>(run.in.u.size());
    selective_scan_forward(backend, run.device.arguments(), make_view(out.data(), {c.batch, c.dim, c.length}),
                           make_view(last_state.data(), {c.batch, c.dim, c.state}));

    auto state = Harness::upload(narrowed<float>(run.in.h0));
    auto token_out = Harness::template allocate<float>(std::size_t(c.batch * c.dim));
    const auto args = run.device.arguments();
    std::vector<float> stepped(run.in.u.size());
    for (index_t t = 0; t < c.length; ++t) {
      const auto at_t = [t](const strided_view<const float, 3>& x) {
        return strided_view<const float, 2>(x.data() + t * x.stride(2), {x.extent(0), x.extent(1)},
                                            {x.stride(0), x.stride(1)});
      };
      selective_state_update_arguments<float> step;
      step.state = make_view(state.data(), {c.batch, c.dim, c.state});
      step.u = at_t(args.u);
      step.delta = at_t(args.delta);
      step.z = at_t(args.z);
      step.A = args.A;
      for (auto [from, to] : {std::pair{&args.B, &step.B}, std::pair{&args.C, &step.C}}) {
        if (!from->is_variable()) {
          *to = from->constant();
          continue;
        }
        const auto& v = from->variable();
        *to = strided_view<const float, 3>(v.data() + t * v.stride(3), {v.extent(0), v.extent(1), v.extent(2)},
                                           {v.stride(0), v.stride(1), v.stride(2)});
      }
      step.D = args.D;
      step.delta_bias = args.delta_bias;
      step.delta_softplus = args.delta_softplus;
      selective_state_update(backend, step, make_view(token_out.data(), {c.batch, c.dim}));
      const auto token = Harness::download(token_out);
      for (index_t r = 0; r < c.batch * c.dim; ++r) stepped[std::size_t(r * c.length + t)] = token[std::size_t(r)];
    }
    check_all_close(stepped, Harness::download(out), same_scan_tolerance<Harness>::of());
    check_all_close(Harness::download(state), Harness::download(last_state), same_scan_tolerance<Harness>::of());
  }
}

TEST_CASE_TEMPLATE_DEFINE("bidirectional selective scan equals a forward and a reverse call, averaged", Harness,
                          selective_scan_bidirectional) {
  const auto backend = Harness::backend();
  selective_scan_case c;
  c.batch = 2, c.dim = 3, c.length = 75, c.state = 8;
  INFO(Harness::name << ": " << c);
  selective_scan_run<Harness, double> forward_branch(c), backward_branch(c);
  const auto forward_args = forward_branch.device.arguments();
  const auto backward_args = backward_branch.device.arguments();
  const auto sequence = [&](auto* data) { return make_view(data, {c.batch, c.dim, c.length}); };

  auto out = Harness::template allocate<double>(forward_branch.in.u.size());
  bidirectional_selective_scan_forward(backend, forward_args, backward_args, sequence(out.data()));
  auto reversed_args = backward_args;
  reversed_args.direction = scan_direction::reverse;
  auto out_forward = Harness::template allocate<double>(forward_branch.in.u.size());
  auto out_backward = Harness::template allocate<double>(forward_branch.in.u.size());
  selective_scan_forward(backend, forward_args, sequence(out_forward.data()));
  selective_scan_forward(backend, reversed_args, sequence(out_backward.data()));
  const auto f = Harness::download(out_forward), b = Harness::download(out_backward);
  std::vector<double> mean(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) mean[i] = (f[i] + b[i]) / 2;
  check_all_close(Harness::download(out), mean, tolerance{1e-12, 1e-12});

  // Backward: each branch receives dout / 2.
  const auto& dout = forward_branch.dout;
  selective_scan_device_gradients<Harness, double> both_f(forward_branch.in, c.batch), both_b(backward_branch.in, c.batch);
  bidirectional_selective_scan_backward(backend, forward_args, backward_args, sequence(dout.data()),
                                        both_f.views(forward_branch.device), both_b.views(backward_branch.device));
  auto half = Harness::download(dout);
  for (auto& x : half) x /= 2;
  auto half_dout = Harness::upload(half);
  selective_scan_device_gradients<Harness, double> one_f(forward_branch.in, c.batch), one_b(backward_branch.in, c.batch);
  selective_scan_backward(backend, forward_args, sequence(half_dout.data()), one_f.views(forward_branch.device));
  selective_scan_backward(backend, reversed_args, sequence(half_dout.data()), one_b.views(backward_branch.device));
  const tolerance tight{1e-12, 1e-12};
  for (auto* pair : {&both_f, &both_b}) {
    auto& one = pair == &both_f ? one_f : one_b;
    check_all_close(Harness::download(pair->du), Harness::download(one.du), tight);
    check_all_close(Harness::download(pair->ddelta), Harness::download(one.ddelta), tight);
    check_all_close(Harness::download(pair->dA), Harness::download(one.dA), tight);
    check_all_close(Harness::download(pair->dB), Harness::download(one.dB), tight);
    check_all_close(Harness::download(pair->dC), Harness::download(one.dC), tight);
    check_all_close(Harness::download(pair->dD), Harness::download(one.dD), tight);
    check_all_close(Harness::download(pair->ddelta_bias), Harness::download(one.ddelta_bias), tight);
    check_all_close(Harness::download(pair->dz), Harness::download(one.dz), tight);
    check_all_close(Harness::download(pair->dh0), Harness::download(one.dh0), tight);
  }
}

TEST_CASE_TEMPLATE_DEFINE("packed sequences equal separate calls per sequence", Harness, selective_scan_packed) {
  const auto backend = Harness::backend();
  selective_scan_case c;
  c.batch = 1, c.dim = 3, c.length = 150, c.state = 16;
  c.offsets = {0, 1, 1, 90, 150};
  INFO(Harness::name << ": " << c);
  selective_scan_run<Harness, float> run(c);
  auto out = Harness::template allocate<float>(run.in.u.size());
  auto last = Harness::template allocate<float>(std::size_t(c.states() * c.dim * c.state));
  selective_scan_forward(backend, run.device.arguments(), make_view(out.data(), {c.batch, c.dim, c.length}),
                         make_view(last.data(), {c.states(), c.dim, c.state}));
  const auto packed_out = Harness::download(out);
  const auto packed_last = Harness::download(last);
  for (index_t k = 0; k < c.states(); ++k) {
    const index_t begin = c.offsets[std::size_t(k)], n = c.offsets[std::size_t(k + 1)] - begin;
    auto args = run.device.arguments();
    args.sequence_offsets = {};
    args.u = args.u.slice(2, begin, n);
    args.delta = args.delta.slice(2, begin, n);
    args.z = args.z.slice(2, begin, n);
    args.B = args.B.variable().slice(3, begin, n);
    args.C = args.C.variable().slice(3, begin, n);
    args.h0 = args.h0.slice(0, k, 1);
    auto one_out = Harness::template allocate<float>(std::size_t(c.dim * n));
    auto one_last = Harness::template allocate<float>(std::size_t(c.dim * c.state));
    selective_scan_forward(backend, args, make_view(one_out.data(), {index_t(1), c.dim, n}),
                           make_view(one_last.data(), {index_t(1), c.dim, c.state}));
    std::vector<float> packed_part;
    for (index_t d = 0; d < c.dim; ++d) {
      const auto row = packed_out.begin() + std::ptrdiff_t(d * c.length + begin);
      packed_part.insert(packed_part.end(), row, row + std::ptrdiff_t(n));
    }
    const auto last_part = packed_last.begin() + std::ptrdiff_t(k * c.dim * c.state);
    check_all_close(packed_part, Harness::download(one_out), same_scan_tolerance<Harness>::of());
    check_all_close(std::vector<float>(last_part, last_part + std::ptrdiff_t(c.dim * c.state)),
                    Harness::download(one_last), same_scan_tolerance<Harness>::of());
  }
}

}  // namespace rescan::testing
