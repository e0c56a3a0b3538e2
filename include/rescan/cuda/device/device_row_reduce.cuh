// Device-wide level of the reductions: fold every row of a (rows, L) source in order, L >= 1.
//
// Many rows: one block per row (chunked_row_reduce_kernel with one chunk). Few long rows: each row
// is split into contiguous chunks, one block per chunk writes its fold to a (rows, chunks) scratch
// array, and a second launch folds each row's partials in chunk order. Either way the fold is
// (x_0 ∘ ... ∘ x_a) ∘ (x_a+1 ∘ ...) ∘ ...: order preserved, so any associative operator works, and
// the split depends only on the shape, so results are the same run to run. (cub::DeviceReduce is
// not used: it folds each thread's items in striped order, which assumes a commutative operator.)
//
// Caller-owned temporary storage, as in CUB: temp == nullptr asks for temp_bytes. reduce_rows()
// above it allocates stream-ordered scratch itself.
#pragma once

#include <algorithm>
#include <cstddef>

#include "rescan/core/config.hpp"
#include "rescan/cuda/detail/error.cuh"
#include "rescan/cuda/detail/launch.cuh"
#include "rescan/cuda/detail/memory.cuh"
#include "rescan/cuda/detail/tuning.cuh"
#include "rescan/cuda/kernels/reduce_kernel.cuh"

namespace rescan::cuda_detail {

// Sink adapters of chunked_row_reduce_kernel.
template <class Sink>
struct final_sink {
  Sink sink;
  template <class V>
  __device__ void operator()(index_t row, index_t, const V& value) const {
    sink(row, value);
  }
};

template <class V>
struct partial_sink {
  V* partials;
  index_t chunks;
  __device__ void operator()(index_t row, index_t chunk, const V& value) const { partials[row * chunks + chunk] = value; }
};

template <class V>
struct partial_source {
  const V* partials;
  index_t chunks;
  __device__ V operator()(index_t row, index_t chunk) const { return partials[row * chunks + chunk]; }
};

// How a call splits its rows: `chunks` pieces of `chunk_length` (the last one shorter), none empty.
struct reduce_plan {
  index_t chunks = 1;
  index_t chunk_length = 0;
};

template <class V>
reduce_plan plan_row_reduce(index_t rows, index_t length) {
  constexpr index_t tile = index_t(tuning::reduce_threads) * tuning::reduce_items<V>;
  reduce_plan plan;
  plan.chunk_length = length;
  if (rows >= tuning::reduce_target_blocks) return plan;
  const index_t by_length = ceil_div(length, tile * tuning::reduce_min_chunk_tiles);
  const index_t by_blocks = ceil_div(tuning::reduce_target_blocks, rows);
  const index_t wanted = std::max<index_t>(1, std::min(by_length, by_blocks));
  if (wanted == 1) return plan;
  plan.chunk_length = ceil_div(length, wanted);
  plan.chunks = ceil_div(length, plan.chunk_length);  // no empty chunk
  return plan;
}

template <class V, class Source, class Op, class Sink>
void launch_chunked_row_reduce(const Source& source, const Op& op, const Sink& sink, index_t rows, index_t length,
                               index_t chunks, index_t chunk_length, cudaStream_t stream, const char* function) {
  constexpr int threads = tuning::reduce_threads;
  constexpr int items = tuning::reduce_items<V>;
  chunked_row_reduce_kernel<V, threads, items><<<grid_for_items(rows * chunks), threads, 0, stream>>>(
      source, op, sink, rows, length, chunks, chunk_length);
  check_launch(function, "chunked_row_reduce_kernel");
}

// sink(row, fold of source(row, 0 .. length-1)) for every row; length >= 1.
// V: the folded type; source(row, t) -> V; op(V, V) -> V; sink(row, V) is a __device__ call.
template <class V, class Source, class Op, class Sink>
void device_row_reduce(void* temp, std::size_t& temp_bytes, const Source& source, const Op& op, const Sink& sink,
                       index_t rows, index_t length, cudaStream_t stream, const char* function) {
  const reduce_plan plan = plan_row_reduce<V>(rows, length);
  if (temp == nullptr) {
    temp_bytes = plan.chunks > 1 ? static_cast<std::size_t>(rows * plan.chunks) * sizeof(V) : 0;
    return;
  }
  if (plan.chunks == 1) {
    launch_chunked_row_reduce<V>(source, op, final_sink<Sink>{sink}, rows, length, 1, length, stream, function);
    return;
  }
  V* partials = static_cast<V*>(temp);
  launch_chunked_row_reduce<V>(source, op, partial_sink<V>{partials, plan.chunks}, rows, length, plan.chunks,
                               plan.chunk_length, stream, function);
  launch_chunked_row_reduce<V>(partial_source<V>{partials, plan.chunks}, op, final_sink<Sink>{sink}, rows,
                               plan.chunks, 1, plan.chunks, stream, function);
}

// Convenience level: allocates the scratch (if any) on the stream.
template <class V, class Source, class Op, class Sink>
void reduce_rows(const Source& source, const Op& op, const Sink& sink, index_t rows, index_t length,
                 cudaStream_t stream, const char* function) {
  std::size_t bytes = 0;
  device_row_reduce<V>(nullptr, bytes, source, op, sink, rows, length, stream, function);
  device_scratch scratch(bytes, stream, function);
  // A non-null pointer even when no scratch is needed selects the run (not the size query).
  void* temp = bytes > 0 ? scratch.data() : static_cast<void*>(&bytes);
  device_row_reduce<V>(temp, bytes, source, op, sink, rows, length, stream, function);
}

}  // namespace rescan::cuda_detail
