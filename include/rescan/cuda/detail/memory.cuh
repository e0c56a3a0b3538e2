// Memory the CUDA backend touches: checks that a view's data is reachable from the device,
// stream-ordered scratch allocations, and small copies back to the host for validation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rescan/core/error.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/error.cuh"

namespace rescan::cuda_detail {

// Throws rescan::cuda_error unless `pointer` is device memory, managed memory, or page-locked host
// memory mapped into the device's address space (cudaHostAlloc / cudaHostRegister, which kernels
// can read and write). Ordinary (pageable) host memory gets
//   "inclusive_scan: in.data() is host memory; rescan::cuda needs device or managed memory".
// `name` is the argument ("in", "options.initial"). A null pointer is not checked (optional view).
inline void check_device_pointer(const char* function, const char* name, const void* pointer) {
  if (pointer == nullptr) return;
  cudaPointerAttributes attributes{};
  const cudaError_t status = cudaPointerGetAttributes(&attributes, pointer);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    detail::raise<cuda_error>(function, ": cudaPointerGetAttributes(", name, ".data()) failed: ",
                              cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
  }
  switch (attributes.type) {
    case cudaMemoryTypeDevice:
    case cudaMemoryTypeManaged:
      return;
    case cudaMemoryTypeHost:
      if (attributes.devicePointer == pointer) return;  // mapped page-locked memory, same address on the device
      detail::raise<cuda_error>(function, ": ", name,
                                ".data() is page-locked host memory that the device sees at another address; "
                                "rescan::cuda needs device or managed memory");
    default:
      detail::raise<cuda_error>(function, ": ", name,
                                ".data() is host memory; rescan::cuda needs device or managed memory");
  }
}

// The same for a view: empty views are not checked (nothing is read through them).
template <class T, int Rank>
void check_device_view(const char* function, const char* name, const strided_view<T, Rank>& view) {
  if (view.empty()) return;
  check_device_pointer(function, name, static_cast<const void*>(view.data()));
}

// Stream-ordered scratch memory: cudaMallocAsync on construction, cudaFreeAsync on destruction
// (after everything queued before it on the stream). Move-only. Zero bytes allocates nothing.
class device_scratch {
 public:
  device_scratch() = default;
  device_scratch(std::size_t bytes, cudaStream_t stream, const char* function) : stream_(stream), bytes_(bytes) {
    if (bytes == 0) return;
    check_status(cudaMallocAsync(&data_, bytes, stream), function, "cudaMallocAsync(scratch)");
  }
  device_scratch(const device_scratch&) = delete;
  device_scratch& operator=(const device_scratch&) = delete;
  device_scratch(device_scratch&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), stream_(other.stream_), bytes_(std::exchange(other.bytes_, 0)) {}
  device_scratch& operator=(device_scratch&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      stream_ = other.stream_;
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ~device_scratch() { release(); }

  void* data() const { return data_; }
  std::size_t size() const { return bytes_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) (void)cudaFreeAsync(data_, stream_);  // a destructor must not throw
    data_ = nullptr;
  }

  void* data_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::size_t bytes_ = 0;
};

// Copies a (small) rank-1 device view to the host, in logical order, after the work already queued
// on `stream` (so values produced by earlier calls are seen). Synchronizes the stream.
template <class T>
std::vector<std::remove_const_t<T>> copy_to_host(const strided_view<T, 1>& view, cudaStream_t stream,
                                                 const char* function, const char* name) {
  using value_type = std::remove_const_t<T>;
  const index_t count = view.extent(0);
  std::vector<value_type> host(static_cast<std::size_t>(count));
  if (count == 0) return host;
  const std::string call = std::string("cudaMemcpyAsync(") + name + ")";
  const index_t stride = view.stride(0);
  if (stride == 1 || count == 1 || stride == 0) {
    const std::size_t copied = (stride == 1) ? static_cast<std::size_t>(count) : 1;
    check_status(cudaMemcpyAsync(host.data(), view.data(), copied * sizeof(value_type), cudaMemcpyDeviceToHost,
                                 stream),
                 function, call.c_str());
  } else {
    // Rows of one element, |stride| elements apart, starting at the lowest address.
    const index_t step = stride < 0 ? -stride : stride;
    const T* lowest = stride < 0 ? view.data() + (count - 1) * stride : view.data();
    check_status(cudaMemcpy2DAsync(host.data(), sizeof(value_type), lowest, static_cast<std::size_t>(step) * sizeof(value_type),
                                   sizeof(value_type), static_cast<std::size_t>(count), cudaMemcpyDeviceToHost, stream),
                 function, call.c_str());
  }
  check_status(cudaStreamSynchronize(stream), function, "cudaStreamSynchronize");
  if (stride == 0) {
    for (auto& value : host) value = host[0];
  } else if (stride < 0 && count > 1) {
    std::vector<value_type> logical(host.rbegin(), host.rend());
    host.swap(logical);
  }
  return host;
}

}  // namespace rescan::cuda_detail
