// CPU backend of the ranking metrics (rank/dispatch.hpp contract).
//   Kendall, one long pair (Knight's algorithm): x and y become order-preserving 64-bit keys; an
//   MSD radix sort orders the (x, y) pairs, whose runs give the ties in x and the joint ties; the
//   inversions of the y keys in that order are the discordant pairs. Binary radix partitions count
//   them and y's ties where AVX-512 is there (radix_inversions.hpp), a branch-free bottom-up merge
//   sort elsewhere (its sorted output gives y's ties). O(n log n); the sort's first level, the
//   partitions of long segments and every merge pass are split over the team.
//   Batched: groups in parallel, each on one thread: groups of up to kendall_quadratic_max elements
//   count their pairs directly (O(n^2) in local arrays, no sorting), longer ones take the sort
//   path in per-thread scratch allocated once per call.
//   rankdata and spearman_rho sort positions per group (per-thread scratch); top_order_agreement
//   scans each group once.
// Every result is an exact integer count or computed from them in a fixed order: identical run to
// run and across thread counts.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#include "rescan/core/view.hpp"
#include "rescan/cpu/detail/radix_inversions.hpp"
#include "rescan/cpu/detail/rank_sort.hpp"
#include "rescan/cpu/parallel.hpp"
#include "rescan/rank/detail/group_offsets.hpp"
#include "rescan/rank/detail/kendall_statistics.hpp"
#include "rescan/rank/dispatch.hpp"

namespace rescan::detail {

// Groups up to this size count their pairs directly.
inline constexpr index_t kendall_quadratic_max = 48;

template <class T>
bool is_nan_value(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    return value != value;
  } else {
    (void)value;
    return false;
  }
}

// Scratch of the sort path for groups of up to `capacity` elements: two arrays of 2 * capacity
// words (key pairs, then single keys), left uninitialized (every use writes before it reads).
struct kendall_sort_scratch {
  std::unique_ptr<std::uint64_t[]> pairs, other;
  index_t capacity = 0;

  explicit kendall_sort_scratch(index_t elements = 0) { reserve(elements); }
  void reserve(index_t elements) {
    if (elements <= capacity) return;
    const auto words = 2 * static_cast<std::size_t>(elements);
    pairs.reset(new std::uint64_t[words]);
    other.reset(new std::uint64_t[words]);
    capacity = elements;
  }
};

// The runs of equal values of a sorted sequence, met one element at a time.
struct tie_runs {
  run_totals totals;
  index_t start = 0;

  // Element i > 0: a new value unless it equals element i - 1.
  void next(index_t i, bool same_as_previous) {
    if (!same_as_previous) end_run(i);
  }
  // After all n elements.
  void finish(index_t n) {
    if (n > start) end_run(n);
  }

 private:
  void end_run(index_t end) {
    totals.add_run(static_cast<std::int64_t>(end - start));
    start = end;
  }
};

// The runs of the sorted keys[0, n).
inline run_totals runs_of_sorted(const std::uint64_t* keys, index_t n) {
  tie_runs runs;
  for (index_t i = 1; i < n; ++i) runs.next(i, keys[i] == keys[i - 1]);
  runs.finish(n);
  return runs.totals;
}

// The counts of one pair of vectors by sorting (see the top of this file). The views must hold no NaN.
template <class X, class Y>
kendall_counts count_kendall_sorted(const cpu_team& team, const strided_view<const X, 1>& x,
                                    const strided_view<const Y, 1>& y, kendall_sort_scratch& scratch) {
  const index_t n = x.extent(0);
  scratch.reserve(n);
  std::uint64_t* pairs = scratch.pairs.get();
  kendall_counts counts;
  counts.n = n;
  // 1. (key of x, key of y) pairs sorted: ties in x and joint ties are runs.
  const int parts = parts_for(team, n);
  parallel_for(team.with_threads(parts), parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    for (index_t i = part.begin; i < part.end; ++i)
      store_pair(pairs, i, {std::uint64_t(rank_key(x(i))), std::uint64_t(rank_key(y(i)))});
  });
  msd_sort_pairs(team, n, pairs, scratch.other.get());
  // 2. One pass over them: the runs of x and of (x, y), and y's keys in this order.
  std::uint64_t* y_keys = scratch.other.get();
  tie_runs x_runs, xy_runs;
  for (index_t i = 0; i < n; ++i) {
    if (i > 0) {
      const bool same_x = pairs[2 * i] == pairs[2 * i - 2];
      x_runs.next(i, same_x);
      xy_runs.next(i, same_x && pairs[2 * i + 1] == pairs[2 * i - 1]);
    }
    y_keys[i] = pairs[2 * i + 1];
  }
  x_runs.finish(n);
  xy_runs.finish(n);
  counts.ties_x = x_runs.totals.pairs;
  counts.tie_triples_x = x_runs.totals.triples_value();
  counts.distinct_x = x_runs.totals.distinct;
  counts.ties_xy = xy_runs.totals.pairs;
  // 3. In that order, the pairs are discordant where y's key decreases: count the inversions of
  //    y's keys and their runs of ties, by radix partitions where AVX-512 is there, else while
  //    merge-sorting them.
#if RESCAN_HAS_RADIX_INVERSIONS
  const key_order_counts y_order = count_inversions_by_radix(team, n, y_keys, y_keys + n);
  counts.discordant = y_order.inversions;
  const run_totals& y_runs = y_order.runs;
#else
  counts.discordant = sort_counting_inversions(team, n, y_keys, y_keys + n);
  const run_totals y_runs = runs_of_sorted(y_keys, n);
#endif
  counts.ties_y = y_runs.pairs;
  counts.tie_triples_y = y_runs.triples_value();
  counts.distinct_y = y_runs.distinct;
  counts.concordant = total_pairs(n) - counts.ties_x - counts.ties_y + counts.ties_xy - counts.discordant;
  return counts;
}

template <class X, class Y>
bool any_nan(const strided_view<const X, 1>& x, const strided_view<const Y, 1>& y) {
  if constexpr (std::is_floating_point_v<X> || std::is_floating_point_v<Y>) {
    bool found = false;
    for (index_t i = 0; i < x.extent(0); ++i) found |= is_nan_value(x(i)) | is_nan_value(y(i));
    return found;
  } else {
    return false;
  }
}

// Tau of a short group (n <= kendall_quadratic_max) by its pairs, branch-free: the group is
// copied into local arrays, each pair adds the product of its two signs (P - Q) and its ties.
// Fixed > 0: the group size as a constant (the compiler unrolls the pair loops).
template <int Fixed, class X, class Y>
double short_group_tau(const strided_view<const X, 1>& x, const strided_view<const Y, 1>& y, kendall_variant variant) {
  const index_t n = Fixed > 0 ? Fixed : x.extent(0);
  double xs[kendall_quadratic_max], ys[kendall_quadratic_max];
  bool nan = false;
  for (index_t i = 0; i < n; ++i) {
    xs[i] = double(x(i));
    ys[i] = double(y(i));
    nan |= (xs[i] != xs[i]) | (ys[i] != ys[i]);
  }
  int difference = 0, ties_x = 0, ties_y = 0;
  for (index_t i = 1; i < n; ++i) {
    for (index_t j = 0; j < i; ++j) {
      const int sx = (xs[i] > xs[j]) - (xs[i] < xs[j]), sy = (ys[i] > ys[j]) - (ys[i] < ys[j]);
      difference += sx * sy;
      ties_x += sx == 0;
      ties_y += sy == 0;
    }
  }
  int distinct_x = 0, distinct_y = 0;
  if (variant == kendall_variant::c) {
    for (index_t i = 0; i < n; ++i) {
      bool seen_x = false, seen_y = false;
      for (index_t j = 0; j < i; ++j) {
        seen_x |= xs[j] == xs[i];
        seen_y |= ys[j] == ys[i];
      }
      distinct_x += !seen_x;
      distinct_y += !seen_y;
    }
  }
  return kendall_tau_from(n, difference, ties_x, ties_y, distinct_x, distinct_y, nan, variant);
}

// Tau of one group on one thread: by its pairs when short, by sorting otherwise.
template <class X, class Y>
double group_tau(const strided_view<const X, 1>& x, const strided_view<const Y, 1>& y, kendall_variant variant,
                 kendall_sort_scratch& scratch) {
  const index_t n = x.extent(0);
  switch (n) {  // the common small sizes (CREAM samples 4 to 16 responses per prompt) unrolled
    case 4: return short_group_tau<4>(x, y, variant);
    case 5: return short_group_tau<5>(x, y, variant);
    case 8: return short_group_tau<8>(x, y, variant);
    case 16: return short_group_tau<16>(x, y, variant);
    default:
      if (n <= kendall_quadratic_max) return short_group_tau<0>(x, y, variant);
  }
  kendall_counts counts;
  if (any_nan(x, y)) {
    counts.n = n;
    counts.has_nan = true;
  } else {
    counts = count_kendall_sorted(cpu_team{1, false}, x, y, scratch);
  }
  return kendall_tau_of(counts, variant);
}

// Positions of a group sorted by value, ties by position (a stable order): order[0, n).
template <class T>
void sort_positions(const strided_view<const T, 1>& x, index_t* order) {
  const index_t n = x.extent(0);
  std::iota(order, order + n, index_t(0));
  if (x.stride(0) == 1) {
    const T* values = x.data();
    std::sort(order, order + n, [values](index_t a, index_t b) { return values[a] < values[b] || (values[a] == values[b] && a < b); });
  } else {
    std::sort(order, order + n, [&x](index_t a, index_t b) { return x(a) < x(b) || (x(a) == x(b) && a < b); });
  }
}

// Ranks of one NaN-free group by `method` into rank(i), using order (n positions) as scratch.
template <class T, class Out>
void rank_group(const strided_view<const T, 1>& x, rank_method method, index_t* order, const Out& rank) {
  const index_t n = x.extent(0);
  sort_positions(x, order);
  index_t dense = 0;
  for (index_t start = 0; start < n;) {
    index_t end = start + 1;
    while (end < n && x(order[end]) == x(order[start])) ++end;
    ++dense;
    for (index_t k = start; k < end; ++k) {
      double value = 0;
      switch (method) {
        case rank_method::average: value = 0.5 * double(start + 1 + end); break;
        case rank_method::min: value = double(start + 1); break;
        case rank_method::max: value = double(end); break;
        case rank_method::dense: value = double(dense); break;
        default: value = double(k + 1);
      }
      rank(order[k], value);
    }
    start = end;
  }
}

template <class T>
bool group_has_nan(const strided_view<const T, 1>& x) {
  bool found = false;
  for (index_t i = 0; i < x.extent(0); ++i) found |= is_nan_value(x(i));
  return found;
}

template <>
struct rank_kernels<cpu_t> {
  template <class T, class R>
  static void rankdata(const cpu_t& backend, const strided_view<const T, 2>& x, const strided_view<R, 2>& out,
                       rank_method method) {
    const cpu_team team = team_of(backend);
    const index_t n = x.extent(1);
    std::vector<index_t> scratch(static_cast<std::size_t>(std::min<index_t>(team.threads, x.extent(0)) * n));
    parallel_for(team, x.extent(0), [&](index_t group, int thread) {
      const auto row = x[group];
      const auto ranks = out[group];
      if (group_has_nan(row)) {
        for (index_t i = 0; i < n; ++i) ranks(i) = std::numeric_limits<R>::quiet_NaN();
        return;
      }
      rank_group(row, method, scratch.data() + thread * n, [&](index_t i, double value) { ranks(i) = R(value); });
    });
  }

  template <class X, class Y>
  static rescan::kendall_counts kendall_counts(const cpu_t& backend, const strided_view<const X, 1>& x,
                                               const strided_view<const Y, 1>& y) {
    const index_t n = x.extent(0);
    if (n <= kendall_quadratic_max) return count_kendall_pairs(n, x, y);
    if (any_nan(x, y)) {
      rescan::kendall_counts counts;
      counts.n = n;
      counts.has_nan = true;
      return counts;
    }
    kendall_sort_scratch scratch(n);
    return count_kendall_sorted(team_of(backend), x, y, scratch);
  }

  template <class X, class Y, class R>
  static void kendall_tau_batched(const cpu_t& backend, const strided_view<const X, 2>& x,
                                  const strided_view<const Y, 2>& y, const strided_view<R, 1>& tau,
                                  kendall_variant variant) {
    for_each_group(backend, x.extent(0), x.extent(1), tau, variant,
                   [&](index_t group) { return std::make_pair(x[group], y[group]); });
  }

  template <class X, class Y, class R>
  static void kendall_tau_grouped(const cpu_t& backend, const strided_view<const X, 1>& x,
                                  const strided_view<const Y, 1>& y, const strided_view<const index_t, 1>& offsets,
                                  const strided_view<R, 1>& tau, kendall_variant variant) {
    check_group_offsets("kendall_tau_batched", offsets, x.extent(0));
    index_t longest = 0;
    for (index_t g = 0; g < tau.extent(0); ++g) longest = std::max(longest, offsets(g + 1) - offsets(g));
    for_each_group(backend, tau.extent(0), longest, tau, variant, [&](index_t group) {
      const index_t begin = offsets(group), length = offsets(group + 1) - begin;
      return std::make_pair(x.slice(0, begin, length), y.slice(0, begin, length));
    });
  }

  template <class X, class Y, class R>
  static void spearman_rho(const cpu_t& backend, const strided_view<const X, 2>& x, const strided_view<const Y, 2>& y,
                           const strided_view<R, 1>& rho) {
    const cpu_team team = team_of(backend);
    const index_t n = x.extent(1);
    const auto threads = static_cast<std::size_t>(std::min<index_t>(team.threads, x.extent(0)));
    std::vector<index_t> order(threads * static_cast<std::size_t>(n));
    std::vector<double> ranks(2 * threads * static_cast<std::size_t>(n));
    parallel_for(team, x.extent(0), [&](index_t group, int thread) {
      const auto xg = x[group];
      const auto yg = y[group];
      if (n < 2 || group_has_nan(xg) || group_has_nan(yg)) {
        rho(group) = std::numeric_limits<R>::quiet_NaN();
        return;
      }
      index_t* positions = order.data() + thread * n;
      double* rank_x = ranks.data() + 2 * thread * n;
      double* rank_y = rank_x + n;
      rank_group(xg, rank_method::average, positions, [&](index_t i, double value) { rank_x[i] = value; });
      rank_group(yg, rank_method::average, positions, [&](index_t i, double value) { rank_y[i] = value; });
      // Pearson's correlation of the ranks; both have mean (n + 1) / 2. Sums in position order.
      const double mean = 0.5 * double(n + 1);
      double sxy = 0, sxx = 0, syy = 0;
      for (index_t i = 0; i < n; ++i) {
        const double dx = rank_x[i] - mean, dy = rank_y[i] - mean;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
      }
      rho(group) = R(sxy / std::sqrt(sxx * syy));  // a constant x or y: 0 / 0 = NaN
    });
  }

  template <class X, class Y, class R>
  static void top_order_agreement(const cpu_t& backend, const strided_view<const X, 2>& x,
                                  const strided_view<const Y, 2>& y, const strided_view<R, 1>& best,
                                  const strided_view<R, 1>& worst) {
    const index_t n = x.extent(1);
    parallel_for(team_of(backend), x.extent(0), [&](index_t group) {
      const auto xg = x[group];
      const auto yg = y[group];
      if (n == 0 || group_has_nan(xg) || group_has_nan(yg)) {
        best(group) = worst(group) = std::numeric_limits<R>::quiet_NaN();
        return;
      }
      index_t max_x = 0, min_x = 0, max_y = 0, min_y = 0;
      for (index_t i = 1; i < n; ++i) {
        if (xg(i) > xg(max_x)) max_x = i;
        if (xg(i) < xg(min_x)) min_x = i;
        if (yg(i) > yg(max_y)) max_y = i;
        if (yg(i) < yg(min_y)) min_y = i;
      }
      best(group) = R(max_x == max_y ? 1 : 0);
      worst(group) = R(min_x == min_y ? 1 : 0);
    });
  }

  template <class T>
  static consistency_summary consistency_rate(const cpu_t& backend, const strided_view<const T, 1>& tau,
                                              const strided_view<T, 1>& per_group) {
    (void)backend;
    consistency_summary summary;
    double sum = 0;
    const bool write = per_group.extent(0) > 0;
    for (index_t g = 0; g < tau.extent(0); ++g) {
      const double rate = (double(tau(g)) + 1) / 2;
      if (write) per_group(g) = T(rate);
      if (rate != rate) {
        ++summary.groups_skipped;
      } else {
        ++summary.groups_used;
        sum += rate;
      }
    }
    summary.mean = summary.groups_used > 0 ? sum / double(summary.groups_used) : std::numeric_limits<double>::quiet_NaN();
    return summary;
  }

 private:
  // tau(group) for every group, groups spread over the team; group_views(group) -> (x, y) of it.
  template <class R, class GroupViews>
  static void for_each_group(const cpu_t& backend, index_t groups, index_t longest, const strided_view<R, 1>& tau,
                             kendall_variant variant, const GroupViews& group_views) {
    const cpu_team team = team_of(backend);
    const index_t capacity = longest > kendall_quadratic_max ? longest : 0;
    std::vector<kendall_sort_scratch> scratch(static_cast<std::size_t>(std::min<index_t>(team.threads, groups)));
    for (kendall_sort_scratch& each : scratch) each.reserve(capacity);
    parallel_for(team, groups, [&](index_t group, int thread) {
      const auto views = group_views(group);
      tau(group) = R(group_tau(views.first, views.second, variant, scratch[thread]));
    });
  }
};

}  // namespace rescan::detail
