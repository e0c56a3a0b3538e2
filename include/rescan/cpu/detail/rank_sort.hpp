// The sorting machinery of the CPU ranking kernels: order-preserving unsigned keys, a stable LSD
// radix sort of (key, payload) pairs, and a merge sort that counts inversions. Both run on a team
// of threads with fixed splits, so their results (integers) never depend on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "rescan/core/view.hpp"
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

// [begin, end) of part t of n items split into `parts` contiguous parts.
inline index_t part_begin(index_t n, int parts, int t) { return index_t(n * t / parts); }

// Stable sort of (keys[i], payload[i]) by key. keys/payload hold the input; the sorted pairs end
// in either them or the *_other buffers (same sizes): the return value says which (true = other).
// Passes whose digit is the same for every key are skipped.
template <class K, class P>
bool radix_sort_pairs(const cpu_team& team, index_t n, K* keys, P* payload, K* keys_other, P* payload_other) {
  constexpr int passes = int((8 * sizeof(K) + radix_bits - 1) / radix_bits);
  const int parts = static_cast<int>(std::max<index_t>(1, std::min<index_t>(team.threads, n / 65536)));
  const cpu_team sort_team = team.with_threads(parts);
  // Per part and pass, the digit histogram of the part's keys (only the global sums are used to
  // skip passes; the per-part ones are recomputed per pass, since keys move between parts).
  std::vector<std::array<index_t, radix_buckets>> global(static_cast<std::size_t>(passes));
  for (auto& histogram : global) histogram.fill(0);
  std::vector<index_t> counts(static_cast<std::size_t>(parts) * radix_buckets);
  {
    std::vector<index_t> part_global(static_cast<std::size_t>(parts) * passes * radix_buckets, 0);
    parallel_for(sort_team, parts, [&](index_t t) {
      index_t* h = part_global.data() + static_cast<std::size_t>(t) * passes * radix_buckets;
      for (index_t i = part_begin(n, parts, int(t)); i < part_begin(n, parts, int(t) + 1); ++i) {
        for (int pass = 0; pass < passes; ++pass) ++h[pass * radix_buckets + ((keys[i] >> (pass * radix_bits)) & (radix_buckets - 1))];
      }
    });
    for (int t = 0; t < parts; ++t)
      for (int pass = 0; pass < passes; ++pass)
        for (std::size_t b = 0; b < radix_buckets; ++b) global[pass][b] += part_global[(static_cast<std::size_t>(t) * passes + pass) * radix_buckets + b];
  }
  bool in_other = false;
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = pass * radix_bits;
    if (std::any_of(global[pass].begin(), global[pass].end(), [n](index_t c) { return c == n; })) continue;
    K* from_keys = in_other ? keys_other : keys;
    P* from_payload = in_other ? payload_other : payload;
    K* to_keys = in_other ? keys : keys_other;
    P* to_payload = in_other ? payload : payload_other;
    if (parts == 1) {
      std::copy(global[pass].begin(), global[pass].end(), counts.begin());
    } else {
      parallel_for(sort_team, parts, [&](index_t t) {
        index_t* h = counts.data() + static_cast<std::size_t>(t) * radix_buckets;
        std::fill(h, h + radix_buckets, 0);
        for (index_t i = part_begin(n, parts, int(t)); i < part_begin(n, parts, int(t) + 1); ++i)
          ++h[(from_keys[i] >> shift) & (radix_buckets - 1)];
      });
    }
    // Exclusive offsets, digit-major then part: part t's keys of digit b follow parts < t's.
    index_t running = 0;
    for (std::size_t b = 0; b < radix_buckets; ++b) {
      for (int t = 0; t < parts; ++t) {
        const index_t count = counts[static_cast<std::size_t>(t) * radix_buckets + b];
        counts[static_cast<std::size_t>(t) * radix_buckets + b] = running;
        running += count;
      }
    }
    parallel_for(sort_team, parts, [&](index_t t) {
      index_t* offset = counts.data() + static_cast<std::size_t>(t) * radix_buckets;
      for (index_t i = part_begin(n, parts, int(t)); i < part_begin(n, parts, int(t) + 1); ++i) {
        const index_t to = offset[(from_keys[i] >> shift) & (radix_buckets - 1)]++;
        to_keys[to] = from_keys[i];
        to_payload[to] = from_payload[i];
      }
    });
    in_other = !in_other;
  }
  return in_other;
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

// Outputs [k0, k1) of the merge of left and right into out + k0; returns the inversions met
// (each right element placed before the left elements still waiting counts them).
template <class V>
std::int64_t merge_counting(const V* left, index_t nl, const V* right, index_t nr, index_t k0, index_t k1, V* out) {
  index_t i = merge_split(left, nl, right, nr, k0), j = k0 - i;
  std::int64_t inversions = 0;
  for (index_t k = k0; k < k1; ++k) {
    if (j >= nr || (i < nl && !(right[j] < left[i]))) {
      out[k] = left[i++];
    } else {
      inversions += nl - i;
      out[k] = right[j++];
    }
  }
  return inversions;
}

inline constexpr index_t inversion_block = 32;

// Sorts values[0, n) ascending and returns the number of pairs i < j with values[i] > values[j].
// other: n elements of scratch. The result ends in values. Blocks of 32 are insertion-sorted, then
// runs are merged pairwise; each merge pass splits its output evenly over the team (merge path).
template <class V>
std::int64_t sort_counting_inversions(const cpu_team& team, index_t n, V* values, V* other) {
  const int parts = static_cast<int>(std::max<index_t>(1, std::min<index_t>(team.threads, n / 16384)));
  const cpu_team merge_team = team.with_threads(parts);
  std::vector<std::int64_t> found(static_cast<std::size_t>(parts), 0);
  const index_t blocks = (n + inversion_block - 1) / inversion_block;
  parallel_for(merge_team, parts, [&](index_t t) {
    std::int64_t count = 0;
    for (index_t b = blocks * t / parts; b < blocks * (t + 1) / parts; ++b) {
      V* block = values + b * inversion_block;
      const index_t length = std::min(inversion_block, n - b * inversion_block);
      for (index_t i = 1; i < length; ++i) {
        const V value = block[i];
        index_t j = i;
        for (; j > 0 && value < block[j - 1]; --j) block[j] = block[j - 1];
        block[j] = value;
        count += i - j;
      }
    }
    found[static_cast<std::size_t>(t)] += count;
  });
  V* from = values;
  V* to = other;
  for (index_t width = inversion_block; width < n; width *= 2) {
    parallel_for(merge_team, parts, [&](index_t t) {
      const index_t lo = part_begin(n, parts, int(t)), hi = part_begin(n, parts, int(t) + 1);
      std::int64_t count = 0;
      for (index_t start = lo / (2 * width) * (2 * width); start < hi; start += 2 * width) {
        const index_t nl = std::min(width, n - start), nr = std::max<index_t>(0, std::min(width, n - start - width));
        const index_t k0 = std::max(lo, start) - start, k1 = std::min(hi, start + nl + nr) - start;
        count += merge_counting(from + start, nl, from + start + nl, nr, k0, k1, to + start);
      }
      found[static_cast<std::size_t>(t)] += count;
    });
    std::swap(from, to);
  }
  if (from != values) std::copy(from, from + n, values);
  std::int64_t total = 0;
  for (std::int64_t count : found) total += count;
  return total;
}

}  // namespace rescan::detail
