// Copies from global to shared memory that do not pass through registers (cp.async, sm_80 and
// later), so a block can fetch its next tile while it computes on the current one:
//   async_copy<Bytes>(to, from)   one 4-, 8- or 16-byte word, both addresses aligned to Bytes;
//   async_copy_commit()           closes the group of copies this thread issued since the last one;
//   async_copy_wait<Pending>()    waits until at most Pending of this thread's groups are in flight.
// A copy is visible to other threads after the wait and a barrier (__syncthreads), like a store.
// Before sm_80 the copy is a plain load and store, and committing and waiting do nothing.
#pragma once

namespace rescan::cuda_detail {

template <int Bytes>
__device__ inline void async_copy(void* to, const void* from) {
  static_assert(Bytes == 4 || Bytes == 8 || Bytes == 16, "cp.async copies 4, 8 or 16 bytes");
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const auto shared = static_cast<unsigned>(__cvta_generic_to_shared(to));
  if constexpr (Bytes == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared), "l"(from) : "memory");
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2;\n" ::"r"(shared), "l"(from), "n"(Bytes) : "memory");
  }
#else
  struct word {
    alignas(Bytes) unsigned char bytes[Bytes];
  };
  *static_cast<word*>(to) = *static_cast<const word*>(from);
#endif
}

__device__ inline void async_copy_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

template <int Pending>
__device__ inline void async_copy_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
#endif
}

}  // namespace rescan::cuda_detail
