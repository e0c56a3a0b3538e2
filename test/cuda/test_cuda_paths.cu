// The CUDA backend's own paths that the shared bodies do not reach by their shapes: reductions of
// rows long enough to be split into chunks (two passes), top_k rows long enough for the segmented
// sort with several batches of rows, work queued on a non-default stream, and many-row scans that
// loop over rows inside a block.
#include <cuda_runtime_api.h>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "bodies/scan_cases.hpp"
#include "support/cuda_harness.cuh"
#include "support/data.hpp"
#include "support/reference.hpp"

namespace rescan::testing {

TEST_CASE("cuda: reductions of long rows (split into chunks) match the loop") {
  using harness = cuda_harness;
  for (index_t length : {index_t(8193), index_t(100003), index_t(1) << 20}) {
    for (index_t rows : {index_t(1), index_t(3)}) {
      for (layout storage : {layout::row_major, layout::padded_reversed}) {
        INFO("rows " << rows << ", L " << length << ", " << layout_name(storage));
        const auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -8, 8);  // exact sums
        auto in = harness::upload(to_storage(x, storage, rows, length));
        auto out = harness::allocate<float>(static_cast<std::size_t>(rows));
        const auto view = layout_view(in.data(), storage, rows, length);
        reduce_sum(cuda, view, make_view(out.data(), rows));
        check_all_close(harness::download(out), reference_reduce(x, rows, length, plus{}, 0.0f), tolerance{});
        reduce_max(cuda, view, make_view(out.data(), rows));
        check_all_close(harness::download(out), reference_reduce(x, rows, length, maximum{}, 0.0f), tolerance{});

        auto x_nan = x;
        x_nan[static_cast<std::size_t>(length / 3)] = std::numeric_limits<float>::quiet_NaN();
        x_nan[static_cast<std::size_t>(length - 2)] = std::numeric_limits<float>::quiet_NaN();
        auto in_nan = harness::upload(to_storage(x_nan, storage, rows, length));
        auto indices = harness::allocate<index_t>(static_cast<std::size_t>(rows));
        argmax(cuda, layout_view(in_nan.data(), storage, rows, length), make_view(indices.data(), rows));
        CHECK(harness::download(indices) == reference_argmax(x_nan, rows, length));
        argmax(cuda, view, make_view(indices.data(), rows));
        CHECK(harness::download(indices) == reference_argmax(x, rows, length));
      }
    }
  }
  // Non-commutative: products of orthogonal matrices, chunks folded in order.
  for (index_t length : {index_t(5000), index_t(50001)}) {
    const index_t rows = 2;
    INFO("mat2 product, L " << length);
    const auto x = random_orthogonal(static_cast<std::size_t>(rows * length));
    auto in = harness::upload(x);
    auto out = harness::allocate<mat2<double>>(static_cast<std::size_t>(rows));
    reduce(cuda, make_view(in.data(), {rows, length}), make_view(out.data(), rows), mat2_product{});
    check_all_close(harness::download(out), reference_reduce(x, rows, length, mat2_product{}, mat2<double>{}),
                    tolerance{1e-9, 1e-9});
  }
  // logsumexp / softmax of a long row.
  {
    const index_t rows = 2, length = index_t(1) << 18;
    const auto x = random_uniform<double>(static_cast<std::size_t>(rows * length), -20, 20);
    auto in = harness::upload(x);
    auto sums = harness::allocate<double>(static_cast<std::size_t>(rows));
    auto probabilities = harness::allocate<double>(x.size());
    logsumexp(cuda, make_view(in.data(), {rows, length}), make_view(sums.data(), rows));
    softmax(cuda, make_view(in.data(), {rows, length}), make_view(probabilities.data(), {rows, length}));
    check_all_close(harness::download(sums), reference_logsumexp(x, rows, length), tolerance{1e-10, 1e-10});
    check_all_close(harness::download(probabilities), reference_softmax(x, rows, length), tolerance{1e-18, 1e-10});
  }
}

TEST_CASE("cuda: top_k of long rows (segmented sort, several batches) matches the CPU backend") {
  using harness = cuda_harness;
  const index_t rows = 5;
  const index_t length = cuda_detail::tuning::top_k_batch_elements / 3 + 1;  // 2 rows a batch: 3 batches
  auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -1000, 1000);  // ties
  x[7] = std::numeric_limits<float>::quiet_NaN();
  x[static_cast<std::size_t>(2 * length + 5)] = -0.0f;
  auto in = harness::upload(x);
  for (index_t k : {index_t(1), index_t(100)}) {
    INFO("L " << length << ", k " << k);
    auto values = harness::allocate<float>(static_cast<std::size_t>(rows * k));
    auto indices = harness::allocate<index_t>(static_cast<std::size_t>(rows * k));
    top_k(cuda, make_view(in.data(), {rows, length}), make_view(values.data(), {rows, k}),
          make_view(indices.data(), {rows, k}));
    std::vector<float> expected_values(static_cast<std::size_t>(rows * k));
    std::vector<index_t> expected_indices(static_cast<std::size_t>(rows * k));
    top_k(cpu_t(1), make_view(x.data(), {rows, length}), make_view(expected_values.data(), {rows, k}),
          make_view(expected_indices.data(), {rows, k}));
    CHECK(harness::download(indices) == expected_indices);
    check_all_close(harness::download(values), expected_values, tolerance{});
  }
}

TEST_CASE("cuda: more rows than the grid has blocks (kernels loop over rows)") {
  using harness = cuda_harness;
  const index_t rows = cuda_detail::tuning::max_grid_blocks + 3, length = 3;
  const auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -8, 8);
  auto in = harness::upload(x);
  auto out = harness::allocate<float>(x.size());
  auto row_sums = harness::allocate<float>(static_cast<std::size_t>(rows));
  auto best = harness::allocate<float>(static_cast<std::size_t>(rows));
  auto best_index = harness::allocate<index_t>(static_cast<std::size_t>(rows));
  const auto in_view = make_view(in.data(), {rows, length});
  inclusive_scan(cuda, in_view, make_view(out.data(), {rows, length}));
  reduce_sum(cuda, in_view, make_view(row_sums.data(), rows));
  top_k(cuda, in_view, make_view(best.data(), {rows, 1}), make_view(best_index.data(), {rows, 1}));
  check_all_close(harness::download(out), reference_inclusive_scan(x, rows, length, plus{}, false, {}, {}), tolerance{});
  check_all_close(harness::download(row_sums), reference_reduce(x, rows, length, plus{}, 0.0f), tolerance{});
  std::vector<float> expected_values;
  std::vector<index_t> expected_indices;
  reference_top_k(x, rows, length, 1, expected_values, expected_indices);
  CHECK(harness::download(best_index) == expected_indices);
}

TEST_CASE("cuda: work queued on a non-default stream") {
  using harness = cuda_harness;
  cudaStream_t stream = nullptr;
  cuda_detail::check_status(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "test", "cudaStreamCreate");
  const cuda_t on_stream(stream);
  const index_t rows = 3000, length = 777;
  const auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -8, 8);
  auto in = harness::upload(x);
  auto out = harness::allocate<float>(x.size());
  auto row_sums = harness::allocate<float>(static_cast<std::size_t>(rows));
  const auto in_view = make_view(in.data(), {rows, length});
  inclusive_scan(on_stream, in_view, make_view(out.data(), {rows, length}));
  reduce_sum(on_stream, in_view, make_view(row_sums.data(), rows));
  cuda_detail::check_status(cudaStreamSynchronize(stream), "test", "cudaStreamSynchronize");
  check_all_close(harness::download(out), reference_inclusive_scan(x, rows, length, plus{}, false, {}, {}), tolerance{});
  check_all_close(harness::download(row_sums), reference_reduce(x, rows, length, plus{}, 0.0f), tolerance{});

  // Segment offsets produced on the stream just before the call are seen by its validation copy.
  auto offsets = harness::allocate<index_t>(2);
  const std::vector<index_t> host_offsets = {100, 500};
  cuda_detail::check_status(cudaMemcpyAsync(offsets.data(), host_offsets.data(), 2 * sizeof(index_t),
                                            cudaMemcpyHostToDevice, stream),
                            "test", "cudaMemcpyAsync");
  scan_options<float> options;
  options.segment_offsets = make_view(static_cast<const index_t*>(offsets.data()), index_t(2));
  exclusive_scan(on_stream, in_view, make_view(out.data(), {rows, length}), 1.0f, plus{}, options);
  cuda_detail::check_status(cudaStreamSynchronize(stream), "test", "cudaStreamSynchronize");
  reference_segments segments;
  segments.offsets = host_offsets;
  check_all_close(harness::download(out),
                  reference_exclusive_scan(x, rows, length, 1.0f, plus{}, false, {}, segments), tolerance{});
  (void)cudaStreamDestroy(stream);
}

TEST_CASE("cuda: device-wide path with few long rows, strided offsets and broadcast flags") {
  using harness = cuda_harness;
  const index_t rows = 2, length = 100003;
  REQUIRE(cuda_detail::use_device_scan(rows, length));
  const auto x = random_integers<float>(static_cast<std::size_t>(rows * length), -4, 4);
  auto in = harness::upload(x);
  auto out = harness::allocate<float>(x.size());
  const auto in_view = make_view(in.data(), {rows, length});
  const auto out_view = make_view(out.data(), {rows, length});
  for (bool reverse : {false, true}) {
    INFO("direction: " << (reverse ? "reverse" : "forward"));
    // Offsets stored backwards (a negative stride) must be read in logical order.
    const std::vector<index_t> stored = {length, 70000, 12345, 12345, 3, 0};
    auto offsets = harness::upload(stored);
    scan_options<float> options;
    options.direction = reverse ? scan_direction::reverse : scan_direction::forward;
    options.segment_offsets = make_strided_view(static_cast<const index_t*>(offsets.data()) + 5, {6}, {-1});
    reference_segments segments;
    segments.offsets = {0, 3, 12345, 12345, 70000, length};
    inclusive_scan(cuda, in_view, out_view, plus{}, options);
    check_all_close(harness::download(out), reference_inclusive_scan(x, rows, length, plus{}, reverse, {}, segments),
                    tolerance{});
    exclusive_scan(cuda, in_view, out_view, 2.0f, plus{}, options);
    check_all_close(harness::download(out),
                    reference_exclusive_scan(x, rows, length, 2.0f, plus{}, reverse, {}, segments), tolerance{});

    // One row of flags shared by every row (row stride 0).
    std::vector<std::uint8_t> flag_row(static_cast<std::size_t>(length), 0);
    for (index_t t = 0; t < length; t += 4099) flag_row[static_cast<std::size_t>(t)] = 1;
    auto flags = harness::upload(flag_row);
    scan_options<float> flagged;
    flagged.direction = options.direction;
    flagged.segment_flags = make_strided_view(static_cast<const std::uint8_t*>(flags.data()), {rows, length}, {0, 1});
    reference_segments flag_segments;
    for (index_t r = 0; r < rows; ++r) flag_segments.flags.insert(flag_segments.flags.end(), flag_row.begin(), flag_row.end());
    inclusive_scan(cuda, in_view, out_view, plus{}, flagged);
    check_all_close(harness::download(out),
                    reference_inclusive_scan(x, rows, length, plus{}, reverse, {}, flag_segments), tolerance{});
  }
}

}  // namespace rescan::testing
