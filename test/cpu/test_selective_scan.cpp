// The selective-scan bodies on the CPU backend, plus what only the CPU backend promises: the same
// bits for any thread count.
#include "bodies/selective_scan_bodies.hpp"
#include "support/cpu_harness.hpp"

#include <algorithm>
#include <limits>

namespace rescan::testing {

// The CPU runs one arithmetic for every grouping of the same scan: the same bits.
template <int Threads>
struct same_scan_tolerance<cpu_harness<Threads>> {
  static tolerance of() { return tolerance{0, 0}; }
};

TEST_CASE_TEMPLATE_INVOKE(selective_scan_matches_oracle, cpu_all_threads, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_channel_major, cpu_all_threads, cpu_three_threads);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_checkpoints, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_step, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_bidirectional, cpu_all_threads);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_packed, cpu_all_threads);

}  // namespace rescan::testing

namespace rescan::testing {

TEST_CASE("selective scan results are the same bits for 1, 2 and 3 threads") {
  selective_scan_case c;
  c.batch = 2, c.dim = 96, c.length = 130, c.state = 16, c.groups = 2;
  sequence_layout layout = sequence_layout::row_major;
  SUBCASE("many rows") {}
  SUBCASE("fewer rows than threads, long") { c.batch = 1, c.dim = 2, c.length = 1000, c.groups = 1; }
  SUBCASE("channel-major, batch rows innermost, reverse") {
    c.batch = 21, c.dim = 6, c.length = 130, c.state = 8, c.groups = 1, c.reverse = true;
    layout = sequence_layout::channel_major;
  }
  std::vector<std::vector<std::vector<float>>> results;
  std::vector<std::vector<float>> outputs;
  for (int threads : {1, 2, 3}) {
    random_engine().seed(7);
    selective_scan_run<cpu_harness<1>, float> run(c, layout);
    const cpu_t backend(threads);
    std::vector<float> out(run.in.u.size());
    selective_scan_forward(backend, run.device.arguments(), run.device.sequence_view(out.data()));
    outputs.push_back(out);
    selective_scan_device_gradients<cpu_harness<1>, float> grads(run.in, c.batch);
    selective_scan_backward(backend, run.device.arguments(), run.device.sequence_view<const float>(run.dout.data()),
                            grads.views(run.device));
    results.push_back({grads.du.elements, grads.ddelta.elements, grads.dA.elements, grads.dB.elements,
                       grads.dC.elements, grads.dD.elements, grads.dz.elements, grads.ddelta_bias.elements,
                       grads.dh0.elements});
  }
  CHECK(outputs[0] == outputs[1]);
  CHECK(outputs[0] == outputs[2]);
  CHECK(results[0] == results[1]);
  CHECK(results[0] == results[2]);
}

TEST_CASE("selective scan rejects bad input with the argument named") {
  const cpu_t backend;
  selective_scan_case c;
  c.batch = 2, c.dim = 4, c.length = 6, c.state = 3, c.groups = 2;
  selective_scan_run<cpu_harness<1>, float> run(c);
  const auto good = run.device.arguments();
  std::vector<float> out(run.in.u.size()), state(std::size_t(c.batch * c.dim * c.state));
  const auto out_view = make_view(out.data(), {c.batch, c.dim, c.length});
  const auto forward = [&](const selective_scan_arguments<float>& args) { selective_scan_forward(backend, args, out_view); };
  std::vector<float> big(4096, 1.0f);

  auto args = good;
  args.delta = make_view<const float>(big.data(), {c.batch, c.dim, c.length + 1});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), shape_error, "delta.extent(2) = 7 but u.extent(2) = 6");
  args = good;
  args.B = make_view<const float>(big.data(), {c.batch, index_t(3), c.state, c.length});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), value_error, "B.extent(1) = 3 groups but must divide dim");
  args = good;
  args.C = make_view<const float>(big.data(), {c.dim, c.state + 1});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), shape_error, "C.extent(1) = 4 but A.extent(1) = 3");
  args = good;
  args.A = make_view<const float>(big.data(), {c.dim, index_t(257)});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), value_error, "N = A.extent(1) = 257 but must be in [1, 256]");
  std::vector<float> A(run.in.A.begin(), run.in.A.end());
  A[5] = std::numeric_limits<float>::quiet_NaN();
  args = good;
  args.A = make_view<const float>(A.data(), {c.dim, c.state});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), value_error, "A(1, 2) = nan but must be finite");
  A[5] = std::numeric_limits<float>::infinity();
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), value_error, "A(1, 2) = inf but must be finite");
  args = good;
  args.B = {};
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), value_error, "B is required");
  args = good;
  args.D = make_view<const float>(big.data(), c.dim - 1);
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), shape_error, "D.extent(0) = 3 but u.extent(1) = 4");
  args = good;
  args.h0 = make_view<const float>(big.data(), {c.batch + 1, c.dim, c.state});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), shape_error, "h0.extent(0) = 3 but the number of states");

  // Packed sequences: batch 1, offsets from 0 to L, sorted.
  const std::vector<index_t> offsets = {0, 4, 6};
  args = good;
  args.h0 = {};
  args.sequence_offsets = make_view(offsets.data(), 3);
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(forward(args), shape_error, "packed sequences (sequence_offsets) need batch 1");
  selective_scan_case one = c;
  one.batch = 1;
  selective_scan_run<cpu_harness<1>, float> single(one);
  auto packed = single.device.arguments();
  packed.h0 = {};
  std::vector<float> one_out(single.in.u.size());
  const auto packed_forward = [&](const std::vector<index_t>& o) {
    packed.sequence_offsets = make_view(o.data(), index_t(o.size()));
    selective_scan_forward(backend, packed, make_view(one_out.data(), {index_t(1), c.dim, c.length}));
  };
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(packed_forward({0, 4, 3, 6}), value_error, "sequence_offsets[2] = 3 but offsets must be sorted");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(packed_forward({0, 4, 5}), value_error, "end at L = 6");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(packed_forward({1, 6}), value_error, "start at 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(packed_forward({0}), shape_error, "must be at least 2");

  // Outputs and gradients.
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(selective_scan_forward(backend, good, make_view(out.data(), {c.batch, c.dim, c.length - 1})),
                                    shape_error, "out.extent(2) = 5 but u.extent(2) = 6");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      selective_scan_forward(backend, good, out_view, make_view(state.data(), {c.batch, c.dim, c.state - 1})), shape_error,
      "last_state.extent(2) = 2 but N = 3");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      selective_scan_forward(backend, good, out_view, strided_view<float, 3>{}, make_view(big.data(), {c.batch, c.dim, index_t(2), c.state})),
      shape_error, "checkpoints.extent(2) = 2 but selective_scan_checkpoint_count(backend, L) = 1");
  selective_scan_device_gradients<cpu_harness<1>, float> grads(run.in, c.batch);
  auto g = grads.views(run.device);
  g.dB = make_view(big.data(), {c.dim, c.state});
  const auto dout = make_view<const float>(run.dout.data(), {c.batch, c.dim, c.length});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(selective_scan_backward(backend, good, dout, g), value_error,
                                    "gradients.dB is constant but B is variable");
  g = grads.views(run.device);
  args = good;
  args.D = {};
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(selective_scan_backward(backend, args, dout, g), value_error,
                                    "gradients.dD is given but D is not");
  g.dD = {};
  g.du = make_view(big.data(), {c.batch, c.dim, c.length + 1});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(selective_scan_backward(backend, args, dout, g), shape_error,
                                    "du.extent(2) = 7 but u.extent(2) = 6");
  // Nothing was written by the calls that threw.
  CHECK(std::all_of(out.begin(), out.end(), [](float x) { return x == 0.0f; }));
}

TEST_CASE("selective_state_update needs a state of the right shape") {
  const cpu_t backend;
  std::vector<float> x(64, 0.5f), A(16, -1.0f), out(4);
  selective_state_update_arguments<float> step;
  step.u = make_view<const float>(x.data(), {index_t(2), index_t(2)});
  step.delta = step.u;
  step.A = make_view<const float>(A.data(), {index_t(2), index_t(8)});
  step.B = make_view<const float>(x.data(), {index_t(2), index_t(8)});
  step.C = step.B;
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(selective_state_update(backend, step, make_view(out.data(), {index_t(2), index_t(2)})),
                                    value_error, "state is required");
  step.state = make_view(x.data(), {index_t(2), index_t(2), index_t(7)});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(selective_state_update(backend, step, make_view(out.data(), {index_t(2), index_t(2)})),
                                    shape_error, "state.extent(2) = 7 but N = 8");
}

}  // namespace rescan::testing

namespace rescan::testing {

TEST_CASE("selective scan gradients accumulate when asked") {
  selective_scan_case c;
  c.batch = 2, c.dim = 4, c.length = 150, c.state = 16, c.groups = 2;
  selective_scan_run<cpu_harness<0>, float> run(c);
  const auto fresh = run.backward();
  selective_scan_device_gradients<cpu_harness<0>, float> grads(run.in, c.states());
  std::vector<host_buffer<float>*> buffers = {&grads.du, &grads.ddelta, &grads.dA, &grads.dB, &grads.dC,
                                              &grads.dD, &grads.dz, &grads.ddelta_bias, &grads.dh0};
  for (auto* buffer : buffers) std::fill(buffer->elements.begin(), buffer->elements.end(), 1.0f);
  auto views = grads.views(run.device);
  views.accumulate = true;
  selective_scan_backward(cpu_t(), run.device.arguments(), make_view<const float>(run.dout.data(), {c.batch, c.dim, c.length}),
                          views);
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    std::vector<float> expected = fresh[i];
    for (auto& x : expected) x += 1.0f;
    check_all_close(buffers[i]->elements, expected, tolerance{1e-6, 1e-6});
  }
}

TEST_CASE("selective scan with B and C in different numbers of groups matches the oracle") {
  // B in 2 groups and C in 4 (its pairs of groups repeat a C in 2 groups): the oracle takes one
  // group count, so it runs with C in 2 groups, and dC in 4 groups must sum pairwise to its dC.
  selective_scan_case c;
  c.batch = 2, c.dim = 8, c.length = 90, c.state = 4, c.groups = 2;
  const auto in = random_selective_scan_inputs(c);
  const auto dout = random_uniform<double>(in.u.size(), -1.0, 1.0);
  const auto expected = expected_selective_scan(c, in, dout, {});
  const index_t B = c.batch, N = c.state, L = c.length;
  std::vector<double> C4(std::size_t(B * 4 * N * L)), dC4(C4.size());
  for (index_t b = 0; b < B; ++b)
    for (index_t g = 0; g < 4; ++g)
      for (index_t n = 0; n < N; ++n)
        for (index_t t = 0; t < L; ++t)
          C4[std::size_t(((b * 4 + g) * N + n) * L + t)] = in.C[std::size_t(((b * 2 + g / 2) * N + n) * L + t)];
  selective_scan_device_case<cpu_harness<0>, double> device(c, in, false);
  auto args = device.arguments();
  args.C = make_view<const double>(C4.data(), {B, index_t(4), N, L});
  std::vector<double> out(in.u.size());
  selective_scan_forward(cpu_t(), args, make_view(out.data(), {B, c.dim, L}));
  check_all_close(out, expected.forward.out, tolerance{1e-10, 1e-9});
  selective_scan_device_gradients<cpu_harness<0>, double> grads(in, c.states());
  auto views = grads.views(device);
  views.dC = make_view(dC4.data(), {B, index_t(4), N, L});
  selective_scan_backward(cpu_t(), args, make_view<const double>(dout.data(), {B, c.dim, L}), views);
  check_all_close(grads.dB.elements, expected.gradients.dB, tolerance{1e-9, 1e-9});
  check_all_close(grads.dA.elements, expected.gradients.dA, tolerance{1e-9, 1e-9});
  std::vector<double> paired(expected.gradients.dC.size());
  for (index_t b = 0; b < B; ++b)
    for (index_t g = 0; g < 2; ++g)
      for (index_t n = 0; n < N; ++n)
        for (index_t t = 0; t < L; ++t) {
          const auto at4 = [&](index_t g4) { return dC4[std::size_t(((b * 4 + g4) * N + n) * L + t)]; };
          paired[std::size_t(((b * 2 + g) * N + n) * L + t)] = at4(2 * g) + at4(2 * g + 1);
        }
  check_all_close(paired, expected.gradients.dC, tolerance{1e-9, 1e-9});
}

}  // namespace rescan::testing

namespace rescan::testing {

// The library's own backward pass in double precision against central differences of its own
// forward pass, for every input, on cases with packed sequences, reverse direction and groups.
TEST_CASE("selective scan gradients match finite differences of the forward pass (double)") {
  for (bool reverse : {false, true}) {
    selective_scan_case c;
    c.batch = 1, c.dim = 4, c.length = 9, c.state = 3, c.groups = 2, c.reverse = reverse;
    c.offsets = {0, 4, 4, 9};
    CAPTURE(reverse);
    const auto in = random_selective_scan_inputs(c);
    const auto w = random_uniform<double>(in.u.size(), -1.0, 1.0);
    const auto v = random_uniform<double>(std::size_t(c.states() * c.dim * c.state), -1.0, 1.0);
    const auto loss = [&](const selective_scan_inputs& x) {
      selective_scan_device_case<cpu_harness<1>, double> device(c, x, false);
      std::vector<double> out(x.u.size()), last(v.size());
      selective_scan_forward(cpu_t(1), device.arguments(), make_view(out.data(), {c.batch, c.dim, c.length}),
                             make_view(last.data(), {c.states(), c.dim, c.state}));
      double total = 0;
      for (std::size_t i = 0; i < w.size(); ++i) total += w[i] * out[i];
      for (std::size_t i = 0; i < v.size(); ++i) total += v[i] * last[i];
      return total;
    };
    selective_scan_device_case<cpu_harness<1>, double> device(c, in, false);
    selective_scan_device_gradients<cpu_harness<1>, double> grads(in, c.states());
    selective_scan_backward(cpu_t(1), device.arguments(), make_view(w.data(), {c.batch, c.dim, c.length}),
                            grads.views(device), make_view(v.data(), {c.states(), c.dim, c.state}));
    using S = selective_scan_inputs;
    const std::pair<std::vector<double> S::*, host_buffer<double>*> fields[] = {
        {&S::u, &grads.du}, {&S::delta, &grads.ddelta}, {&S::A, &grads.dA}, {&S::B, &grads.dB},
        {&S::C, &grads.dC}, {&S::D, &grads.dD}, {&S::z, &grads.dz}, {&S::delta_bias, &grads.ddelta_bias},
        {&S::h0, &grads.dh0}};
    for (const auto& [field, gradient] : fields) {
      auto x = in;
      REQUIRE(gradient->size() == (x.*field).size());
      for (std::size_t i = 0; i < gradient->size(); ++i) {
        const double saved = (x.*field)[i], eps = 1e-6;
        (x.*field)[i] = saved + eps;
        const double up = loss(x);
        (x.*field)[i] = saved - eps;
        const double down = loss(x);
        (x.*field)[i] = saved;
        const double numeric = (up - down) / (2 * eps), analytic = gradient->elements[i];
        INFO("element " << i << ": analytic " << analytic << ", numeric " << numeric);
        CHECK(std::fabs(analytic - numeric) <= 1e-6 + 1e-5 * std::fabs(numeric));
      }
    }
  }
}

}  // namespace rescan::testing

namespace rescan::testing {

TEST_CASE("bidirectional selective scan checks both branches before writing anything") {
  selective_scan_case c;
  c.batch = 1, c.dim = 2, c.length = 20, c.state = 4;
  selective_scan_run<cpu_harness<0>, float> forward_branch(c), backward_branch(c);
  std::vector<float> bad_A(backward_branch.in.A.begin(), backward_branch.in.A.end());
  bad_A[3] = std::numeric_limits<float>::quiet_NaN();
  auto backward_args = backward_branch.device.arguments();
  backward_args.A = make_view<const float>(bad_A.data(), {c.dim, c.state});
  std::vector<float> out(forward_branch.in.u.size(), 0.0f);
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      bidirectional_selective_scan_forward(cpu_t(), forward_branch.device.arguments(), backward_args,
                                           make_view(out.data(), {c.batch, c.dim, c.length})),
      value_error, "A(0, 3) = nan but must be finite");
  CHECK(std::all_of(out.begin(), out.end(), [](float x) { return x == 0.0f; }));
  selective_scan_device_gradients<cpu_harness<0>, float> g_forward(forward_branch.in, 1), g_backward(backward_branch.in, 1);
  for (auto& x : g_forward.du.elements) x = 0.0f;
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      bidirectional_selective_scan_backward(cpu_t(), forward_branch.device.arguments(), backward_args,
                                            make_view<const float>(forward_branch.dout.data(), {c.batch, c.dim, c.length}),
                                            g_forward.views(forward_branch.device), g_backward.views(backward_branch.device)),
      value_error, "must be finite");
  CHECK(std::all_of(g_forward.du.elements.begin(), g_forward.du.elements.end(), [](float x) { return x == 0.0f; }));
}

TEST_CASE("selective scan carries a state in place (h0 and last_state the same memory) on a row split across threads") {
  selective_scan_case c;
  c.batch = 1, c.dim = 1, c.length = 700, c.state = 16;
  c.offsets = {0, 389, 700};
  selective_scan_run<cpu_harness<1>, float> run(c);
  const auto args = run.device.arguments();
  std::vector<float> out_separate(run.in.u.size()), last_separate(run.in.h0.size());
  const auto shape = [&](std::vector<float>& v) { return make_view(v.data(), {c.batch, c.dim, c.length}); };
  const auto states = [&](std::vector<float>& v) { return make_view(v.data(), {c.states(), c.dim, c.state}); };
  selective_scan_forward(cpu_t(3), args, shape(out_separate), states(last_separate));
  std::vector<float> carried(run.in.h0.begin(), run.in.h0.end()), out_in_place(run.in.u.size());
  auto in_place = args;
  in_place.h0 = states(carried);
  selective_scan_forward(cpu_t(3), in_place, shape(out_in_place), states(carried));
  CHECK(out_in_place == out_separate);
  CHECK(carried == last_separate);
}

}  // namespace rescan::testing
