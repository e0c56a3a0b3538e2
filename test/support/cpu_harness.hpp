// The test harness of the CPU backend. Test bodies (test/bodies/) are templates over a harness, so
// the same assertions run on every backend: a harness says which backend value to pass and how
// test data reaches the backend's memory and comes back.
//
//   Harness::name                       short name for messages
//   Harness::backend()                  the backend value
//   Harness::upload(std::vector<T>)     -> buffer<T> in backend memory (owning; .data(), .size())
//   Harness::allocate<T>(n)             -> buffer<T> of n elements (contents unspecified)
//   Harness::download(buffer<T>)        -> std::vector<T> on the host (waits for the backend)
//   Harness::boundary_lengths<T>()      row lengths around the backend's chunk or tile sizes
#pragma once

#include <cstddef>
#include <vector>

#include <rescan/rescan.hpp>

namespace rescan::testing {

template <class T>
struct host_buffer {
  std::vector<T> elements;
  T* data() { return elements.data(); }
  const T* data() const { return elements.data(); }
  std::size_t size() const { return elements.size(); }
};

template <int Threads>
struct cpu_harness {
  static constexpr const char* name = Threads == 0 ? "cpu (all threads)" : Threads == 1 ? "cpu (1 thread)" : "cpu (3 threads)";
  static cpu_t backend() { return cpu_t(Threads); }

  template <class T>
  static host_buffer<T> upload(const std::vector<T>& host) {
    return {host};
  }
  template <class T>
  static host_buffer<T> allocate(std::size_t count) {
    return {std::vector<T>(count)};
  }
  template <class T>
  static std::vector<T> download(const host_buffer<T>& buffer) {
    return buffer.elements;
  }
  // Around one thread's chunk and one block of two threads' chunks (cpu/detail/chunked_scan.hpp).
  template <class T>
  static std::vector<index_t> boundary_lengths() {
    const index_t chunk = detail::scan_chunk_length<T>();
    return {chunk - 1, chunk, chunk + 1, 2 * chunk - 1, 2 * chunk + 1, 3 * chunk + 7};
  }
};

using cpu_all_threads = cpu_harness<0>;
using cpu_one_thread = cpu_harness<1>;
using cpu_three_threads = cpu_harness<3>;  // an odd team, more threads than this machine has cores

}  // namespace rescan::testing
