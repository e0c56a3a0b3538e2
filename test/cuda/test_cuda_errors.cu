// What only the CUDA backend can get wrong: host memory passed where device memory is needed (a
// cuda_error naming the function and the argument), and the memory kinds it does accept.
#include <cuda_runtime_api.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "support/cuda_harness.cuh"
#include "support/data.hpp"
#include "support/reference.hpp"

namespace rescan::testing {

TEST_CASE("rescan::cuda rejects host memory with a cuda_error naming the function and the argument") {
  using harness = cuda_harness;
  std::vector<float> host(12, 1.0f);
  std::vector<index_t> host_indices(12, 0);
  auto device = harness::upload(std::vector<float>(12, 1.0f));
  auto device_out = harness::allocate<float>(12);
  auto device_indices = harness::allocate<index_t>(12);
  const auto host_view = make_view(host.data(), {3, 4});
  const auto device_view = make_view(device.data(), {3, 4});
  const auto out_view = make_view(device_out.data(), {3, 4});

  RESCAN_CHECK_THROWS_WITH_FRAGMENT(inclusive_scan(cuda, host_view, out_view), cuda_error,
                                    "inclusive_scan: in.data() is host memory; rescan::cuda needs device or managed memory");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(exclusive_scan(cuda, device_view, host_view, 0.0f), cuda_error,
                                    "exclusive_scan: out.data() is host memory");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(linear_recurrence(cuda, device_view, host_view, out_view), cuda_error,
                                    "linear_recurrence: b.data() is host memory");

  std::vector<float> host_initial(3, 0.0f);
  scan_options<float> with_initial;
  with_initial.initial = make_view(static_cast<const float*>(host_initial.data()), index_t(3));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(inclusive_scan(cuda, device_view, out_view, plus{}, with_initial), cuda_error,
                                    "inclusive_scan: options.initial.data() is host memory");

  std::vector<index_t> host_offsets = {0, 2, 4};
  scan_options<float> with_offsets;
  with_offsets.segment_offsets = make_view(static_cast<const index_t*>(host_offsets.data()), index_t(3));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(inclusive_scan(cuda, device_view, out_view, plus{}, with_offsets), cuda_error,
                                    "inclusive_scan: options.segment_offsets.data() is host memory");

  std::vector<std::uint8_t> host_flags(12, 0);
  scan_options<float> with_flags;
  with_flags.segment_flags = make_view(static_cast<const std::uint8_t*>(host_flags.data()), {3, 4});
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(exclusive_scan(cuda, device_view, out_view, 0.0f, plus{}, with_flags), cuda_error,
                                    "exclusive_scan: options.segment_flags.data() is host memory");

  RESCAN_CHECK_THROWS_WITH_FRAGMENT(reduce_sum(cuda, host_view, make_view(device_out.data(), index_t(3))), cuda_error,
                                    "reduce: in.data() is host memory");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(argmax(cuda, device_view, make_view(host_indices.data(), index_t(3))), cuda_error,
                                    "argmax: out.data() is host memory");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(logsumexp(cuda, host_view, make_view(device_out.data(), index_t(3))), cuda_error,
                                    "logsumexp: in.data() is host memory");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(softmax(cuda, device_view, host_view), cuda_error,
                                    "softmax: out.data() is host memory");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(top_k(cuda, device_view, make_view(device_out.data(), {3, 2}),
                                          make_view(host_indices.data(), {3, 2})),
                                    cuda_error, "top_k: indices.data() is host memory");

  // Nothing was written by the failed calls.
  CHECK(harness::download(device) == std::vector<float>(12, 1.0f));
}

TEST_CASE("rescan::cuda accepts managed memory and mapped page-locked host memory") {
  const index_t rows = 3, length = 1000;
  const auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -8, 8);
  const auto expected = reference_inclusive_scan(x, rows, length, plus{}, false, {}, {});

  float* managed = nullptr;
  cuda_detail::check_status(cudaMallocManaged(&managed, x.size() * sizeof(float)), "test", "cudaMallocManaged");
  std::copy(x.begin(), x.end(), managed);
  inclusive_scan(cuda, make_view(managed, {rows, length}), make_view(managed, {rows, length}));
  cuda_detail::check_status(cudaDeviceSynchronize(), "test", "cudaDeviceSynchronize");
  check_all_close(std::vector<float>(managed, managed + x.size()), expected, tolerance{});
  (void)cudaFree(managed);

  float* pinned = nullptr;
  cuda_detail::check_status(cudaMallocHost(&pinned, x.size() * sizeof(float)), "test", "cudaMallocHost");
  std::copy(x.begin(), x.end(), pinned);
  inclusive_scan(cuda, make_view(pinned, {rows, length}), make_view(pinned, {rows, length}));
  cuda_detail::check_status(cudaDeviceSynchronize(), "test", "cudaDeviceSynchronize");
  check_all_close(std::vector<float>(pinned, pinned + x.size()), expected, tolerance{});
  (void)cudaFreeHost(pinned);
}

}  // namespace rescan::testing
