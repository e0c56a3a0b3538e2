// OpenMP glue: the team of threads a cpu_t asks for, a parallel loop over independent items, and
// the floating-point mode every thread of the team runs in. Without OpenMP everything runs on the
// calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <type_traits>

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

// The first exception thrown inside a parallel region, kept to be rethrown on the calling thread
// once the region has ended (an exception must not leave an OpenMP region). After a failure the
// remaining work is skipped, but every thread still reaches every barrier.
class first_exception {
 public:
  template <class Work>
  void run(const Work& work) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      work();
    } catch (...) {
#if defined(_OPENMP)
#pragma omp critical(rescan_first_exception)
#endif
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

// Calls body(i) -- or body(i, thread), thread in [0, team size), for per-thread scratch -- for i in
// [0, count), spread over the team in static contiguous blocks (which thread runs an item never
// changes its result). The first exception a body throws is rethrown here.
template <class Body>
void parallel_for(const cpu_team& team, index_t count, const Body& body) {
  const auto call = [&](index_t i, int thread) {
    if constexpr (std::is_invocable_v<const Body&, index_t, int>) {
      body(i, thread);
    } else {
      (void)thread;
      body(i);
    }
  };
#if defined(_OPENMP)
  const int used = static_cast<int>(std::min<index_t>(team.threads, count));
  if (used > 1) {
    first_exception errors;
#pragma omp parallel num_threads(used)
    {
      const subnormal_mode mode(team.flush_subnormals);
      const int thread = omp_get_thread_num();
#pragma omp for schedule(static)
      for (index_t i = 0; i < count; ++i) errors.run([&] { call(i, thread); });
    }
    errors.rethrow_if_failed();
    return;
  }
#endif
  // One thread (or no OpenMP, whatever team was asked for): every item here, in order.
  const subnormal_mode mode(team.flush_subnormals);
  for (index_t i = 0; i < count; ++i) call(i, 0);
}

}  // namespace rescan::detail
