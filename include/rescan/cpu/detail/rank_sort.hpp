// The sorting machinery of the CPU ranking kernels: order-preserving unsigned keys, an MSD radix
// sort of key pairs (its short ranges: short_pair_sort.hpp), and a merge sort that counts
// inversions (the portable path; AVX-512 builds count them by radix_inversions.hpp). Both run on
// a team of threads with fixed splits, so their results (integers) never depend on the thread
// count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "rescan/core/view.hpp"
#include "rescan/cpu/detail/short_pair_sort.hpp"
#include "rescan/cpu/parallel.hpp"

namespace rescan::detail {

// The unsigned key type of an element type: 32 bits up to 4-byte types, else 64.
template <class T>
using rank_key_t = std::conditional_t<(sizeof(T) <= 4), std::uint32_t, std::uint64_t>;

// An unsigned key with the order of the values: keys compare as the values do, equal values (-0.0
// and +0.0 included) give equal keys. NaN is never keyed (the kernels check for it first).
template <class T>
rank_key_t<T> rank_key(T value) {
  using K = rank_key_t<T>;
  constexpr K sign = K(1) << (8 * sizeof(K) - 1);
  if constexpr (std::is_floating_point_v<T>) {
    using F = std::conditional_t<sizeof(K) == 4, float, double>;
    const F widened = F(value) + F(0);  // -0.0 + 0.0 = +0.0
    K bits;
    std::memcpy(&bits, &widened, sizeof(bits));
    return (bits & sign) ? K(~bits) : K(bits | sign);
  } else if constexpr (std::is_signed_v<T>) {
    using S = std::make_signed_t<K>;
    return K(S(value)) ^ sign;
  } else {
    return K(value);
  }
}

inline constexpr int radix_bits = 11;
inline constexpr std::size_t radix_buckets = std::size_t(1) << radix_bits;
inline constexpr index_t short_range_max = 24;

// Totals over runs of equal values: tied pairs, C(length, 3) summed over the runs (the variance of
// tau needs it), distinct values. The sum of C(length, 3) is exact where the compiler has 128-bit
// integers, so that it does not depend on the order in which threads meet the runs.
struct run_totals {
  std::int64_t pairs = 0, distinct = 0;
#if defined(__SIZEOF_INT128__)
  unsigned __int128 triples = 0;
#else
  double triples = 0;
#endif

  void add_run(std::int64_t length) {
    if (length > 1) {  // no arithmetic for a value without ties
      pairs += length * (length - 1) / 2;
#if defined(__SIZEOF_INT128__)
      triples += static_cast<unsigned __int128>(length * (length - 1) / 2) * std::uint64_t(length - 2) / 3;
#else
      triples += double(length) * double(length - 1) * double(length - 2) / 6;
#endif
    }
    ++distinct;
  }
  void add(const run_totals& other) {
    pairs += other.pairs;
    distinct += other.distinct;
    triples += other.triples;
  }
  double triples_value() const { return double(triples); }
};

// Below this many keys a thread, the sort, the key passes and the radix partitions run on fewer
// threads (a fork and join costs more than the work it shares).
inline constexpr index_t keys_per_thread_min = 65536;

// How many threads of the team share a pass over n keys: at least one.
inline int parts_for(const cpu_team& team, index_t n) {
  return static_cast<int>(std::max<index_t>(1, std::min<index_t>(team.threads, n / keys_per_thread_min)));
}

// [begin, end) of part t of n items split into `parts` contiguous parts.
inline index_t part_begin(index_t n, int parts, int t) { return index_t(n * t / parts); }

struct index_range {
  index_t begin, end;
};
// (Loops run over a range held in locals: stores through 64-bit key pointers may alias n, which
// would make the compiler divide again on every iteration.)
inline index_range part_range(index_t n, int parts, index_t t) {
  return {part_begin(n, parts, int(t)), part_begin(n, parts, int(t) + 1)};
}

// The digit of a key at a level: the radix_bits (or fewer) bits below the highest bit where the
// range's keys differ (the bits above it are the same for every key of the range).
struct radix_digit {
  int shift = 0;
  std::uint64_t mask = 0;
  // `bits` digit bits at most: fewer for short ranges (about 4 elements a bucket), whose histogram
  // would otherwise cost more than their elements.
  static radix_digit of(std::uint64_t low, std::uint64_t high, index_t n) {
    int top = 63;
    while (((low ^ high) >> top) == 0) --top;
    int bits = 3;
    while (bits < radix_bits && (index_t(4) << bits) < n) ++bits;
    radix_digit digit;
    digit.shift = std::max(0, top + 1 - bits);
    digit.mask = (std::uint64_t(1) << (top + 1 - digit.shift)) - 1;
    return digit;
  }
  std::size_t operator()(std::uint64_t key) const { return static_cast<std::size_t>((key >> shift) & mask); }
  std::size_t buckets() const { return static_cast<std::size_t>(mask) + 1; }
};

// MSD radix sort of the pairs data[0, n) by (first, second), tmp (n pairs) as scratch; the result
// ends in data. Each level skips the bits every key of the range shares (found from its min and
// max) and splits on the next radix_bits, so keys from a continuous distribution are in order
// after about two levels whatever their scale; a range whose first keys are all equal (a tie in x)
// goes on with the second keys. Short ranges are sorted directly (short_pair_sort.hpp). Equal
// pairs are identical, so the result does not depend on how ranges are shared between threads.
// `counts` has room for the histograms of this level and those below it (msd_histogram_entries).
template <bool OnSecond = false>
void msd_sort_range(std::uint64_t* data, std::uint64_t* tmp, index_t n, index_t* counts);

// Bucket [begin, begin + size) of a level, scattered into tmp, sorted into data (short buckets in
// one step, longer ones copied back and split further while still in cache).
template <bool OnSecond = false>
void sort_bucket(std::uint64_t* data, std::uint64_t* tmp, index_t begin, index_t size, index_t* counts) {
  if (size <= 1) {
    if (size == 1) store_pair(data, begin, load_pair(tmp, begin));
    return;
  }
  if (size <= short_range_max) {
    sort_short_pairs<OnSecond>(tmp + 2 * begin, size, data + 2 * begin);
    return;
  }
  std::copy(tmp + 2 * begin, tmp + 2 * (begin + size), data + 2 * begin);
  msd_sort_range<OnSecond>(data + 2 * begin, tmp + 2 * begin, size, counts);
}

template <bool OnSecond>
void msd_sort_range(std::uint64_t* data, std::uint64_t* tmp, index_t n, index_t* counts) {
  if (n <= short_range_max) {
    insertion_sort_pairs<OnSecond>(data, n, data);
    return;
  }
  constexpr int word = OnSecond ? 1 : 0;
  std::uint64_t low = data[word], high = low;
  for (index_t i = 1; i < n; ++i) {
    low = std::min(low, data[2 * i + word]);
    high = std::max(high, data[2 * i + word]);
  }
  if (low == high) {
    if constexpr (!OnSecond) msd_sort_range<true>(data, tmp, n, counts);
    return;
  }
  const radix_digit digit = radix_digit::of(low, high, n);
  const std::size_t used = digit.buckets();
  index_t* ends = counts;
  std::fill(ends, ends + used, 0);
  for (index_t i = 0; i < n; ++i) ++ends[digit(data[2 * i + word])];
  index_t running = 0;
  for (std::size_t b = 0; b < used; ++b) {  // counts -> starts
    const index_t count = ends[b];
    ends[b] = running;
    running += count;
  }
  for (index_t i = 0; i < n; ++i) store_pair(tmp, ends[digit(data[2 * i + word])]++, load_pair(data, i));
  // ends[b] is now the end of bucket b (and the start of bucket b + 1).
  for (std::size_t b = 0; b < used; ++b) {
    const index_t begin = b == 0 ? 0 : ends[b - 1];
    sort_bucket<OnSecond>(data, tmp, begin, ends[b] - begin, counts + used);
  }
}

// The histograms along one recursion path: a level of b digit bits takes 2^b entries and leaves
// its bits behind, so a path through the 64 bits of each key word takes at most 5 * 2048 + 512
// entries a word (short ranges use fewer bits a level, and so more levels: the levels themselves
// are no bound).
inline constexpr std::size_t msd_histogram_entries = 2 * (5 * radix_buckets + 512);

// The same on a team: the first level's histogram and scatter are split over the threads, then
// each thread sorts the top-level buckets that start in its share of [0, n).
inline void msd_sort_pairs(const cpu_team& team, index_t n, std::uint64_t* data, std::uint64_t* tmp) {
  const int parts = parts_for(team, n);
  std::vector<index_t> level_counts(static_cast<std::size_t>(parts) * msd_histogram_entries);
  if (parts == 1) {
    msd_sort_range(data, tmp, n, level_counts.data());
    return;
  }
  const cpu_team sort_team = team.with_threads(parts);
  std::vector<std::uint64_t> lows(static_cast<std::size_t>(parts)), highs(static_cast<std::size_t>(parts));
  parallel_for(sort_team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    std::uint64_t low = ~std::uint64_t(0), high = 0;
    for (index_t i = part.begin; i < part.end; ++i) {
      low = std::min(low, data[2 * i]);
      high = std::max(high, data[2 * i]);
    }
    lows[static_cast<std::size_t>(t)] = low;
    highs[static_cast<std::size_t>(t)] = high;
  });
  const std::uint64_t low = *std::min_element(lows.begin(), lows.end());
  const std::uint64_t high = *std::max_element(highs.begin(), highs.end());
  if (low == high) {
    msd_sort_range(data, tmp, n, level_counts.data());
    return;
  }
  const radix_digit digit = radix_digit::of(low, high, n);
  const std::size_t used = digit.buckets();
  std::vector<index_t> offsets(static_cast<std::size_t>(parts) * used, 0), starts(used + 1, 0);
  parallel_for(sort_team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    index_t* h = offsets.data() + static_cast<std::size_t>(t) * used;
    for (index_t i = part.begin; i < part.end; ++i) ++h[digit(data[2 * i])];
  });
  index_t running = 0;
  for (std::size_t b = 0; b < used; ++b) {  // bucket-major, then part: the scatter is stable
    starts[b] = running;
    for (int t = 0; t < parts; ++t) {
      index_t& offset = offsets[static_cast<std::size_t>(t) * used + b];
      const index_t count = offset;
      offset = running;
      running += count;
    }
  }
  starts[used] = n;
  parallel_for(sort_team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    index_t* offset = offsets.data() + static_cast<std::size_t>(t) * used;
    for (index_t i = part.begin; i < part.end; ++i)
      store_pair(tmp, offset[digit(data[2 * i])]++, load_pair(data, i));
  });
  parallel_for(sort_team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    index_t* counts = level_counts.data() + static_cast<std::size_t>(t) * msd_histogram_entries;
    for (std::size_t b = 0; b < used; ++b) {
      const index_t begin = starts[b], size = starts[b + 1] - begin;
      if (begin >= part.begin && begin < part.end) sort_bucket(data, tmp, begin, size, counts);
    }
  });
}

// How many of the first k outputs of the merge of left (length nl) and right (length nr) come
// from left, when equal values take left first (so they never count as inversions).
template <class V>
index_t merge_split(const V* left, index_t nl, const V* right, index_t nr, index_t k) {
  index_t low = std::max<index_t>(0, k - nr), high = std::min(k, nl);
  while (low < high) {  // the smallest i with right[k - i - 1] < left[i] (or i = min(k, nl))
    const index_t i = low + (high - low) / 2;
    if (right[k - i - 1] < left[i]) {
      high = i;
    } else {
      low = i + 1;
    }
  }
  return low;
}

// A merge of left and right (equal values: left first) producing the outputs [begin, end) with two
// cursors, one forward from begin and one backward from end, meeting at the middle.
template <class V>
struct merge_part {
  index_t i, j, k;     // forward: the next left, right and output positions
  index_t bi, bj, bk;  // backward: one past them
  index_t middle;

  // How many steps both cursors can take without running out of a run or past the middle.
  index_t free_steps(index_t nl, index_t nr) const {
    return std::min(std::min(middle - k, std::min(nl - i, nr - j)), std::min(bk - middle, std::min(bi, bj)));
  }
};

// Outputs [k0, k1) of the merge of left and right into out + k0; returns the inversions met:
// each right element placed before left elements counts them (nl - i, i = left elements placed
// before it). The range is cut into Parts parts, each merged by a forward and a backward cursor
// (2 * Parts independent dependency chains in one loop: a merge step otherwise waits on the
// previous step's loads). The steps are branch-free (selects, not jumps: comparisons of random
// data are unpredictable) and each inner run is sized so that no bounds check is needed.
template <class V, int Parts = 2>
std::int64_t merge_counting(const V* left, index_t nl, const V* right, index_t nr, index_t k0, index_t k1, V* out) {
  merge_part<V> part[Parts];
  index_t split = merge_split(left, nl, right, nr, k0);
  for (int p = 0; p < Parts; ++p) {
    const index_t begin = k0 + (k1 - k0) * p / Parts, end = k0 + (k1 - k0) * (p + 1) / Parts;
    const index_t end_split = merge_split(left, nl, right, nr, end);
    part[p] = {split, begin - split, begin, end_split, end - end_split, end, begin + (end - begin) / 2};
    split = end_split;
  }
  std::int64_t inversions = 0;
  for (;;) {
    index_t steps = part[0].free_steps(nl, nr);
    for (int p = 1; p < Parts; ++p) steps = std::min(steps, part[p].free_steps(nl, nr));
    if (steps <= 0) break;
    for (index_t step = 0; step < steps; ++step) {
      for (int p = 0; p < Parts; ++p) {
        merge_part<V>& c = part[p];
        const V l = left[c.i], r = right[c.j];
        const index_t take_right = r < l;
        out[c.k++] = take_right ? r : l;
        inversions += (nl - c.i) & -take_right;
        c.j += take_right;
        c.i += 1 - take_right;
        const V bl = left[c.bi - 1], br = right[c.bj - 1];
        const index_t back_right = !(br < bl);  // on ties the right element comes later
        out[--c.bk] = back_right ? br : bl;
        inversions += (nl - c.bi) & -back_right;
        c.bj -= back_right;
        c.bi -= 1 - back_right;
      }
    }
  }
  for (merge_part<V>& c : part) {  // what is left of each cursor, one element at a time
    for (; c.k < c.middle; ++c.k) {
      if (c.j >= nr || (c.i < nl && !(right[c.j] < left[c.i]))) {
        out[c.k] = left[c.i++];
      } else {
        inversions += nl - c.i;
        out[c.k] = right[c.j++];
      }
    }
    while (c.bk > c.middle) {
      if (c.bi == 0 || (c.bj > 0 && !(right[c.bj - 1] < left[c.bi - 1]))) {
        inversions += nl - c.bi;
        out[--c.bk] = right[--c.bj];
      } else {
        out[--c.bk] = left[--c.bi];
      }
    }
  }
  return inversions;
}

inline constexpr index_t inversion_block = 8;
// Runs are first sorted in cache-sized tiles (64 Ki elements: 512 KiB of 64-bit keys and as much
// scratch, about one L2), every pass of a tile before the next tile; only the passes wider than a
// tile stream through memory.
inline constexpr index_t inversion_tile = index_t(1) << 16;

// One merge pass of width `width` over outputs [lo, hi) (runs start at multiples of 2 * width
// from 0; [lo, hi) may cut runs anywhere): from -> to, returns the inversions met.
template <class V>
std::int64_t merge_pass(const V* from, V* to, index_t n, index_t width, index_range outputs) {
  const index_t lo = outputs.begin, hi = outputs.end;
  std::int64_t count = 0;
  for (index_t start = lo / (2 * width) * (2 * width); start < hi; start += 2 * width) {
    const index_t nl = std::min(width, n - start), nr = std::max<index_t>(0, std::min(width, n - start - width));
    const index_t k0 = std::max(lo, start) - start, k1 = std::min(hi, start + nl + nr) - start;
    count += merge_counting(from + start, nl, from + start + nl, nr, k0, k1, to + start);
  }
  return count;
}

// Sorts values[0, n) (n <= inversion_tile) on the calling thread; returns its inversions.
template <class V>
std::int64_t sort_tile_counting_inversions(index_t n, V* values, V* other) {
  std::int64_t count = 0;
  for (index_t begin = 0; begin < n; begin += inversion_block) {
    V* block = values + begin;
    const index_t length = std::min(inversion_block, n - begin);
    for (index_t i = 1; i < length; ++i) {
      const V value = block[i];
      index_t j = i;
      for (; j > 0 && value < block[j - 1]; --j) block[j] = block[j - 1];
      block[j] = value;
      count += i - j;
    }
  }
  V* from = values;
  V* to = other;
  for (index_t width = inversion_block; width < n; width *= 2) {
    count += merge_pass(from, to, n, width, {0, n});
    std::swap(from, to);
  }
  if (from != values) std::copy(from, from + n, values);
  return count;
}

// Sorts values[0, n) ascending and returns the number of pairs i < j with values[i] > values[j]
// (Knight's merge-sort count). other: n elements of scratch; the result ends in values. Tiles are
// sorted in parallel, then each wider merge pass splits its output evenly over the team (merge
// path). Integer counts: the same total whatever the split.
template <class V>
std::int64_t sort_counting_inversions(const cpu_team& team, index_t n, V* values, V* other) {
  const index_t tiles = (n + inversion_tile - 1) / inversion_tile;
  const int parts = static_cast<int>(std::max<index_t>(1, std::min<index_t>(team.threads, tiles)));
  const cpu_team merge_team = team.with_threads(parts);
  std::vector<std::int64_t> found(static_cast<std::size_t>(parts), 0);
  parallel_for(merge_team, tiles, [&](index_t tile, int thread) {
    const index_t begin = tile * inversion_tile, length = std::min(inversion_tile, n - begin);
    found[static_cast<std::size_t>(thread)] += sort_tile_counting_inversions(length, values + begin, other + begin);
  });
  V* from = values;
  V* to = other;
  for (index_t width = inversion_tile; width < n; width *= 2) {
    parallel_for(merge_team, parts, [&](index_t t) {
      found[static_cast<std::size_t>(t)] +=
          merge_pass(from, to, n, width, part_range(n, parts, t));
    });
    std::swap(from, to);
  }
  if (from != values) std::copy(from, from + n, values);
  std::int64_t total = 0;
  for (std::int64_t count : found) total += count;
  return total;
}

}  // namespace rescan::detail
