// Kernels of the ranking metrics. Small groups: one warp per group (grid-stride over groups).
// Groups of up to 64 elements hold them in registers (two per lane) and broadcast element j to
// every lane with a shuffle, so each lane counts its elements' pairs with all earlier ones in
// registers; longer groups read the group from global memory in the same O(n^2) loops. Warp sums
// run in a fixed tree order (results do not depend on scheduling).
// Long pairs (device/device_rank.cuh): key, tie-run and merge-pass kernels around cub's radix sort.
#pragma once

#include <cub/block/block_reduce.cuh>

#include <cstdint>

#include "rescan/core/config.hpp"
#include "rescan/core/view.hpp"
#include "rescan/cuda/detail/elements.cuh"
#include "rescan/rank/detail/kendall_statistics.hpp"
#include "rescan/rank/rank_options.hpp"

namespace rescan::cuda_detail {

inline constexpr int rank_warps_per_block = 8;
inline constexpr int rank_register_max = 64;  // groups up to this size live in registers
inline constexpr unsigned full_warp = 0xffffffffu;

// The groups of the batched forms: fixed (groups, n) rows, or packed groups with offsets.
template <class X, class Y>
struct fixed_groups {
  strided_view<const X, 2> x;
  strided_view<const Y, 2> y;
  __device__ index_t count() const { return x.extent(0); }
  __device__ index_t size(index_t) const { return x.extent(1); }
  __device__ double x_at(index_t g, index_t i) const { return double(x(g, i)); }
  __device__ double y_at(index_t g, index_t i) const { return double(y(g, i)); }
};

template <class X, class Y>
struct offset_groups {
  strided_view<const X, 1> x;
  strided_view<const Y, 1> y;
  strided_view<const index_t, 1> offsets;
  __device__ index_t count() const { return offsets.extent(0) - 1; }
  __device__ index_t size(index_t g) const { return offsets(g + 1) - offsets(g); }
  __device__ double x_at(index_t g, index_t i) const { return double(x(offsets(g) + i)); }
  __device__ double y_at(index_t g, index_t i) const { return double(y(offsets(g) + i)); }
};

template <class V>
__device__ V warp_sum(V value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(full_warp, value, offset);
  return value;
}

__device__ inline kendall_counts warp_sum_counts(kendall_counts c) {
  kendall_counts total;
  total.n = warp_sum<long long>(c.n);
  total.concordant = warp_sum<long long>(c.concordant);
  total.discordant = warp_sum<long long>(c.discordant);
  total.ties_x = warp_sum<long long>(c.ties_x);
  total.ties_y = warp_sum<long long>(c.ties_y);
  total.ties_xy = warp_sum<long long>(c.ties_xy);
  total.distinct_x = warp_sum<long long>(c.distinct_x);
  total.distinct_y = warp_sum<long long>(c.distinct_y);
  total.tie_triples_x = warp_sum(c.tie_triples_x);
  total.tie_triples_y = warp_sum(c.tie_triples_y);
  total.has_nan = __any_sync(full_warp, c.has_nan);
  return total;
}

// The counts of group g, summed over the warp (every lane gets them).
template <class Groups>
__device__ kendall_counts warp_kendall_counts(const Groups& groups, index_t g, int lane) {
  const index_t n = groups.size(g);
  kendall_counts part;
  if (n <= rank_register_max) {
    const bool has0 = lane < n, has1 = lane + 32 < n;
    const double x0 = has0 ? groups.x_at(g, lane) : 0, y0 = has0 ? groups.y_at(g, lane) : 0;
    const double x1 = has1 ? groups.x_at(g, lane + 32) : 0, y1 = has1 ? groups.y_at(g, lane + 32) : 0;
    long long earlier_x0 = 0, earlier_y0 = 0, earlier_x1 = 0, earlier_y1 = 0;
    for (int j = 0; j < n; ++j) {
      const double xj = __shfl_sync(full_warp, j < 32 ? x0 : x1, j & 31);
      const double yj = __shfl_sync(full_warp, j < 32 ? y0 : y1, j & 31);
      if (has0 && j < lane) {
        detail::add_kendall_pair(part, xj, yj, x0, y0);
        earlier_x0 += xj == x0;
        earlier_y0 += yj == y0;
      }
      if (has1 && j < lane + 32) {
        detail::add_kendall_pair(part, xj, yj, x1, y1);
        earlier_x1 += xj == x1;
        earlier_y1 += yj == y1;
      }
    }
    if (has0) detail::add_kendall_element(part, earlier_x0, earlier_y0, x0 != x0 || y0 != y0);
    if (has1) detail::add_kendall_element(part, earlier_x1, earlier_y1, x1 != x1 || y1 != y1);
  } else {
    for (index_t i = lane; i < n; i += 32) {
      const double xi = groups.x_at(g, i), yi = groups.y_at(g, i);
      long long earlier_x = 0, earlier_y = 0;
      for (index_t j = 0; j < i; ++j) {
        const double xj = groups.x_at(g, j), yj = groups.y_at(g, j);
        detail::add_kendall_pair(part, xj, yj, xi, yi);
        earlier_x += xj == xi;
        earlier_y += yj == yi;
      }
      detail::add_kendall_element(part, earlier_x, earlier_y, xi != xi || yi != yi);
    }
  }
  return warp_sum_counts(part);
}

// tau(g) for every group; or, when counts_out is given, the counts of group 0 only.
template <class Groups, class R>
__global__ void __launch_bounds__(32 * rank_warps_per_block)
    warp_kendall_kernel(Groups groups, strided_view<R, 1> tau, kendall_variant variant, kendall_counts* counts_out) {
  const int lane = threadIdx.x & 31;
  const index_t warps = index_t(gridDim.x) * rank_warps_per_block;
  for (index_t g = index_t(blockIdx.x) * rank_warps_per_block + threadIdx.x / 32; g < groups.count(); g += warps) {
    const kendall_counts counts = warp_kendall_counts(groups, g, lane);
    if (lane != 0) continue;
    if (counts_out != nullptr) {
      *counts_out = counts;
    } else {
      tau(g) = R(detail::kendall_tau_of(counts, variant));
    }
  }
}

// Does a group hold a NaN? (every lane gets the answer)
template <class Row>
__device__ bool warp_any_nan(const Row& row, index_t n, int lane) {
  bool found = false;
  for (index_t i = lane; i < n; i += 32) {
    const double v = double(row(i));
    found = found || v != v;
  }
  return __any_sync(full_warp, found);
}

// first[g, i] = 1 when no earlier element of row g equals element i (dense ranks count these).
template <class T>
__global__ void __launch_bounds__(32 * rank_warps_per_block)
    first_occurrence_kernel(strided_view<const T, 2> x, std::uint8_t* first) {
  const int lane = threadIdx.x & 31;
  const index_t n = x.extent(1), warps = index_t(gridDim.x) * rank_warps_per_block;
  for (index_t g = index_t(blockIdx.x) * rank_warps_per_block + threadIdx.x / 32; g < x.extent(0); g += warps) {
    for (index_t i = lane; i < n; i += 32) {
      bool earlier = false;
      for (index_t j = 0; j < i && !earlier; ++j) earlier = x(g, j) == x(g, i);
      first[g * n + i] = earlier ? 0 : 1;
    }
  }
}

// Ranks by counting, per element: smaller ones, equal ones (before it), distinct smaller values.
template <class T, class R>
__global__ void __launch_bounds__(32 * rank_warps_per_block)
    rankdata_kernel(strided_view<const T, 2> x, strided_view<R, 2> out, rank_method method, const std::uint8_t* first) {
  const int lane = threadIdx.x & 31;
  const index_t n = x.extent(1), warps = index_t(gridDim.x) * rank_warps_per_block;
  for (index_t g = index_t(blockIdx.x) * rank_warps_per_block + threadIdx.x / 32; g < x.extent(0); g += warps) {
    const auto row = x[g];
    const bool nan = warp_any_nan(row, n, lane);
    for (index_t i = lane; i < n; i += 32) {
      if (nan) {
        out(g, i) = R(0) / R(0);
        continue;
      }
      const T value = row(i);
      index_t less = 0, equal = 0, equal_before = 0, distinct_less = 0;
      for (index_t j = 0; j < n; ++j) {
        const T other = row(j);
        if (other < value) {
          ++less;
          if (first != nullptr) distinct_less += first[g * n + j];
        } else if (other == value) {
          ++equal;
          equal_before += j < i;
        }
      }
      double rank = 0;
      switch (method) {
        case rank_method::average: rank = double(less) + 0.5 * double(equal + 1); break;
        case rank_method::min: rank = double(less + 1); break;
        case rank_method::max: rank = double(less + equal); break;
        case rank_method::dense: rank = double(distinct_less + 1); break;
        default: rank = double(less + equal_before + 1);
      }
      out(g, i) = R(rank);
    }
  }
}

// The average rank of row(i) within its row.
template <class Row>
__device__ double average_rank(const Row& row, index_t n, index_t i) {
  const auto value = row(i);
  index_t less = 0, equal = 0;
  for (index_t j = 0; j < n; ++j) {
    less += row(j) < value;
    equal += row(j) == value;
  }
  return double(less) + 0.5 * double(equal + 1);
}

template <class X, class Y, class R>
__global__ void __launch_bounds__(32 * rank_warps_per_block)
    spearman_kernel(strided_view<const X, 2> x, strided_view<const Y, 2> y, strided_view<R, 1> rho) {
  const int lane = threadIdx.x & 31;
  const index_t n = x.extent(1), warps = index_t(gridDim.x) * rank_warps_per_block;
  for (index_t g = index_t(blockIdx.x) * rank_warps_per_block + threadIdx.x / 32; g < x.extent(0); g += warps) {
    const auto xg = x[g];
    const auto yg = y[g];
    const bool nan = warp_any_nan(xg, n, lane) || warp_any_nan(yg, n, lane);
    const double mean = 0.5 * double(n + 1);
    double sxy = 0, sxx = 0, syy = 0;
    if (!nan) {
      for (index_t i = lane; i < n; i += 32) {
        const double dx = average_rank(xg, n, i) - mean, dy = average_rank(yg, n, i) - mean;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
      }
    }
    sxy = warp_sum(sxy);
    sxx = warp_sum(sxx);
    syy = warp_sum(syy);
    if (lane == 0) rho(g) = (nan || n < 2) ? R(0) / R(0) : R(sxy / sqrt(sxx * syy));
  }
}

// (value, index) of the first maximum (sign = 1) or minimum (sign = -1) of a row, over the warp.
template <class Row>
__device__ index_t warp_first_extreme(const Row& row, index_t n, int lane, double sign) {
  double best = 0;
  index_t at = -1;
  for (index_t i = lane; i < n; i += 32) {
    const double v = sign * double(row(i));
    if (at < 0 || v > best) {
      best = v;
      at = i;
    }
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const double other = __shfl_xor_sync(full_warp, best, offset);
    const index_t other_at = __shfl_xor_sync(full_warp, at, offset);
    if (other_at >= 0 && (at < 0 || other > best || (other == best && other_at < at))) {
      best = other;
      at = other_at;
    }
  }
  return at;
}

template <class X, class Y, class R>
__global__ void __launch_bounds__(32 * rank_warps_per_block)
    top_order_kernel(strided_view<const X, 2> x, strided_view<const Y, 2> y, strided_view<R, 1> best,
                     strided_view<R, 1> worst) {
  const int lane = threadIdx.x & 31;
  const index_t n = x.extent(1), warps = index_t(gridDim.x) * rank_warps_per_block;
  for (index_t g = index_t(blockIdx.x) * rank_warps_per_block + threadIdx.x / 32; g < x.extent(0); g += warps) {
    const auto xg = x[g];
    const auto yg = y[g];
    const bool undefined = n == 0 || warp_any_nan(xg, n, lane) || warp_any_nan(yg, n, lane);
    const index_t max_x = warp_first_extreme(xg, n, lane, 1.0), max_y = warp_first_extreme(yg, n, lane, 1.0);
    const index_t min_x = warp_first_extreme(xg, n, lane, -1.0), min_y = warp_first_extreme(yg, n, lane, -1.0);
    if (lane != 0) continue;
    best(g) = undefined ? R(0) / R(0) : R(max_x == max_y ? 1 : 0);
    worst(g) = undefined ? R(0) / R(0) : R(min_x == min_y ? 1 : 0);
  }
}

// ---- consistency_rate: per-group rates, then one block sums them in a fixed order ----

template <class T>
__global__ void consistency_per_group_kernel(strided_view<const T, 1> tau, strided_view<T, 1> per_group) {
  for (index_t g = blockIdx.x * index_t(blockDim.x) + threadIdx.x; g < tau.extent(0); g += index_t(gridDim.x) * blockDim.x)
    per_group(g) = T((double(tau(g)) + 1) / 2);
}

struct consistency_partial {
  double sum;
  long long used;
};

struct consistency_partial_sum {
  __device__ consistency_partial operator()(const consistency_partial& a, const consistency_partial& b) const {
    return {a.sum + b.sum, a.used + b.used};
  }
};

inline constexpr int consistency_threads = 256;

template <class T>
__global__ void __launch_bounds__(consistency_threads)
    consistency_sum_kernel(strided_view<const T, 1> tau, consistency_partial* result) {
  consistency_partial mine{0, 0};
  for (index_t g = threadIdx.x; g < tau.extent(0); g += consistency_threads) {
    const double rate = (double(tau(g)) + 1) / 2;
    if (rate == rate) {
      mine.sum += rate;
      ++mine.used;
    }
  }
  using block_reduce = cub::BlockReduce<consistency_partial, consistency_threads>;
  __shared__ typename block_reduce::TempStorage temp;
  const consistency_partial total = block_reduce(temp).Reduce(mine, consistency_partial_sum{});
  if (threadIdx.x == 0) *result = total;
}

// ---- the long-pair path ----

// The ascending sort key of a value, widened to 64 bits (NaN never reaches it).
template <class T>
__device__ std::uint64_t ascending_key(T value) {
  return std::uint64_t(~descending_key<T>::of(value) & ~typename descending_key<T>::type(0));
}

template <class X, class Y>
__global__ void any_nan_kernel(strided_view<const X, 1> x, strided_view<const Y, 1> y, int* found) {
  bool nan = false;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < x.extent(0); i += index_t(gridDim.x) * blockDim.x) {
    const double a = double(x(i)), b = double(y(i));
    nan = nan || a != a || b != b;
  }
  if (nan) atomicOr(found, 1);
}

// keys[i] = key of y(i), positions[i] = i.
template <class Y>
__global__ void y_keys_kernel(strided_view<const Y, 1> y, std::uint64_t* keys, std::uint32_t* positions) {
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < y.extent(0); i += index_t(gridDim.x) * blockDim.x) {
    keys[i] = ascending_key(y(i));
    positions[i] = std::uint32_t(i);
  }
}

// heads[i] = 1 where a run of equal keys starts (the inclusive sum minus one is the dense rank).
template <class Key>
__global__ void run_heads_kernel(const Key* keys, index_t n, std::uint32_t* heads) {
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < n; i += index_t(gridDim.x) * blockDim.x)
    heads[i] = (i == 0 || keys[i] != keys[i - 1]) ? 1u : 0u;
}

// In y order: x's key of the element, and y's dense rank (inclusive head sum - 1).
template <class X>
__global__ void x_keys_kernel(strided_view<const X, 1> x, const std::uint32_t* positions,
                              const std::uint32_t* y_rank_plus_one, std::uint64_t* keys, std::uint32_t* y_rank) {
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < x.extent(0); i += index_t(gridDim.x) * blockDim.x) {
    keys[i] = ascending_key(x(positions[i]));
    y_rank[i] = y_rank_plus_one[i] - 1;
  }
}

// (x rank, y rank) pairs of the (x, y)-sorted sequence, for the joint ties.
template <class Rank>
__global__ void joint_keys_kernel(const Rank* x_rank_plus_one, const Rank* y_rank, index_t n, std::uint64_t* joint) {
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < n; i += index_t(gridDim.x) * blockDim.x)
    joint[i] = (std::uint64_t(x_rank_plus_one[i]) << 32) | y_rank[i];
}

// Sums over the runs of equal values: pairs C(t, 2) and triples C(t, 3) of a run of length t.
struct tie_sums {
  long long pairs;
  double triples;
};
struct tie_sums_of_run {
  __host__ __device__ tie_sums operator()(std::uint32_t t) const {
    const double d = double(t);
    return {(long long)(t) * ((long long)(t)-1) / 2, d * (d - 1) * (d - 2) / 6};
  }
};
struct tie_sums_plus {
  __host__ __device__ tie_sums operator()(const tie_sums& a, const tie_sums& b) const {
    return {a.pairs + b.pairs, a.triples + b.triples};
  }
};

inline constexpr int merge_threads = 256;

// One bottom-up merge pass of width w (runs [s, s + w) and [s + w, s + 2w) sorted): each element
// finds its place by binary search in the other run (ties: left first); every right element adds
// the left elements greater than it to the inversion count (64-bit integer atomics: exact).
template <class Rank>
__global__ void __launch_bounds__(merge_threads)
    merge_pass_kernel(const Rank* from, Rank* to, index_t n, index_t width, unsigned long long* inversions) {
  unsigned long long mine = 0;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < n; i += index_t(gridDim.x) * blockDim.x) {
    const index_t start = i / (2 * width) * (2 * width);
    const index_t nl = min(width, n - start), nr = max(index_t(0), min(width, n - start - width));
    const Rank v = from[i];
    const Rank* left = from + start;
    const Rank* right = from + start + nl;
    if (i - start < nl) {  // left element: placed after the right elements smaller than it
      index_t low = 0, high = nr;
      while (low < high) {
        const index_t mid = (low + high) / 2;
        if (right[mid] < v) low = mid + 1; else high = mid;
      }
      to[i + low] = v;
    } else {  // right element: placed after the left elements not greater than it
      index_t low = 0, high = nl;
      while (low < high) {
        const index_t mid = (low + high) / 2;
        if (left[mid] <= v) low = mid + 1; else high = mid;
      }
      to[start + (i - start - nl) + low] = v;
      mine += (unsigned long long)(nl - low);
    }
  }
  using block_reduce = cub::BlockReduce<unsigned long long, merge_threads>;
  __shared__ typename block_reduce::TempStorage temp;
  const unsigned long long block_total = block_reduce(temp).Sum(mine);
  if (threadIdx.x == 0 && block_total != 0) atomicAdd(inversions, block_total);
}

}  // namespace rescan::cuda_detail
