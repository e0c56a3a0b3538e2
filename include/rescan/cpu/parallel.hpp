// OpenMP glue: the team of threads a cpu_t asks for, a parallel loop over independent items, and
// the floating-point mode every thread of the team runs in. Without OpenMP everything runs on the
// calling thread.
#pragma once

#include <algorithm>

#include "rescan/core/backend.hpp"
#include "rescan/cpu/subnormals.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace rescan::detail {

// What a CPU kernel needs to know of its backend.
struct cpu_team {
  int threads = 1;
  bool flush_subnormals = true;

  cpu_team with_threads(int count) const { return {count, flush_subnormals}; }
};

// backend.threads, or all the threads OpenMP offers when it is 0.
inline cpu_team team_of(const cpu_t& backend) {
#if defined(_OPENMP)
  return {backend.threads > 0 ? backend.threads : omp_get_max_threads(), backend.flush_subnormals};
#else
  return {1, backend.flush_subnormals};
#endif
}

// Calls body(i) for i in [0, count), spread over the team in static contiguous blocks (which
// thread runs an item never changes its result).
template <class Body>
void parallel_for(const cpu_team& team, index_t count, const Body& body) {
  const int used = static_cast<int>(std::min<index_t>(team.threads, count));
  if (used <= 1) {
    const subnormal_mode mode(team.flush_subnormals);
    for (index_t i = 0; i < count; ++i) body(i);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(used)
  {
    const subnormal_mode mode(team.flush_subnormals);
#pragma omp for schedule(static)
    for (index_t i = 0; i < count; ++i) body(i);
  }
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
