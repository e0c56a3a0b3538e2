// The sequential scan of one stretch of a row, in scan order, and the fold that summarizes a
// stretch for the parallel (chunked) scan. Both are written once for every operator, element
// access and segment description; the kernels in cpu/scan.hpp compose them.
#pragma once

#include "rescan/core/config.hpp"

namespace rescan::detail {

// The value carried between elements: absent before the first element of an inclusive scan
// (user operators need not have an identity) and right after a segment start.
template <class T>
struct carry {
  T value{};
  bool present = false;
};

// Inclusive scan of positions [begin, end): out_s = carry ∘ x_b ∘ ... ∘ x_s, restarting (no
// carry) where a segment starts. load(s) reads x_s; store(s, v) writes out_s. Returns the carry.
template <class T, class Op, class Load, class Store, class Cursor>
carry<T> inclusive_stretch(index_t begin, index_t end, carry<T> running, const Op& op, const Load& load,
                           const Store& store, Cursor cursor) {
  for (index_t s = begin; s < end; ++s) {
    const T x = load(s);
    running.value = (running.present && !cursor(s)) ? op(running.value, x) : x;
    running.present = true;
    store(s, running.value);
  }
  return running;
}

// Exclusive scan of positions [begin, end): out_s = running before x_s; a segment start resets the
// running value to init first. Returns the running value after end.
template <class T, class Op, class Load, class Store, class Cursor>
T exclusive_stretch(index_t begin, index_t end, T running, const T& init, const Op& op, const Load& load,
                    const Store& store, Cursor cursor) {
  for (index_t s = begin; s < end; ++s) {
    if (cursor(s)) running = init;
    const T x = load(s);
    store(s, running);
    running = op(running, x);
  }
  return running;
}

// Summary of a stretch for the chunked scan: the fold of its elements after its last segment
// start (all of them when none starts inside), and whether one starts inside.
template <class T>
struct stretch_summary {
  T fold{};
  bool restarts = false;
};

template <class T, class Op, class Load, class Cursor>
stretch_summary<T> summarize_stretch(index_t begin, index_t end, const Op& op, const Load& load, Cursor cursor) {
  stretch_summary<T> summary;
  bool present = false;
  for (index_t s = begin; s < end; ++s) {
    const T x = load(s);
    if (cursor(s)) {
      summary.fold = x;
      summary.restarts = true;
    } else {
      summary.fold = present ? op(summary.fold, x) : x;
    }
    present = true;
  }
  return summary;
}

// The carry after a stretch, from the carry before it and the stretch's summary.
template <class T, class Op>
carry<T> carry_after(const carry<T>& before, const stretch_summary<T>& summary, const Op& op) {
  if (summary.restarts || !before.present) return {summary.fold, true};
  return {op(before.value, summary.fold), true};
}

// The exclusive scan's running value after a stretch (a restart begins again from init).
template <class T, class Op>
T running_after(const T& before, const T& init, const stretch_summary<T>& summary, const Op& op) {
  return op(summary.restarts ? init : before, summary.fold);
}

}  // namespace rescan::detail
