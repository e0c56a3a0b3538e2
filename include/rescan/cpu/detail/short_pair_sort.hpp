// Sorting a short range of key pairs, the leaves of the MSD radix sort (rank_sort.hpp): up to 8
// pairs by their ranks, found by comparing every pair with all others at once in AVX-512
// registers (no branch on the data); longer ranges, and every other target, by insertion.
#pragma once

#if defined(__AVX512F__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

#include <cstdint>

#include "rescan/core/view.hpp"

namespace rescan::detail {

// Pairs of keys stored interleaved in a plain array of 64-bit words (element i at [2i], [2i + 1]),
// so the same storage serves later as two arrays of single keys. Ordered by (first, second).
struct key_pair {
  std::uint64_t first;
  std::uint64_t second;
};
inline key_pair load_pair(const std::uint64_t* words, index_t i) { return {words[2 * i], words[2 * i + 1]}; }
inline void store_pair(std::uint64_t* words, index_t i, const key_pair& value) {
  words[2 * i] = value.first;
  words[2 * i + 1] = value.second;
}

// Pairs compared by (first, second), or by second alone (a range whose first keys are all equal).
template <bool OnSecond>
bool pair_less(const key_pair& a, const key_pair& b) {
  if constexpr (OnSecond) {
    return a.second < b.second;
  } else {
    return a.first < b.first || (a.first == b.first && a.second < b.second);
  }
}

// from[0, n) sorted into to[0, n) by insertion; to may be from.
template <bool OnSecond>
void insertion_sort_pairs(const std::uint64_t* from, index_t n, std::uint64_t* to) {
  for (index_t i = 0; i < n; ++i) {
    const key_pair value = load_pair(from, i);
    index_t j = i;
    for (; j > 0 && pair_less<OnSecond>(value, load_pair(to, j - 1)); --j) store_pair(to, j, load_pair(to, j - 1));
    store_pair(to, j, value);
  }
}

inline constexpr index_t ranked_sort_max = 8;

#if defined(__AVX512F__) && !defined(__CUDACC__)
// from[0, n), n <= ranked_sort_max, sorted into to[0, n) (not from): pair i goes to its rank, the
// number of pairs that come before it (smaller, or equal and earlier). Ordered by (first, second),
// which is also the order by second when every first key is the same.
inline void rank_sort_pairs(const std::uint64_t* from, index_t n, std::uint64_t* to) {
  const auto present = static_cast<__mmask8>((1u << n) - 1);
  const unsigned words = (1u << (2 * n)) - 1;
  const __m512i low = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(words), from);
  const __m512i high = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(words >> 8), from + 8);
  const __m512i firsts = _mm512_permutex2var_epi64(low, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), high);
  const __m512i seconds = _mm512_permutex2var_epi64(low, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), high);
  const __m512i one = _mm512_set1_epi64(1);
  __m512i ranks = _mm512_setzero_si512();
  for (index_t k = 0; k < n; ++k) {  // every lane that pair k comes before gains one
    const __m512i first = _mm512_set1_epi64(static_cast<long long>(from[2 * k]));
    const __m512i second = _mm512_set1_epi64(static_cast<long long>(from[2 * k + 1]));
    const auto later = static_cast<__mmask8>(present & ~((2u << k) - 1));
    const __mmask8 same_first = _mm512_mask_cmpeq_epu64_mask(present, firsts, first);
    const __mmask8 after = _mm512_mask_cmpgt_epu64_mask(present, firsts, first) |
                           _mm512_mask_cmpgt_epu64_mask(same_first, seconds, second) |
                           _mm512_mask_cmpeq_epu64_mask(static_cast<__mmask8>(same_first & later), seconds, second);
    ranks = _mm512_mask_add_epi64(ranks, after, ranks, one);
  }
  alignas(64) std::int64_t rank[ranked_sort_max];
  _mm512_store_si512(rank, ranks);
  for (index_t i = 0; i < n; ++i) store_pair(to, rank[i], load_pair(from, i));
}
#endif

// from[0, n) sorted into to[0, n) (not from), stably. OnSecond: by second keys, for a range whose
// first keys are all the same (the ranked path compares (first, second), the same order there).
template <bool OnSecond>
void sort_short_pairs(const std::uint64_t* from, index_t n, std::uint64_t* to) {
#if defined(__AVX512F__) && !defined(__CUDACC__)
  if (n <= ranked_sort_max) {
    rank_sort_pairs(from, n, to);
    return;
  }
#endif
  insertion_sort_pairs<OnSecond>(from, n, to);
}

}  // namespace rescan::detail
