// The test harness of the CUDA backend (the contract is in cpu_harness.hpp): buffers live in device
// memory (cudaMalloc), uploads and downloads are cudaMemcpy, and download() first waits for the
// device, so an asynchronous kernel failure surfaces there as a rescan::cuda_error with its cause.
// allocate() fills new buffers with 0xFF bytes (NaN for floating point), so an output element a
// kernel forgot to write cannot pass for a right answer. upload() and allocate() wait until the
// buffer is ready, so tests may use it at once from any stream (non-blocking ones included).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include <rescan/rescan.cuh>

namespace rescan::testing {

template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t count) : size_(count) {
    if (count == 0) return;
    cuda_detail::check_status(cudaMalloc(&data_, count * sizeof(T)), "cuda_harness", "cudaMalloc");
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  device_buffer& operator=(device_buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~device_buffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) (void)cudaFree(data_);
    data_ = nullptr;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

struct cuda_harness {
  static constexpr const char* name = "cuda";
  static cuda_t backend() { return cuda_t{}; }

  template <class T>
  static device_buffer<T> upload(const std::vector<T>& host) {
    device_buffer<T> buffer(host.size());
    if (!host.empty()) {
      cuda_detail::check_status(cudaMemcpy(buffer.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
                                "cuda_harness::upload", "cudaMemcpy");
    }
    cuda_detail::check_status(cudaDeviceSynchronize(), "cuda_harness::upload", "cudaDeviceSynchronize");
    return buffer;
  }

  template <class T>
  static device_buffer<T> allocate(std::size_t count) {
    device_buffer<T> buffer(count);
    if (count > 0) {
      cuda_detail::check_status(cudaMemset(buffer.data(), 0xFF, count * sizeof(T)), "cuda_harness::allocate",
                                "cudaMemset");
    }
    cuda_detail::check_status(cudaDeviceSynchronize(), "cuda_harness::allocate", "cudaDeviceSynchronize");
    return buffer;
  }

  template <class T>
  static std::vector<T> download(const device_buffer<T>& buffer) {
    cuda_detail::check_status(cudaDeviceSynchronize(), "cuda_harness::download", "cudaDeviceSynchronize");
    std::vector<T> host(buffer.size());
    if (!host.empty()) {
      cuda_detail::check_status(cudaMemcpy(host.data(), buffer.data(), host.size() * sizeof(T), cudaMemcpyDeviceToHost),
                                "cuda_harness::download", "cudaMemcpy");
    }
    return host;
  }

  // Around the block path's tiles (plain and segmented elements), and lengths that send one row
  // (and three rows) to the device-wide path (cuda/device/device_row_scan.cuh, use_device_scan).
  template <class T>
  static std::vector<index_t> boundary_lengths() {
    const index_t plain = index_t(cuda_detail::tuning::scan_threads) * cuda_detail::tuning::scan_items<T>;
    const index_t lifted =
        index_t(cuda_detail::tuning::scan_threads) * cuda_detail::tuning::scan_items<cuda_detail::flagged<T>>;
    const index_t device = cuda_detail::tuning::device_scan_length_per_row;
    std::vector<index_t> lengths = {plain - 1,  plain,      plain + 1,  2 * plain + 1,
                                    lifted - 1, lifted + 1, 3 * lifted + 7,
                                    device - 1, device + 1, 3 * device + 7};
    std::sort(lengths.begin(), lengths.end());
    lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
    return lengths;
  }
};

}  // namespace rescan::testing
