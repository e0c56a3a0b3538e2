// CUDA backend of token merging (merge/dispatch.hpp contract); see cuda/device/device_merge.cuh and
// cuda/kernels/merge_kernel.cuh. Sequences of at most merge_tuning::max_tokens (2048) tokens. Every
// reduction runs in a fixed order (members ascending), so results are deterministic run to run;
// the similarity dot products are associated differently from the CPU's GEMM (last bits).
// Everything is asynchronous on backend.stream except copy_to_host (plan_to_host), which
// synchronizes it.
//
// Plan memory is stream-ordered: a plan's arrays (one allocation) come from cudaMallocAsync on the
// stream of the backend that makes the plan (bipartite_soft_matching, compose), and go back with
// cudaFreeAsync on that same stream when the last copy of the plan is dropped, so neither
// synchronizes the device. Hence:
//   - work queued on that stream before the last copy is dropped is safe: the free runs after it;
//   - a plan used on ANOTHER stream (a backend with another stream) is like any stream-ordered
//     memory: that stream must first wait for the plan's stream (the plan is written there), and
//     before the last copy is dropped the plan's stream must wait for that work (an event and
//     cudaStreamWaitEvent, or a synchronization), or the memory may be reused under it;
//   - the stream that made a plan must outlive the plan (the free is queued on it). With the
//     per-thread default stream (cudaStreamPerThread, nvcc --default-stream per-thread) that is the
//     making thread's stream: dropping the last copy on another thread frees it there, so that
//     thread's stream must be synchronized with it as with any other stream.
// The memory comes from the device's current pool, which by default returns freed memory to the
// driver at every synchronization; a model making plans every step should let the pool keep it
// (cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, ...), as bench/cuda/main.cu does).
#pragma once

#include <memory>
#include <type_traits>

#include "rescan/cuda/backend.cuh"
#include "rescan/cuda/device/device_merge.cuh"
#include "rescan/merge/dispatch.hpp"
#include "rescan/merge/merge_plan.hpp"

namespace rescan::detail {

template <>
struct merge_kernels<cuda_t> {
  static constexpr plan_memory memory = plan_memory::cuda_device;
  using plan_arrays = merge_plan_arrays<const index_t>;

  // Storage for `count` index_t elements of a plan, allocated on backend.stream (stream-ordered);
  // the deleter frees it on that same stream (see the top of this file).
  static std::shared_ptr<index_t> allocate(const cuda_t& backend, index_t count) {
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    void* data = nullptr;
    if (count > 0) {
      cuda_detail::check_status(cudaMallocAsync(&data, static_cast<std::size_t>(count) * sizeof(index_t), stream),
                                "bipartite_soft_matching", "cudaMallocAsync(plan)");
    }
    return std::shared_ptr<index_t>(static_cast<index_t*>(data), [stream](index_t* pointer) {
      if (pointer != nullptr) (void)cudaFreeAsync(pointer, stream);  // a deleter must not throw
    });
  }

  static void copy_to_host(const cuda_t& backend, const index_t* data, index_t count, index_t* host) {
    const cudaStream_t stream = cuda_detail::stream_of(backend);
    cuda_detail::check_status(cudaMemcpyAsync(host, data, static_cast<std::size_t>(count) * sizeof(index_t),
                                              cudaMemcpyDeviceToHost, stream),
                              "plan_to_host", "cudaMemcpyAsync(plan)");
    cuda_detail::check_status(cudaStreamSynchronize(stream), "plan_to_host", "cudaStreamSynchronize");
  }

  template <class M>
  static void match(const cuda_t& backend, const strided_view<const M, 3>& metric, const matching_layout& layout,
                    similarity kind, const merge_plan_arrays<index_t>& plan) {
    constexpr const char* function = "bipartite_soft_matching";
    cuda_detail::check_device_view(function, "metric", metric);
    using S = std::conditional_t<std::is_same_v<M, double>, double, float>;
    cuda_detail::run_match<M, S>(metric, layout, kind, plan, cuda_detail::stream_of(backend), function);
  }

  template <class T>
  static void merge(const cuda_t& backend, const plan_arrays& plan, const strided_view<const T, 3>& x,
                    const strided_view<T, 3>& out, merge_reduce reduce) {
    constexpr const char* function = "merge";
    cuda_detail::check_device_view(function, "x", x);
    cuda_detail::check_device_view(function, "out", out);
    constexpr int threads = cuda_detail::merge_tuning::channel_threads;
    cuda_detail::merge_gather_kernel<T><<<cuda_detail::grid_for_items(out.extent(0) * out.extent(1)), threads, 0,
                                          cuda_detail::stream_of(backend)>>>(plan, x, out, reduce);
    cuda_detail::check_launch(function, "merge_gather_kernel");
  }

  template <class T, class Size>
  static void merge_weighted(const cuda_t& backend, const plan_arrays& plan, const strided_view<const T, 3>& x,
                             const strided_view<const Size, 2>& size, const strided_view<T, 3>& out,
                             const strided_view<Size, 2>& size_out) {
    constexpr const char* function = "merge_weighted";
    cuda_detail::check_device_view(function, "x", x);
    cuda_detail::check_device_view(function, "size", size);
    cuda_detail::check_device_view(function, "out", out);
    cuda_detail::check_device_view(function, "size_out", size_out);
    constexpr int threads = cuda_detail::merge_tuning::channel_threads;
    cuda_detail::merge_weighted_kernel<T, Size><<<cuda_detail::grid_for_items(out.extent(0) * out.extent(1)), threads,
                                                  0, cuda_detail::stream_of(backend)>>>(plan, x, size, out, size_out);
    cuda_detail::check_launch(function, "merge_weighted_kernel");
  }

  template <class T>
  static void spread(const cuda_t& backend, const plan_arrays& plan, const strided_view<const T, 3>& in,
                     const strided_view<T, 3>& out, spread_weight weight, const strided_view<const T, 3>& x,
                     const strided_view<const T, 2>& size) {
    constexpr const char* function = "unmerge / merge backward";
    cuda_detail::check_device_view(function, "in", in);
    cuda_detail::check_device_view(function, "out", out);
    cuda_detail::check_device_view(function, "x", x);
    cuda_detail::check_device_view(function, "size", size);
    constexpr int threads = cuda_detail::merge_tuning::channel_threads;
    cuda_detail::merge_spread_kernel<T><<<cuda_detail::grid_for_items(out.extent(0) * out.extent(1)), threads, 0,
                                          cuda_detail::stream_of(backend)>>>(plan, in, out, weight, x, size);
    cuda_detail::check_launch(function, "merge_spread_kernel");
  }

  static void compose(const cuda_t& backend, const plan_arrays& first, const plan_arrays& second,
                      const merge_plan_arrays<index_t>& result) {
    constexpr const char* function = "compose";
    cuda_detail::check_merge_tokens(function, "first.tokens_in()", result.destination.extent(1));
    cuda_detail::with_plan_tile(result.destination.extent(1), [&](auto threads, auto items) {
      cuda_detail::merge_compose_kernel<decltype(threads)::value, decltype(items)::value>
          <<<cuda_detail::grid_for_items(result.destination.extent(0)), decltype(threads)::value, 0,
             cuda_detail::stream_of(backend)>>>(first, second, result);
    });
    cuda_detail::check_launch(function, "merge_compose_kernel");
  }

  template <class T>
  static void source_matrix(const cuda_t& backend, const plan_arrays& plan, const strided_view<T, 3>& out) {
    constexpr const char* function = "source_matrix";
    cuda_detail::check_device_view(function, "out", out);
    constexpr int threads = cuda_detail::tuning::elementwise_threads;
    cuda_detail::merge_source_matrix_kernel<T><<<cuda_detail::grid_for_elements(out.size(), threads), threads, 0,
                                                 cuda_detail::stream_of(backend)>>>(plan, out);
    cuda_detail::check_launch(function, "merge_source_matrix_kernel");
  }
};

}  // namespace rescan::detail
