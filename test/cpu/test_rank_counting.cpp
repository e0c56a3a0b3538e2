// The CPU Kendall kernels' building blocks against plain oracles:
// - the count of one sequence of 64-bit keys (its inversions and its runs of equal keys) by the
//   radix partitions (cpu/detail/radix_inversions.hpp, built where AVX-512 is) and by the merge
//   sort (cpu/detail/rank_sort.hpp, every target), against a loop over all pairs, on keys chosen to
//   reach every branch: lengths around the vector width and the direct count's limit, keys that
//   differ only in their lowest or highest bit, one key far from the rest, long runs of ties, and
//   sequences long enough to be split over a team;
// - the sort of short ranges of key pairs (cpu/detail/short_pair_sort.hpp), against
//   std::stable_sort, with ties in either key.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <rescan/cpu/detail/radix_inversions.hpp>
#include <rescan/cpu/detail/rank_sort.hpp>
#include <rescan/cpu/rank.hpp>

namespace rescan::testing {
namespace {

struct key_counts {
  std::int64_t inversions = 0, tie_pairs = 0, distinct = 0;
  double tie_triples = 0;
};

// Every pair once; element i closes C(e, 2) triples with the e equal keys before it.
key_counts count_by_pairs(const std::vector<std::uint64_t>& keys) {
  key_counts counts;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::int64_t equal_before = 0;
    for (std::size_t j = 0; j < i; ++j) {
      counts.inversions += keys[j] > keys[i];
      equal_before += keys[j] == keys[i];
    }
    counts.tie_pairs += equal_before;
    counts.tie_triples += double(equal_before * (equal_before - 1) / 2);
    counts.distinct += equal_before == 0;
  }
  return counts;
}

key_counts count_by_merge_sort(const detail::cpu_team& team, std::vector<std::uint64_t> keys) {
  key_counts counts;
  const auto n = static_cast<index_t>(keys.size());
  std::vector<std::uint64_t> scratch(keys.size());
  counts.inversions = detail::sort_counting_inversions(team, n, keys.data(), scratch.data());
  const detail::run_totals runs = detail::runs_of_sorted(keys.data(), n);
  counts.tie_pairs = runs.pairs;
  counts.tie_triples = runs.triples_value();
  counts.distinct = runs.distinct;
  return counts;
}

// Keys of one kind, n of them.
std::vector<std::uint64_t> keys_of(const std::string& kind, std::size_t n, std::mt19937_64& random) {
  std::vector<std::uint64_t> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = random();
    if (kind == "uniform") keys[i] = r;
    if (kind == "few values") keys[i] = r % 7;
    if (kind == "lowest bit") keys[i] = 0x5555000000000000ULL | (r & 1);
    if (kind == "highest bit") keys[i] = r & 0x8000000000000001ULL;
    if (kind == "powers of two") keys[i] = std::uint64_t(1) << (r % 64);
    if (kind == "one outlier") keys[i] = i == n / 3 ? ~std::uint64_t(0) : (r & 0xFF);
    if (kind == "all equal") keys[i] = 42;
    if (kind == "descending") keys[i] = n - i;
  }
  return keys;
}

const char* const kinds[] = {"uniform", "few values", "lowest bit", "highest bit", "powers of two",
                             "one outlier", "all equal", "descending"};

void check_same(const key_counts& got, const key_counts& expected) {
  CHECK(got.inversions == expected.inversions);
  CHECK(got.tie_pairs == expected.tie_pairs);
  CHECK(got.distinct == expected.distinct);
  // Sums of C(run, 3) are exact with 128-bit integers; without them the products round past 2^53.
  CHECK(got.tie_triples == doctest::Approx(expected.tie_triples).epsilon(1e-15));
}

#if RESCAN_HAS_RADIX_INVERSIONS
key_counts count_by_radix(const detail::cpu_team& team, std::vector<std::uint64_t> keys) {
  std::vector<std::uint64_t> scratch(keys.size());
  const detail::key_order_counts found =
      detail::count_inversions_by_radix(team, static_cast<index_t>(keys.size()), keys.data(), scratch.data());
  return {found.inversions, found.runs.pairs, found.runs.distinct, found.runs.triples_value()};
}
#endif

TEST_CASE("inversions and ties of a key sequence: radix partitions and merge sort against every pair") {
  std::mt19937_64 random(20261126);
  const std::size_t lengths[] = {0, 1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 200, 1001, 3000};
  for (const char* kind : kinds) {
    for (std::size_t n : lengths) {
      INFO(std::string(kind) << ", n " << n);
      const auto keys = keys_of(kind, n, random);
      const key_counts expected = count_by_pairs(keys);
      check_same(count_by_merge_sort({1, false}, keys), expected);
#if RESCAN_HAS_RADIX_INVERSIONS
      check_same(count_by_radix({1, false}, keys), expected);
#endif
    }
  }
}

TEST_CASE("inversions and ties of a long key sequence: the same counts on one, two and three threads") {
  // Past the length where the radix partitions split segments over the team (2^16 per thread):
  // the one-thread merge sort is the reference (checked against every pair above).
  std::mt19937_64 random(7);
  for (const char* kind : kinds) {
    const auto keys = keys_of(kind, (std::size_t(1) << 18) + 3, random);
    INFO(std::string(kind));
    const key_counts expected = count_by_merge_sort({1, false}, keys);
    for (int threads : {2, 3}) check_same(count_by_merge_sort({threads, false}, keys), expected);
#if RESCAN_HAS_RADIX_INVERSIONS
    for (int threads : {1, 2, 3}) check_same(count_by_radix({threads, false}, keys), expected);
#endif
  }
}

TEST_CASE("MSD radix sort of key pairs: the order of std::sort, on keys that need many short levels") {
  // Powers of two leave one bit a level to split on, so the ranges go down many levels of few
  // buckets each (their histograms must fit the scratch: the sanitizer build checks it).
  std::mt19937_64 random(11);
  for (std::size_t n : {std::size_t(5000), (std::size_t(1) << 18) + 3}) {
    for (const char* first_kind : kinds) {
      for (const char* second_kind : {"powers of two", "uniform", "all equal"}) {
        INFO(std::string(first_kind) << " / " << second_kind << ", n " << n);
        const auto firsts = keys_of(first_kind, n, random), seconds = keys_of(second_kind, n, random);
        std::vector<std::uint64_t> words(2 * n), scratch(2 * n);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> expected(n);
        for (std::size_t i = 0; i < n; ++i) {
          detail::store_pair(words.data(), index_t(i), {firsts[i], seconds[i]});
          expected[i] = {firsts[i], seconds[i]};
        }
        std::sort(expected.begin(), expected.end());
        detail::msd_sort_pairs({2, false}, index_t(n), words.data(), scratch.data());
        bool same = true;
        for (std::size_t i = 0; i < n; ++i) {
          same = same && words[2 * i] == expected[i].first && words[2 * i + 1] == expected[i].second;
        }
        CHECK(same);
      }
    }
  }
}

template <bool OnSecond>
void check_short_sorts(std::mt19937_64& random) {
  for (index_t n = 0; n <= 24; ++n) {
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<detail::key_pair> pairs(static_cast<std::size_t>(n));
      const std::uint64_t spread = trial % 2 == 0 ? 3 : ~std::uint64_t(0);  // many ties, or almost none
      for (auto& pair : pairs) pair = {OnSecond ? 9 : random() % spread, random() % spread};
      std::vector<std::uint64_t> words(2 * pairs.size()), sorted(words.size());
      for (index_t i = 0; i < n; ++i) detail::store_pair(words.data(), i, pairs[static_cast<std::size_t>(i)]);
      std::stable_sort(pairs.begin(), pairs.end(), detail::pair_less<OnSecond>);
      detail::sort_short_pairs<OnSecond>(words.data(), n, sorted.data());
      INFO("n " << n << ", trial " << trial << (OnSecond ? ", by second" : ""));
      for (index_t i = 0; i < n; ++i) {
        const detail::key_pair got = detail::load_pair(sorted.data(), i), expected = pairs[static_cast<std::size_t>(i)];
        CHECK(got.first == expected.first);
        CHECK(got.second == expected.second);
      }
      detail::insertion_sort_pairs<OnSecond>(words.data(), n, words.data());  // in place
      CHECK(words == sorted);
    }
  }
}

TEST_CASE("short ranges of key pairs: ranked in registers or insertion-sorted, in std::stable_sort's order") {
  std::mt19937_64 random(3);
  check_short_sorts<false>(random);
  check_short_sorts<true>(random);
}

}  // namespace
}  // namespace rescan::testing
