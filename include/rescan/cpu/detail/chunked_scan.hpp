// Scans of rows, on one thread or split across threads. Everything here is generic over the
// scan's state (carry<T> for inclusive, T for exclusive) through three callables:
//   summarize(begin, end) -> summary        fold of a stretch, independent of what came before
//   combine(state, summary) -> state        the state after a stretch
//   scan(begin, end, state) -> state        writes the stretch's outputs, returns the state after
#pragma once

#include <algorithm>
#include <vector>

#include "rescan/cpu/parallel.hpp"

namespace rescan::detail {

// Elements of one thread's chunk (512 KiB of input): it stays in that core's L2 cache between the
// fold and the scan, so a long row is read from memory once.
template <class T>
constexpr index_t scan_chunk_length() {
  return std::max<index_t>(1024, index_t(512 * 1024) / index_t(sizeof(T)));
}

// One long row split across `threads`: the row is walked in blocks of threads x chunk elements;
// in each block every thread folds its chunk, one thread turns the folds into the carries entering
// each chunk, then every thread scans its chunk from its carry (local folds, carries, fix-up).
template <class State, class Summarize, class Combine, class Scan>
void chunked_row_scan(const cpu_team& team, index_t length, index_t chunk, State state, const Summarize& summarize,
                      const Combine& combine, const Scan& scan) {
  const int threads = team.threads;
  if (threads <= 1 || length <= chunk) {
    const subnormal_mode mode(team.flush_subnormals);
    scan(index_t(0), length, state);
    return;
  }
#if defined(_OPENMP)
  using summary_type = decltype(summarize(index_t(0), index_t(1)));
  std::vector<summary_type> summaries(static_cast<std::size_t>(threads));
  std::vector<State> carries(static_cast<std::size_t>(threads) + 1, state);
  first_exception errors;
#pragma omp parallel num_threads(threads)
  {
    const subnormal_mode mode(team.flush_subnormals);
    // OpenMP may give fewer threads than asked (inside the caller's own parallel region, under
    // OMP_THREAD_LIMIT or OMP_DYNAMIC): the blocks follow the team actually running.
    const int team_size = omp_get_num_threads();
    const int thread = omp_get_thread_num();
    const index_t block = chunk * team_size;
    for (index_t block_begin = 0; block_begin < length; block_begin += block) {
      const index_t begin = std::min(length, block_begin + chunk * thread);
      const index_t end = std::min(length, begin + chunk);
      if (begin < end) errors.run([&] { summaries[thread] = summarize(begin, end); });
#pragma omp barrier
#pragma omp single
      {  // every thread has finished the previous block's scan before it reached the barrier
        errors.run([&] {
          carries[0] = carries[team_size];
          for (int t = 0; t < team_size; ++t) {
            const bool has_elements = block_begin + chunk * t < length;
            carries[t + 1] = has_elements ? combine(carries[t], summaries[t]) : carries[t];
          }
        });
      }  // implicit barrier: the carries are ready
      if (begin < end) errors.run([&] { scan(begin, end, carries[thread]); });
    }
  }
  errors.rethrow_if_failed();
#else
  (void)summarize, (void)combine;
  const subnormal_mode mode(team.flush_subnormals);
  scan(index_t(0), length, state);
#endif
}

}  // namespace rescan::detail
