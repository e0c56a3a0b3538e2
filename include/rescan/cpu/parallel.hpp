// OpenMP glue: how many threads a cpu_t asks for, and a parallel loop over independent items.
// Without OpenMP everything runs on the calling thread.
#pragma once

#include <algorithm>

#include "rescan/core/backend.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace rescan::detail {

// Threads a call may use: backend.threads, or all OpenMP offers when it is 0.
inline int thread_count(const cpu_t& backend) {
#if defined(_OPENMP)
  return backend.threads > 0 ? backend.threads : omp_get_max_threads();
#else
  (void)backend;
  return 1;
#endif
}

// Calls body(i) for i in [0, count), spread over at most `threads` threads in static contiguous
// blocks (the assignment of items to threads never changes results).
template <class Body>
void parallel_for(int threads, index_t count, const Body& body) {
  const int used = static_cast<int>(std::min<index_t>(threads, count));
  if (used <= 1) {
    for (index_t i = 0; i < count; ++i) body(i);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(used) schedule(static)
  for (index_t i = 0; i < count; ++i) body(i);
#endif
}

// Index of the calling thread inside parallel_for (0 outside), for per-thread scratch space.
inline int current_thread() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace rescan::detail
