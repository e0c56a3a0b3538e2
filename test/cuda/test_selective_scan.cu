// The selective-scan bodies on the CUDA backend, plus what the shared bodies do not reach with their
// shapes: sequences over several tiles of the CUDA kernels (tile = checkpoint interval = 512
// positions), packed sequences and reverse scans crossing tiles, N = 256, several channels per run
// of the deterministic dB / dC sums, accumulated gradients, bit-identical reruns, validation errors
// and a non-default stream.
//
// The harness-generic part (above the __CUDACC__ block) compiles as plain C++ too, so the block
// code can be exercised on a host emulation of the CUDA execution model.
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "bodies/selective_scan_bodies.hpp"
#if defined(__CUDACC__)
#include "support/cuda_harness.cuh"
// Also through <rescan/rescan.cuh>; named here so this file does not depend on the umbrella.
#include <rescan/cuda/selective_scan.cuh>
#endif

namespace rescan::testing {

// Shapes past one tile (512 positions) of the CUDA kernels, and blocks of rows that share B and C.
inline std::vector<selective_scan_case> selective_scan_tile_cases() {
  selective_scan_case_list list;
  const auto add = [&](index_t batch, index_t dim, index_t L, index_t N, index_t groups) -> selective_scan_case& {
    return list.add(batch, dim, L, N, groups);
  };
  add(2, 3, 1100, 16, 3);
  add(1, 2, 513, 1, 1);
  {
    auto& c = add(1, 2, 512, 16, 1);
    c.h0 = false;
    c.variable_B = false;
  }
  add(1, 4, 1537, 8, 2).reverse = true;
  add(1, 3, 1300, 5, 1).offsets = {0, 500, 512, 513, 513, 1300};
  {
    auto& c = add(1, 2, 1030, 4, 1);
    c.offsets = {0, 1, 511, 1025, 1030};
    c.reverse = true;
  }
  add(2, 2, 700, 4, 2).variable_B = false;
  {
    auto& c = add(1, 1, 1024, 64, 1);
    c.softplus = c.z = false;
  }
  add(1, 1, 600, 256, 1).D = false;
  // The forward pass stages B and C for blocks of 4 rows that read the same B rows: all 4 rows
  // staged, N not a multiple of the states staged at a time; blocks across batch items and groups
  // (channels per group 3); staged rows read backwards.
  add(2, 8, 1100, 20, 1);
  add(2, 6, 600, 16, 2);
  add(1, 8, 700, 16, 1).reverse = true;
  // The forward pass with the states across lanes (N <= 16, L <= 256) stages B and C for blocks of
  // 8 (N > 8), 16 (N > 4) or 32 rows: Vim's 197 positions (3 in 4 of B's rows not 16-byte
  // aligned), 8 states in 8 lanes, 3 states in 4 lanes.
  add(2, 8, 197, 16, 1);
  add(1, 16, 250, 8, 1);
  add(2, 32, 256, 3, 1);
  // N > 16 takes the warp kernel whose lanes hold positions, here with 8 items a lane (L <= 256).
  add(2, 5, 200, 24, 1);
  return list.cases;
}

TEST_CASE_TEMPLATE_DEFINE("selective scan over several tiles matches the double-precision oracle", Harness,
                          selective_scan_tiles) {
  const auto cases = selective_scan_tile_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    check_selective_scan_case<Harness, double>(cases[i], i % 2 == 0, i % 3 != 1);
    check_selective_scan_case<Harness, float>(cases[i], i % 2 == 1, i % 3 == 1);
  }
}

// The backward pass with a byte budget for the variable dB / dC partials (forward direction, no
// dlast_state): a small budget puts several channels in one run.
template <class Backend, class T>
void selective_scan_backward_with_budget(const Backend& backend, const selective_scan_arguments<T>& args,
                                         const strided_view<const T, 3>& dout,
                                         const rescan::selective_scan_gradients<T>& gradients, std::size_t budget) {
  detail::check_selective_scan_backward("selective_scan_backward", backend, args, dout, gradients, "dlast_state",
                                        strided_view<const T, 3>{}, strided_view<const T, 4>{});
  detail::selective_scan_kernels<Backend>::backward_with_budget(backend, detail::in_scan_order(args), dout,
                                                                strided_view<const T, 3>{}, strided_view<const T, 4>{},
                                                                gradients, budget);
}

TEST_CASE_TEMPLATE_DEFINE("selective scan dB / dC summed over runs of several channels equal one run per channel",
                          Harness, selective_scan_runs) {
  const auto backend = Harness::backend();
  for (bool constant_B : {false, true}) {
    selective_scan_case c;
    c.batch = 2, c.dim = 8, c.length = 600, c.state = 4, c.groups = 2;
    c.variable_B = !constant_B;
    INFO(Harness::name << ": " << c);
    selective_scan_run<Harness, double> run(c);
    const auto args = run.device.arguments();
    const auto dout = run.device.template sequence_view<const double>(run.dout.data());
    std::vector<std::vector<double>> results;
    // whole budget (a run per channel), runs of 3 + 1 channels, runs of a whole group (4 channels)
    for (std::size_t budget : {std::size_t(1) << 40, std::size_t(250000), std::size_t(1)}) {
      selective_scan_device_gradients<Harness, double> grads(run.in, c.states());
      selective_scan_backward_with_budget(backend, args, dout, grads.views(run.device), budget);
      for (auto* buffer : {&grads.du, &grads.ddelta, &grads.dA, &grads.dB, &grads.dC, &grads.dh0}) {
        results.push_back(Harness::download(*buffer));
      }
    }
    for (std::size_t i = 6; i < results.size(); ++i) check_all_close(results[i], results[i % 6], tolerance{1e-12, 1e-12});
  }
}

TEST_CASE_TEMPLATE_DEFINE("selective scan with B and C in different numbers of groups", Harness,
                          selective_scan_mixed_groups) {
  // B in 2 groups, C in 4 groups whose pairs repeat the 2 groups of a C in 2 groups: the same scan,
  // so outputs and every gradient but dC match, and dC in 4 groups sums pairwise to dC in 2 groups.
  // The backward runs then hold 2 channels (the gcd of 4 and 2 channels per group).
  const auto backend = Harness::backend();
  selective_scan_case c;
  c.batch = 2, c.dim = 8, c.length = 300, c.state = 4, c.groups = 2;
  INFO(Harness::name << ": " << c);
  selective_scan_run<Harness, double> run(c);
  const index_t B = c.batch, N = c.state, L = c.length;
  std::vector<double> C4(std::size_t(B * 4 * N * L));
  for (index_t b = 0; b < B; ++b)
    for (index_t g = 0; g < 4; ++g)
      for (index_t n = 0; n < N; ++n)
        for (index_t t = 0; t < L; ++t)
          C4[std::size_t(((b * 4 + g) * N + n) * L + t)] = run.in.C[std::size_t(((b * 2 + g / 2) * N + n) * L + t)];
  auto C4_device = Harness::upload(C4);
  const auto args2 = run.device.arguments();
  auto args4 = args2;
  args4.C = make_view<const double>(C4_device.data(), {B, index_t(4), N, L});

  auto out2 = Harness::template allocate<double>(run.in.u.size());
  auto out4 = Harness::template allocate<double>(run.in.u.size());
  selective_scan_forward(backend, args2, run.device.template sequence_view<double>(out2.data()));
  selective_scan_forward(backend, args4, run.device.template sequence_view<double>(out4.data()));
  check_all_close(Harness::download(out4), Harness::download(out2), tolerance{1e-12, 1e-12});

  const auto dout = run.device.template sequence_view<const double>(run.dout.data());
  selective_scan_device_gradients<Harness, double> g2(run.in, c.states());
  selective_scan_backward(backend, args2, dout, g2.views(run.device));
  const auto dC2 = Harness::download(g2.dC);
  for (std::size_t budget : {std::size_t(1) << 40, std::size_t(1)}) {
    selective_scan_device_gradients<Harness, double> g4(run.in, c.states());
    auto dC4 = Harness::template allocate<double>(C4.size());
    auto views = g4.views(run.device);
    views.dC = make_view(dC4.data(), {B, index_t(4), N, L});
    selective_scan_backward_with_budget(backend, args4, dout, views, budget);
    check_all_close(Harness::download(g4.du), Harness::download(g2.du), tolerance{1e-12, 1e-12});
    check_all_close(Harness::download(g4.ddelta), Harness::download(g2.ddelta), tolerance{1e-12, 1e-12});
    check_all_close(Harness::download(g4.dA), Harness::download(g2.dA), tolerance{1e-12, 1e-12});
    check_all_close(Harness::download(g4.dB), Harness::download(g2.dB), tolerance{1e-12, 1e-12});
    check_all_close(Harness::download(g4.dh0), Harness::download(g2.dh0), tolerance{1e-12, 1e-12});
    const auto got = Harness::download(dC4);
    std::vector<double> paired(dC2.size());
    for (index_t b = 0; b < B; ++b)
      for (index_t g = 0; g < 2; ++g)
        for (index_t n = 0; n < N; ++n)
          for (index_t t = 0; t < L; ++t) {
            const auto at4 = [&](index_t g4) { return got[std::size_t(((b * 4 + g4) * N + n) * L + t)]; };
            paired[std::size_t(((b * 2 + g) * N + n) * L + t)] = at4(2 * g) + at4(2 * g + 1);
          }
    check_all_close(paired, dC2, tolerance{1e-12, 1e-12});
  }
}

TEST_CASE_TEMPLATE_DEFINE("selective scan gradients accumulate when asked, and reruns give the same bits", Harness,
                          selective_scan_accumulate) {
  const auto backend = Harness::backend();
  selective_scan_case c;
  c.batch = 2, c.dim = 4, c.length = 700, c.state = 16, c.groups = 2;
  INFO(Harness::name << ": " << c);
  selective_scan_run<Harness, float> run(c);
  const auto fresh = run.backward();
  CHECK(run.backward() == fresh);  // deterministic: no atomics, fixed sums

  selective_scan_device_gradients<Harness, float> grads(run.in, c.states());
  auto views = grads.views(run.device);
  std::vector<decltype(&grads.du)> buffers = {&grads.du, &grads.ddelta, &grads.dA, &grads.dB, &grads.dC,
                                              &grads.dD, &grads.dz, &grads.ddelta_bias, &grads.dh0};
  for (auto* buffer : buffers) *buffer = Harness::upload(std::vector<float>(buffer->size(), 1.0f));
  views = grads.views(run.device);
  views.accumulate = true;
  selective_scan_backward(backend, run.device.arguments(),
                          run.device.template sequence_view<const float>(run.dout.data()), views);
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    std::vector<double> expected(fresh[i].begin(), fresh[i].end());
    for (auto& x : expected) x += 1.0;
    check_all_close(widened(Harness::download(*buffers[i])), expected, tolerance{1e-6, 1e-6});
  }
}

}  // namespace rescan::testing

#if defined(__CUDACC__)
namespace rescan::testing {

TEST_CASE_TEMPLATE_INVOKE(selective_scan_matches_oracle, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_checkpoints, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_step, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_bidirectional, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_packed, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_tiles, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_runs, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_mixed_groups, cuda_harness);
TEST_CASE_TEMPLATE_INVOKE(selective_scan_accumulate, cuda_harness);

// What the host checks before any kernel runs: non-finite A, bad offsets, host memory.
TEST_CASE("cuda: selective scan rejects non-finite A, bad sequence offsets and host memory") {
  using harness = cuda_harness;
  selective_scan_case c;
  c.batch = 1, c.dim = 3, c.length = 20, c.state = 4;
  auto in = random_selective_scan_inputs(c);
  const auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const std::exception& error) {
      return error.what();
    }
    return "no exception";
  };
  {
    auto bad = in;
    bad.A[std::size_t(1 * c.state + 2)] = std::numeric_limits<double>::quiet_NaN();
    selective_scan_device_case<harness, float> device(c, bad, false);
    auto out = harness::allocate<float>(in.u.size());
    const auto message = message_of([&] {
      selective_scan_forward(cuda, device.arguments(), device.template sequence_view<float>(out.data()));
    });
    INFO(message);
    CHECK(message.find("A(1, 2) = nan but must be finite") != std::string::npos);
  }
  const std::vector<std::pair<std::vector<index_t>, std::string>> bad_offsets = {
      {{0, 12, 7, 20}, "sequence_offsets[2] = 7 but offsets must be sorted"},
      {{1, 20}, "sequence_offsets[0] = 1 but offsets must be sorted, start at 0"},
      {{0, 19}, "sequence_offsets[1] = 19 but offsets must be sorted, start at 0 and end at L = 20"}};
  for (const auto& [offsets, fragment] : bad_offsets) {
    auto packed = c;
    packed.offsets = offsets;
    auto packed_in = random_selective_scan_inputs(packed);
    selective_scan_device_case<harness, float> device(packed, packed_in, false);
    auto out = harness::allocate<float>(in.u.size());
    bool value_error_thrown = false;
    std::string message;
    try {
      selective_scan_forward(cuda, device.arguments(), device.template sequence_view<float>(out.data()));
    } catch (const value_error& error) {
      value_error_thrown = true;
      message = error.what();
    }
    INFO(message);
    CHECK(value_error_thrown);
    CHECK(message.find(fragment) != std::string::npos);
  }
  {
    selective_scan_device_case<harness, float> device(c, in, false);
    std::vector<float> host_out(in.u.size());
    const auto message = message_of([&] {
      selective_scan_forward(cuda, device.arguments(), make_view(host_out.data(), {c.batch, c.dim, c.length}));
    });
    INFO(message);
    CHECK(message.find("out.data() is host memory") != std::string::npos);
  }
  {  // the states-across-lanes launcher, called directly with more states than lanes a row
    auto wide = c;
    wide.state = 8;
    const auto wide_in = random_selective_scan_inputs(wide);
    selective_scan_device_case<harness, float> device(wide, wide_in, false);
    auto out = harness::allocate<float>(wide_in.u.size());
    const auto params = cuda_detail::make_params(detail::in_scan_order(device.arguments()));
    const auto message = message_of([&] {
      cuda_detail::launch_state_lanes_selective_scan_forward<float, 4>(
          params, device.template sequence_view<float>(out.data()), false, strided_view<float, 3>{},
          strided_view<float, 4>{}, nullptr, "launch_state_lanes_selective_scan_forward");
    });
    INFO(message);
    CHECK(message.find("8 states do not fit 4 lanes a row") != std::string::npos);
  }
}

TEST_CASE("cuda: selective scan on a non-default stream matches the default stream") {
  using harness = cuda_harness;
  selective_scan_case c;
  c.batch = 2, c.dim = 3, c.length = 900, c.state = 16;
  selective_scan_run<harness, float> run(c);
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
  const cuda_t on_stream{stream};
  auto out = harness::allocate<float>(run.in.u.size());
  selective_scan_forward(on_stream, run.device.arguments(), run.device.template sequence_view<float>(out.data()));
  selective_scan_device_gradients<harness, float> grads(run.in, c.states());
  selective_scan_backward(on_stream, run.device.arguments(),
                          run.device.template sequence_view<const float>(run.dout.data()), grads.views(run.device));
  REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
  CHECK(harness::download(out) == run.forward());
  const auto expected = run.backward();
  CHECK(harness::download(grads.du) == expected[0]);
  CHECK(harness::download(grads.dA) == expected[2]);
  CHECK(harness::download(grads.dB) == expected[3]);
  CHECK(harness::download(grads.dh0) == expected[8]);
  REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
}

}  // namespace rescan::testing
#endif
