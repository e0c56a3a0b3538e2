// CUDA backend of the ranking metrics (rank/dispatch.hpp contract).
//   Batched groups: one warp per group (kernels/rank_kernel.cuh), pairs counted in registers for
//   groups of up to 64 elements, from global memory (still O(n^2)) for longer ones; fixed-size
//   groups longer than long_group_min go one by one through the long-pair path instead.
//   One long pair: radix sorts + merge passes (device/device_rank.cuh), O(n log n) work; pairs of
//   up to long_group_min elements take the warp kernel.
//   rankdata, spearman_rho: per element counting, O(n^2) per group (meant for groups of up to a few
//   thousand elements); top_order_agreement: one warp per group; consistency_rate: one block sums
//   in a fixed order.
// Results are identical run to run (integer counts; floating sums in fixed orders).
// kendall_counts and consistency_rate synchronize the stream (they return host values); the others
// are asynchronous on backend.stream.
#pragma once

#include <cstdint>
#include <limits>

#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/device/device_rank.cuh"
#include "rescan/cuda/kernels/rank_kernel.cuh"
#include "rescan/rank/detail/group_offsets.hpp"
#include "rescan/rank/detail/kendall_statistics.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan::cuda_detail {

// Groups (and single pairs) longer than this take the sort path.
inline constexpr index_t long_group_min = 2048;

inline unsigned int grid_for_groups(index_t groups) { return grid_for_items(ceil_div(groups, rank_warps_per_block)); }
inline constexpr int rank_block_threads = 32 * rank_warps_per_block;

}  // namespace rescan::cuda_detail

namespace rescan::detail {

template <>
struct rank_kernels<cuda_t> {
  template <class T, class R>
  static void rankdata(const cuda_t& backend, const strided_view<const T, 2>& x, const strided_view<R, 2>& out,
                       rank_method method) {
    using namespace cuda_detail;
    constexpr const char* function = "rankdata";
    check_device_view(function, "x", x);
    check_device_view(function, "out", out);
    const cudaStream_t stream = stream_of(backend);
    device_scratch first;
    if (method == rank_method::dense) {
      first = device_scratch(static_cast<std::size_t>(x.extent(0) * x.extent(1)), stream, function);
      first_occurrence_kernel<<<grid_for_groups(x.extent(0)), rank_block_threads, 0, stream>>>(
          x, static_cast<std::uint8_t*>(first.data()));
      check_launch(function, "first_occurrence_kernel");
    }
    rankdata_kernel<<<grid_for_groups(x.extent(0)), rank_block_threads, 0, stream>>>(
        x, out, method, static_cast<const std::uint8_t*>(first.data()));
    check_launch(function, "rankdata_kernel");
  }

  template <class X, class Y>
  static rescan::kendall_counts kendall_counts(const cuda_t& backend, const strided_view<const X, 1>& x,
                                               const strided_view<const Y, 1>& y) {
    using namespace cuda_detail;
    constexpr const char* function = "kendall_tau";
    check_device_view(function, "x", x);
    check_device_view(function, "y", y);
    const cudaStream_t stream = stream_of(backend);
    if (x.extent(0) > long_group_min) return count_kendall_long(x, y, stream, function);
    device_scratch counts(sizeof(rescan::kendall_counts), stream, function);
    const fixed_groups<X, Y> one{as_row(x), as_row(y)};
    warp_kendall_kernel<<<1, 32, 0, stream>>>(one, strided_view<double, 1>(), kendall_variant::b,
                                              static_cast<rescan::kendall_counts*>(counts.data()));
    check_launch(function, "warp_kendall_kernel");
    rescan::kendall_counts host;
    check_status(cudaMemcpyAsync(&host, counts.data(), sizeof(host), cudaMemcpyDeviceToHost, stream), function,
                 "cudaMemcpyAsync(counts)");
    check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
    return host;
  }

  template <class X, class Y, class R>
  static void kendall_tau_batched(const cuda_t& backend, const strided_view<const X, 2>& x,
                                  const strided_view<const Y, 2>& y, const strided_view<R, 1>& tau,
                                  kendall_variant variant) {
    using namespace cuda_detail;
    constexpr const char* function = "kendall_tau_batched";
    check_device_view(function, "x", x);
    check_device_view(function, "y", y);
    check_device_view(function, "tau", tau);
    const cudaStream_t stream = stream_of(backend);
    if (x.extent(1) > long_group_min) {  // a few long groups: one after the other, sorted
      for (index_t g = 0; g < x.extent(0); ++g) {
        const R value = R(kendall_tau_of(count_kendall_long(x[g], y[g], stream, function), variant));
        check_status(cudaMemcpyAsync(&tau(g), &value, sizeof(R), cudaMemcpyHostToDevice, stream), function,
                     "cudaMemcpyAsync(tau)");
        check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
      }
      return;
    }
    warp_kendall_kernel<<<grid_for_groups(x.extent(0)), rank_block_threads, 0, stream>>>(fixed_groups<X, Y>{x, y}, tau,
                                                                                         variant, nullptr);
    check_launch(function, "warp_kendall_kernel");
  }

  template <class X, class Y, class R>
  static void kendall_tau_grouped(const cuda_t& backend, const strided_view<const X, 1>& x,
                                  const strided_view<const Y, 1>& y, const strided_view<const index_t, 1>& offsets,
                                  const strided_view<R, 1>& tau, kendall_variant variant) {
    using namespace cuda_detail;
    constexpr const char* function = "kendall_tau_batched";
    check_device_view(function, "x", x);
    check_device_view(function, "y", y);
    check_device_view(function, "offsets", offsets);
    check_device_view(function, "tau", tau);
    const cudaStream_t stream = stream_of(backend);
    const auto host = copy_to_host(offsets, stream, function, "offsets");
    check_group_offsets(function, make_view(host.data(), static_cast<index_t>(host.size())), x.extent(0));
    warp_kendall_kernel<<<grid_for_groups(tau.extent(0)), rank_block_threads, 0, stream>>>(
        offset_groups<X, Y>{x, y, offsets}, tau, variant, nullptr);
    check_launch(function, "warp_kendall_kernel");
  }

  template <class X, class Y, class R>
  static void spearman_rho(const cuda_t& backend, const strided_view<const X, 2>& x, const strided_view<const Y, 2>& y,
                           const strided_view<R, 1>& rho) {
    using namespace cuda_detail;
    constexpr const char* function = "spearman_rho";
    check_device_view(function, "x", x);
    check_device_view(function, "y", y);
    check_device_view(function, "rho", rho);
    const cudaStream_t stream = stream_of(backend);
    spearman_kernel<<<grid_for_groups(x.extent(0)), rank_block_threads, 0, stream>>>(x, y, rho);
    check_launch(function, "spearman_kernel");
  }

  template <class X, class Y, class R>
  static void top_order_agreement(const cuda_t& backend, const strided_view<const X, 2>& x,
                                  const strided_view<const Y, 2>& y, const strided_view<R, 1>& best,
                                  const strided_view<R, 1>& worst) {
    using namespace cuda_detail;
    constexpr const char* function = "top_order_agreement";
    check_device_view(function, "x", x);
    check_device_view(function, "y", y);
    check_device_view(function, "best", best);
    check_device_view(function, "worst", worst);
    const cudaStream_t stream = stream_of(backend);
    top_order_kernel<<<grid_for_groups(x.extent(0)), rank_block_threads, 0, stream>>>(x, y, best, worst);
    check_launch(function, "top_order_kernel");
  }

  template <class T>
  static consistency_summary consistency_rate(const cuda_t& backend, const strided_view<const T, 1>& tau,
                                              const strided_view<T, 1>& per_group) {
    using namespace cuda_detail;
    constexpr const char* function = "consistency_rate";
    check_device_view(function, "tau", tau);
    check_device_view(function, "per_group", per_group);
    const cudaStream_t stream = stream_of(backend);
    if (per_group.extent(0) > 0) {
      const int threads = tuning::elementwise_threads;
      consistency_per_group_kernel<<<grid_for_elements(tau.extent(0), threads), threads, 0, stream>>>(tau, per_group);
      check_launch(function, "consistency_per_group_kernel");
    }
    device_scratch partial(sizeof(consistency_partial), stream, function);
    auto* result = static_cast<consistency_partial*>(partial.data());
    consistency_sum_kernel<<<1, consistency_threads, 0, stream>>>(tau, result);
    check_launch(function, "consistency_sum_kernel");
    consistency_partial host{};
    check_status(cudaMemcpyAsync(&host, result, sizeof(host), cudaMemcpyDeviceToHost, stream), function,
                 "cudaMemcpyAsync(result)");
    check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
    consistency_summary summary;
    summary.groups_used = static_cast<index_t>(host.used);
    summary.groups_skipped = tau.extent(0) - summary.groups_used;
    summary.mean = host.used > 0 ? host.sum / double(host.used) : std::numeric_limits<double>::quiet_NaN();
    return summary;
  }
};

}  // namespace rescan::detail
