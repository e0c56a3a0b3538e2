// Device-wide level of kendall_tau for one long pair (and for batched groups too long for a warp):
//   1. any NaN? (then the counts say so and nothing else runs)
//   2. cub::DeviceRadixSort of (key of y, position); run heads + an inclusive sum give y's dense
//      ranks; cub::DeviceRunLengthEncode + cub::DeviceReduce give y's tie pairs, triples, distinct values
//   3. in y order, (key of x, rank of y) sorted by x (radix sort is stable: pairs end ordered by (x, y));
//      x's ties as in 2, joint ties from runs of (rank of x, rank of y)
//   4. discordant pairs = inversions of the y ranks: log2(n) merge passes (merge_pass_kernel)
// All counts are integers summed exactly; the host assembles them. Synchronizes the stream.
#pragma once

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_run_length_encode.cuh>
#include <cub/device/device_scan.cuh>
#include <thrust/iterator/transform_iterator.h>

#include <cstdint>
#include <utility>

#include "rescan/cuda/detail/error.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/memory.cuh"
#include "rescan/cuda/detail/tuning.cuh"
#include "rescan/cuda/kernels/rank_kernel.cuh"

namespace rescan::cuda_detail {

// Scratch arrays of the long-pair path, all of n elements.
struct kendall_device_buffers {
  device_scratch keys_a, keys_b, rank_a, rank_b, heads, runs, flags;
  kendall_device_buffers(index_t n, cudaStream_t stream, const char* function)
      : keys_a(sizeof(std::uint64_t) * n, stream, function),
        keys_b(sizeof(std::uint64_t) * n, stream, function),
        rank_a(sizeof(std::uint32_t) * n, stream, function),
        rank_b(sizeof(std::uint32_t) * n, stream, function),
        heads(sizeof(std::uint32_t) * n, stream, function),
        runs(sizeof(std::uint32_t) * n, stream, function),
        flags(256, stream, function) {}
};

// Runs one CUB call twice: the size query (temp == nullptr), then the call with scratch.
template <class Call>
void run_cub(const Call& call, cudaStream_t stream, const char* function, const char* what) {
  std::size_t bytes = 0;
  check_status(call(nullptr, bytes), function, what);
  device_scratch temp(bytes, stream, function);
  check_status(call(temp.data(), bytes), function, what);
}

// Ties of a sorted key sequence: runs of equal keys -> (pairs, triples) into *sums and the number of
// runs into *distinct; ranks_plus_one[i] = dense rank + 1 (from the run heads).
template <class Key>
void tie_statistics(const Key* sorted, index_t n, std::uint32_t* heads, std::uint32_t* ranks_plus_one,
                    std::uint32_t* run_lengths, std::uint32_t* unique_scratch, tie_sums* sums, int* distinct,
                    cudaStream_t stream, const char* function) {
  const int threads = tuning::elementwise_threads;
  run_heads_kernel<<<grid_for_elements(n, threads), threads, 0, stream>>>(sorted, n, heads);
  check_launch(function, "run_heads_kernel");
  if (ranks_plus_one != nullptr) {
    run_cub([&](void* temp, std::size_t& bytes) { return cub::DeviceScan::InclusiveSum(temp, bytes, heads, ranks_plus_one, int(n), stream); },
            stream, function, "cub::DeviceScan::InclusiveSum");
  }
  // Run lengths via the run heads' ranks: encode the dense ranks (any key type works the same).
  check_status(cudaMemsetAsync(run_lengths, 0, sizeof(std::uint32_t) * n, stream), function, "cudaMemsetAsync(runs)");
  run_cub([&](void* temp, std::size_t& bytes) {
            return cub::DeviceRunLengthEncode::Encode(temp, bytes, sorted, reinterpret_cast<Key*>(unique_scratch), run_lengths,
                                                      distinct, int(n), stream);
          },
          stream, function, "cub::DeviceRunLengthEncode::Encode");
  const auto per_run = thrust::make_transform_iterator(static_cast<const std::uint32_t*>(run_lengths), tie_sums_of_run{});
  run_cub([&](void* temp, std::size_t& bytes) {
            return cub::DeviceReduce::Reduce(temp, bytes, per_run, sums, int(n), tie_sums_plus{}, tie_sums{0, 0.0}, stream);
          },
          stream, function, "cub::DeviceReduce::Reduce(ties)");
}

template <class X, class Y>
kendall_counts count_kendall_long(const strided_view<const X, 1>& x, const strided_view<const Y, 1>& y,
                                  cudaStream_t stream, const char* function) {
  const index_t n = x.extent(0);
  const int threads = tuning::elementwise_threads;
  kendall_counts counts;
  counts.n = n;
  kendall_device_buffers buffers(n, stream, function);
  // Device-side results: NaN flag, distinct counts, tie sums (x, y, joint), inversions.
  struct results {
    int nan;
    int distinct_x, distinct_y, distinct_xy;
    tie_sums x, y, xy;
    unsigned long long inversions;
  };
  auto* out = static_cast<results*>(buffers.flags.data());
  check_status(cudaMemsetAsync(out, 0, sizeof(results), stream), function, "cudaMemsetAsync(results)");
  any_nan_kernel<<<grid_for_elements(n, threads), threads, 0, stream>>>(x, y, &out->nan);
  check_launch(function, "any_nan_kernel");
  int nan = 0;
  check_status(cudaMemcpyAsync(&nan, &out->nan, sizeof(int), cudaMemcpyDeviceToHost, stream), function, "cudaMemcpyAsync(nan)");
  check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
  if (nan != 0) {
    counts.has_nan = true;
    return counts;
  }
  auto* keys_a = static_cast<std::uint64_t*>(buffers.keys_a.data());
  auto* keys_b = static_cast<std::uint64_t*>(buffers.keys_b.data());
  auto* rank_a = static_cast<std::uint32_t*>(buffers.rank_a.data());
  auto* rank_b = static_cast<std::uint32_t*>(buffers.rank_b.data());
  auto* heads = static_cast<std::uint32_t*>(buffers.heads.data());
  auto* runs = static_cast<std::uint32_t*>(buffers.runs.data());
  // 2. by y
  y_keys_kernel<<<grid_for_elements(n, threads), threads, 0, stream>>>(y, keys_a, rank_a);
  check_launch(function, "y_keys_kernel");
  cub::DoubleBuffer<std::uint64_t> keys(keys_a, keys_b);
  cub::DoubleBuffer<std::uint32_t> values(rank_a, rank_b);
  run_cub([&](void* temp, std::size_t& bytes) { return cub::DeviceRadixSort::SortPairs(temp, bytes, keys, values, int(n), 0, 64, stream); },
          stream, function, "cub::DeviceRadixSort::SortPairs(y)");
  // The positions stay in values.Current(); y's dense rank + 1 goes to the other value buffer, the
  // encoder's unique keys to the other key buffer.
  std::uint32_t* positions = values.Current();
  std::uint32_t* y_rank_plus_one = values.Alternate();
  tie_statistics(keys.Current(), n, heads, y_rank_plus_one, runs, reinterpret_cast<std::uint32_t*>(keys.Alternate()),
                 &out->y, &out->distinct_y, stream, function);
  // 3. by x, in y order; the y ranks ride along as values.
  x_keys_kernel<<<grid_for_elements(n, threads), threads, 0, stream>>>(x, positions, y_rank_plus_one, keys.Alternate(), heads);
  check_launch(function, "x_keys_kernel");
  cub::DoubleBuffer<std::uint64_t> x_keys(keys.Alternate(), keys.Current());
  cub::DoubleBuffer<std::uint32_t> y_ranks(heads, positions);
  run_cub([&](void* temp, std::size_t& bytes) { return cub::DeviceRadixSort::SortPairs(temp, bytes, x_keys, y_ranks, int(n), 0, 64, stream); },
          stream, function, "cub::DeviceRadixSort::SortPairs(x)");
  std::uint32_t* sorted_y_rank = y_ranks.Current();
  std::uint32_t* free_a = y_ranks.Alternate();  // free: positions are no longer needed
  std::uint32_t* x_rank_plus_one = y_rank_plus_one;  // free: y's ranks now ride in sorted_y_rank
  tie_statistics(x_keys.Current(), n, free_a, x_rank_plus_one, runs, reinterpret_cast<std::uint32_t*>(x_keys.Alternate()),
                 &out->x, &out->distinct_x, stream, function);
  joint_keys_kernel<<<grid_for_elements(n, threads), threads, 0, stream>>>(x_rank_plus_one, sorted_y_rank, n, x_keys.Alternate());
  check_launch(function, "joint_keys_kernel");
  tie_statistics(x_keys.Alternate(), n, free_a, static_cast<std::uint32_t*>(nullptr), runs,
                 reinterpret_cast<std::uint32_t*>(x_keys.Current()), &out->xy, &out->distinct_xy, stream, function);
  // 4. inversions of the y ranks.
  std::uint32_t* from = sorted_y_rank;
  std::uint32_t* to = free_a;
  for (index_t width = 1; width < n; width *= 2) {
    merge_pass_kernel<<<grid_for_elements(n, merge_threads), merge_threads, 0, stream>>>(from, to, n, width, &out->inversions);
    check_launch(function, "merge_pass_kernel");
    std::swap(from, to);
  }
  results host{};
  check_status(cudaMemcpyAsync(&host, out, sizeof(results), cudaMemcpyDeviceToHost, stream), function,
               "cudaMemcpyAsync(results)");
  check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
  counts.ties_x = host.x.pairs;
  counts.ties_y = host.y.pairs;
  counts.ties_xy = host.xy.pairs;
  counts.tie_triples_x = host.x.triples;
  counts.tie_triples_y = host.y.triples;
  counts.distinct_x = host.distinct_x;
  counts.distinct_y = host.distinct_y;
  counts.discordant = static_cast<std::int64_t>(host.inversions);
  counts.concordant = detail::total_pairs(n) - counts.ties_x - counts.ties_y + counts.ties_xy - counts.discordant;
  return counts;
}

}  // namespace rescan::cuda_detail
