// Inversions and runs of equal keys in a sequence of 64-bit keys by binary MSD radix partitions
// (AVX-512), the fast path of Kendall's discordance count; the merge sort of rank_sort.hpp
// serves every other target.
//
// A segment of keys that differ splits stably on the highest bit where they differ: keys with the
// bit clear first, then keys with it set. A key with the bit clear is below every key with the bit
// set, so each one that comes after k keys with the bit set closes k inversions; pairs split at
// a lower level were on the same side here and are counted there. Keys that no bit separates are
// equal: a segment whose keys are all the same is one run of ties. Short segments count their
// pairs directly. Each level costs one pass over its segments, and a key goes down one level per
// bit that separates it from its neighbours: about log2(n) levels for keys from a continuous
// distribution, 64 at most.
//
// No sorted array comes out: each level writes its two sides to the two buffers (one side to the
// scratch, the other back into the keys, before the read position), and each side takes the other
// buffer's free part as its scratch.
#pragma once

#if defined(__AVX512F__) && !defined(__CUDACC__)
#define RESCAN_HAS_RADIX_INVERSIONS 1

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rescan/core/view.hpp"
#include "rescan/cpu/detail/rank_sort.hpp"
#include "rescan/cpu/parallel.hpp"

namespace rescan::detail {

// What the partitions count: the inversions (pairs i < j with key i > key j) and the runs of
// equal keys.
struct key_order_counts {
  std::int64_t inversions = 0;
  run_totals runs;

  void add(const key_order_counts& other) {
    inversions += other.inversions;
    runs.add(other.runs);
  }
};

// For each 8-lane mask (bit set: the key has the partition bit): pairs of lanes i < j with lane i
// set and lane j clear.
struct lane_inversion_table {
  std::uint8_t count[256] = {};
  constexpr lane_inversion_table() {
    for (int mask = 0; mask < 256; ++mask) {
      int set_before = 0;
      for (int lane = 0; lane < 8; ++lane) {
        if ((mask >> lane) & 1) {
          ++set_before;
        } else {
          count[mask] = std::uint8_t(count[mask] + set_before);
        }
      }
    }
  }
};
inline constexpr lane_inversion_table lane_inversions{};

// The keys one side of a partition received: how many, and the OR and AND of them.
struct partition_side {
  index_t count = 0;
  std::uint64_t any = 0, all = ~std::uint64_t(0);

  void add(const partition_side& other) {
    count += other.count;
    any |= other.any;
    all &= other.all;
  }
  // From the lane-wise OR and AND of the side's keys. (Through memory: GCC 12's reduction
  // intrinsics warn of an uninitialized variable of their own.)
  static partition_side of(index_t count, __m512i any_lanes, __m512i all_lanes) {
    alignas(64) std::uint64_t any[8], all[8];
    _mm512_store_si512(any, any_lanes);
    _mm512_store_si512(all, all_lanes);
    partition_side side{count, 0, ~std::uint64_t(0)};
    for (int lane = 0; lane < 8; ++lane) {
      side.any |= any[lane];
      side.all &= all[lane];
    }
    return side;
  }
  // The bits where the side's keys differ (none with fewer than two keys).
  std::uint64_t varying() const { return count > 1 ? any ^ all : 0; }
};

// The mask of lanes [0, count), count <= 8.
inline __mmask8 first_lanes(index_t count) { return static_cast<__mmask8>((1u << count) - 1); }

// The `count` lanes of v that `selected` picks, packed to the front and stored at out, nothing
// else written. (A compress into a register and a masked store: a compressing store to memory is
// microcoded and slow on some AVX-512 processors.)
inline void store_selected(std::uint64_t* out, __mmask8 selected, int count, __m512i v) {
  _mm512_mask_storeu_epi64(out, first_lanes(count), _mm512_maskz_compress_epi64(selected, v));
}

struct bit_partition {
  partition_side clear, set;
  std::int64_t inversions = 0;  // within the partitioned keys
};

// Stable partition of keys[0, n) on `bit`: keys with the bit clear to clear_out[0, ...), the others
// to set_out[0, ...). set_out may be keys itself (each key with the bit set moves to or before its
// own place, after it has been read).
inline bit_partition partition_on_bit(const std::uint64_t* keys, index_t n, int bit, std::uint64_t* clear_out,
                                      std::uint64_t* set_out) {
  const __m512i probe = _mm512_set1_epi64(static_cast<long long>(std::uint64_t(1) << bit));
  __m512i any_clear = _mm512_setzero_si512(), any_set = any_clear;
  __m512i all_clear = _mm512_set1_epi64(-1), all_set = all_clear;
  bit_partition result;
  index_t clear = 0, set = 0;
  std::int64_t inversions = 0;
  for (index_t i = 0; i < n; i += 8) {
    const index_t lanes = std::min<index_t>(8, n - i);
    const __mmask8 valid = first_lanes(lanes);
    const __m512i v = _mm512_maskz_loadu_epi64(valid, keys + i);
    const __mmask8 has_bit = _mm512_mask_test_epi64_mask(valid, v, probe);
    const auto lacks_bit = static_cast<__mmask8>(valid & ~has_bit);
    const int set_here = __builtin_popcount(has_bit), clear_here = int(lanes) - set_here;
    // Each clear key follows the set keys before this vector and those before it in the vector
    // (the table counts missing lanes as clear keys after every set one: taken back).
    inversions += clear_here * set + lane_inversions.count[has_bit] - (8 - lanes) * set_here;
    store_selected(clear_out + clear, lacks_bit, clear_here, v);
    store_selected(set_out + set, has_bit, set_here, v);
    any_clear = _mm512_mask_or_epi64(any_clear, lacks_bit, any_clear, v);
    all_clear = _mm512_mask_and_epi64(all_clear, lacks_bit, all_clear, v);
    any_set = _mm512_mask_or_epi64(any_set, has_bit, any_set, v);
    all_set = _mm512_mask_and_epi64(all_set, has_bit, all_set, v);
    clear += clear_here;
    set += set_here;
  }
  result.clear = partition_side::of(clear, any_clear, all_clear);
  result.set = partition_side::of(set, any_set, all_set);
  result.inversions = inversions;
  return result;
}

// How many of keys[0, n) have `bit` set.
inline index_t count_with_bit(const std::uint64_t* keys, index_t n, int bit) {
  const __m512i probe = _mm512_set1_epi64(static_cast<long long>(std::uint64_t(1) << bit));
  index_t count = 0;
  for (index_t i = 0; i < n; i += 8) {
    const __mmask8 valid = first_lanes(std::min<index_t>(8, n - i));
    count += __builtin_popcount(_mm512_mask_test_epi64_mask(valid, _mm512_maskz_loadu_epi64(valid, keys + i), probe));
  }
  return count;
}

inline int highest_bit(std::uint64_t bits) { return 63 - __builtin_clzll(bits); }

// Segments up to this length count their pairs directly (four vectors of keys).
inline constexpr index_t direct_segment_max = 32;

// keys[0, n), n <= direct_segment_max: for each key, the later keys below it (inversions) and
// equal to it (e of them: e tied pairs, C(e, 2) triples that the key opens; the last of each run
// of equal keys has e = 0 and counts the distinct value).
inline void count_pairs_directly(const std::uint64_t* keys, index_t n, key_order_counts& counts) {
  constexpr int vectors = int(direct_segment_max / 8);
  const std::uint32_t present = n >= 32 ? ~0u : (1u << n) - 1;
  __m512i v[vectors];
  for (int k = 0; k < vectors; ++k) v[k] = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(present >> (8 * k)), keys + 8 * k);
  const int used = int((n + 7) / 8);
  for (index_t i = 0; i < n; ++i) {
    const __m512i key = _mm512_set1_epi64(static_cast<long long>(keys[i]));
    const std::uint32_t later = present & ~((2u << i) - 1);
    std::uint32_t below = 0, equal = 0;
    for (int k = 0; k < used; ++k) {
      below |= std::uint32_t(_mm512_cmplt_epu64_mask(v[k], key)) << (8 * k);
      equal |= std::uint32_t(_mm512_cmpeq_epu64_mask(v[k], key)) << (8 * k);
    }
    const int ties = __builtin_popcount(equal & later);
    counts.inversions += __builtin_popcount(below & later);
    counts.runs.pairs += ties;
    counts.runs.triples += ties * (ties - 1) / 2;
    counts.runs.distinct += ties == 0;
  }
}

// keys[0, n), whose bits outside `varying` are all alike, on the calling thread; scratch[0, n) is
// free. The side with the bit clear recurses, the other continues the loop: at most 64 levels deep.
inline void count_segment(std::uint64_t* keys, std::uint64_t* scratch, index_t n, std::uint64_t varying,
                          key_order_counts& counts) {
  for (;;) {
    if (varying == 0) {
      counts.runs.add_run(n);
      return;
    }
    if (n <= direct_segment_max) {
      count_pairs_directly(keys, n, counts);
      return;
    }
    const bit_partition split = partition_on_bit(keys, n, highest_bit(varying), scratch, keys);
    counts.inversions += split.inversions;
    // Clear side: scratch[0, c), free keys[s, n); set side: keys[0, s), free scratch[c, n).
    count_segment(scratch, keys + split.set.count, split.clear.count, split.clear.varying(), counts);
    scratch += split.clear.count;
    n = split.set.count;
    varying = split.set.varying();
  }
}

// A segment waiting for a thread: its keys, its free scratch, and its place in the sequence.
struct key_segment {
  std::uint64_t* keys;
  std::uint64_t* scratch;
  index_t size;
  std::uint64_t varying;
  index_t position;
};

// Splits the segment on the whole team while it is longer than `shared_min` (each thread
// partitions a contiguous part; the clear keys of part t follow those of the parts before it and
// come after their set keys); shorter segments are left in `pending`.
inline void split_on_team(const cpu_team& team, int parts, const key_segment& segment, index_t shared_min,
                          std::vector<key_segment>& pending, key_order_counts& counts) {
  if (segment.varying == 0 || segment.size <= shared_min) {
    pending.push_back(segment);
    return;
  }
  const int bit = highest_bit(segment.varying);
  const index_t n = segment.size;
  std::vector<index_t> set_before(static_cast<std::size_t>(parts) + 1, 0);
  parallel_for(team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    set_before[static_cast<std::size_t>(t) + 1] = count_with_bit(segment.keys + part.begin, part.end - part.begin, bit);
  });
  for (int t = 0; t < parts; ++t) set_before[static_cast<std::size_t>(t) + 1] += set_before[static_cast<std::size_t>(t)];
  const index_t clear_total = n - set_before.back();
  std::vector<bit_partition> found(static_cast<std::size_t>(parts));
  parallel_for(team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    const index_t set = set_before[static_cast<std::size_t>(t)];
    found[static_cast<std::size_t>(t)] = partition_on_bit(segment.keys + part.begin, part.end - part.begin, bit,
                                                          segment.scratch + (part.begin - set),
                                                          segment.scratch + clear_total + set);
  });
  bit_partition total;
  for (int t = 0; t < parts; ++t) {
    const bit_partition& part = found[static_cast<std::size_t>(t)];
    total.clear.add(part.clear);
    total.set.add(part.set);
    counts.inversions += part.inversions + part.clear.count * set_before[static_cast<std::size_t>(t)];
  }
  // Both sides now in the scratch, the keys' storage free behind them.
  split_on_team(team, parts, {segment.scratch, segment.keys, clear_total, total.clear.varying(), segment.position},
                shared_min, pending, counts);
  split_on_team(team, parts,
                {segment.scratch + clear_total, segment.keys + clear_total, n - clear_total, total.set.varying(),
                 segment.position + clear_total},
                shared_min, pending, counts);
}

// The inversions and runs of equal keys of keys[0, n); keys and scratch[0, n) are overwritten.
// From keys_per_thread_min keys a thread (else on the calling thread alone), segments longer than
// both half that and 1/8 of a thread's share are split by the whole team, then each thread counts the shorter
// segments that start in its share of [0, n). Integer counts: the same result whatever the team.
inline key_order_counts count_inversions_by_radix(const cpu_team& team, index_t n, std::uint64_t* keys,
                                                  std::uint64_t* scratch) {
  key_order_counts counts;
  if (n == 0) return counts;
  std::uint64_t any = 0, all = ~std::uint64_t(0);
  for (index_t i = 0; i < n; ++i) {
    any |= keys[i];
    all &= keys[i];
  }
  const std::uint64_t varying = any ^ all;
  const int parts = parts_for(team, n);
  if (parts == 1) {
    count_segment(keys, scratch, n, varying, counts);
    return counts;
  }
  const cpu_team split_team = team.with_threads(parts);
  std::vector<key_segment> pending;
  const index_t shared_min = std::max(keys_per_thread_min / 2, n / (8 * parts));
  split_on_team(split_team, parts, {keys, scratch, n, varying, 0}, shared_min, pending, counts);
  std::vector<key_order_counts> found(static_cast<std::size_t>(parts));
  parallel_for(split_team, parts, [&](index_t t) {
    const index_range part = part_range(n, parts, t);
    for (const key_segment& segment : pending) {
      if (segment.position >= part.begin && segment.position < part.end)
        count_segment(segment.keys, segment.scratch, segment.size, segment.varying, found[static_cast<std::size_t>(t)]);
    }
  });
  for (const key_order_counts& part : found) counts.add(part);
  return counts;
}

}  // namespace rescan::detail

#else
#define RESCAN_HAS_RADIX_INVERSIONS 0
#endif
