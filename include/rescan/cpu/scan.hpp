// CPU backend of the scans and the linear recurrence: rows in parallel when there are enough of
// them, otherwise each long row split across the threads (cpu/detail/chunked_scan.hpp).
#pragma once

#include <type_traits>

#include "rescan/core/operators.hpp"
#include "rescan/cpu/detail/chunked_scan.hpp"
#include "rescan/cpu/detail/row_scan.hpp"
#include "rescan/cpu/detail/segment_heads.hpp"
#include "rescan/cpu/detail/simd_scan.hpp"
#include "rescan/cpu/parallel.hpp"
#include "rescan/scan/dispatch.hpp"

namespace rescan::detail {

// Offsets must be sorted and inside [0, L]; the message names the first one that is not.
inline void check_segment_offsets(const char* function, const strided_view<const index_t, 1>& offsets, index_t length) {
  for (index_t i = 0; i < offsets.extent(0); ++i) {
    if (offsets(i) < 0 || offsets(i) > length) {
      raise<value_error>(function, ": options.segment_offsets[", i, "] = ", offsets(i), " but must be in [0, L = ",
                         length, "]");
    }
    if (i > 0 && offsets(i) < offsets(i - 1)) {
      raise<value_error>(function, ": options.segment_offsets[", i, "] = ", offsets(i), " is less than options.segment_offsets[",
                         i - 1, "] = ", offsets(i - 1), " (offsets must be sorted)");
    }
  }
}

// Calls job(row_segments) with the segment description of the options, where row_segments(row)
// gives that row's segments in scan order.
template <class T, class Job>
void with_segments(const char* function, const scan_options<T>& options, index_t length, const Job& job) {
  const bool reverse = options.direction == scan_direction::reverse;
  if (options.segment_flags.data() != nullptr) {
    const auto flags = reverse ? options.segment_flags.reversed(1) : options.segment_flags;
    job([flags, reverse](index_t row) { return flag_segments{flags[row], reverse ? 1 : 0}; });
  } else if (options.segment_offsets.extent(0) > 0) {
    check_segment_offsets(function, options.segment_offsets, length);
    const auto segments = offset_segments::from_offsets(options.segment_offsets, length, reverse);
    job([&segments](index_t) -> const offset_segments& { return segments; });
  } else {
    job([](index_t) { return no_segments{}; });
  }
}

// Runs row_job(row, team_inside_row) over every row: rows in parallel when there are at least as
// many rows as threads, otherwise one row after the other with the whole team inside each row.
template <class RowJob>
void for_each_row(const cpu_t& backend, index_t rows, const RowJob& row_job) {
  const cpu_team team = team_of(backend);
  if (rows >= team.threads) {
    parallel_for(team, rows, [&](index_t row) { row_job(row, team.with_threads(1)); });
  } else {
    for (index_t row = 0; row < rows; ++row) row_job(row, team);
  }
}

// Calls job(row, team, segments) for every row: the segment description of the options for that
// row, and the team to use inside it (for_each_row).
template <class T, class Job>
void for_each_scan_row(const cpu_t& backend, const char* function, const scan_options<T>& options, index_t rows,
                       index_t length, const Job& job) {
  with_segments(function, options, length, [&](const auto& row_segments) {
    for_each_row(backend, rows, [&](index_t row, const cpu_team& team) { job(row, team, row_segments(row)); });
  });
}

template <class View>
View in_scan_order(const View& view, scan_direction direction) {
  return direction == scan_direction::reverse ? view.reversed(1) : view;
}

// Inclusive scan of one row given by load/store in scan order; `initial` is the carry entering it.
template <class T, class Op, class Load, class Store, class Segments>
void inclusive_row(const cpu_team& team, index_t length, carry<T> initial, const Op& op, const Load& load, const Store& store,
                   const Segments& segments) {
  chunked_row_scan(
      team, length, scan_chunk_length<T>(), initial,
      [&](index_t begin, index_t end) { return summarize_stretch<T>(begin, end, op, load, segments.cursor(begin)); },
      [&](const carry<T>& before, const stretch_summary<T>& summary) { return carry_after(before, summary, op); },
      [&](index_t begin, index_t end, carry<T> before) {
        return inclusive_stretch(begin, end, before, op, load, store, segments.cursor(begin));
      });
}

// Runs the vector fast path on this row when there is one for T and Op and both rows are
// unit-stride (the caller has checked there are no segments); returns whether it ran.
template <class T, class Op>
bool simd_inclusive_row(const cpu_team& team, index_t length, const carry<T>& initial,
                        const strided_view<const T, 1>& in, const strided_view<T, 1>& out) {
#if RESCAN_HAS_VECTOR_EXTENSIONS
  using kind = simd_scan_kind<T, Op>;
  if constexpr (kind::sum || kind::affine) {
    if (in.stride(0) != 1 || out.stride(0) != 1) return false;
    if constexpr (kind::sum) {
      simd_sum_row(team, length, initial, in.data(), out.data());
    } else {
      simd_affine_row(team, length, initial, interleaved_pairs<typename T::value_type>{in.data(), out.data()});
    }
    return true;
  }
#endif
  (void)team, (void)length, (void)initial, (void)in, (void)out;
  return false;
}

template <>
struct scan_kernels<cpu_t> {
  template <class T, class Op>
  static void inclusive(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& out,
                        const Op& op, const scan_options<T>& options) {
    const auto input = in_scan_order(in, options.direction);
    const auto output = in_scan_order(out, options.direction);
    const index_t length = in.extent(1);
    for_each_scan_row(backend, "inclusive_scan", options, in.extent(0), length,
                      [&](index_t row, const cpu_team& team, const auto& segments) {
                        const auto source = input[row];
                        const auto target = output[row];
                        const carry<T> initial =
                            options.initial.data() ? carry<T>{options.initial(row), true} : carry<T>{};
                        if constexpr (std::is_same_v<std::decay_t<decltype(segments)>, no_segments>) {
                          if (simd_inclusive_row<T, Op>(team, length, initial, source, target)) return;
                        }
                        inclusive_row(team, length, initial, op, [&](index_t s) { return source(s); },
                                      [&](index_t s, const T& value) { target(s) = value; }, segments);
                      });
  }

  template <class T, class Op>
  static void exclusive(const cpu_t& backend, const strided_view<const T, 2>& in, const strided_view<T, 2>& out,
                        const T& init, const Op& op, const scan_options<T>& options) {
    const auto input = in_scan_order(in, options.direction);
    const auto output = in_scan_order(out, options.direction);
    const index_t length = in.extent(1);
    for_each_scan_row(
        backend, "exclusive_scan", options, in.extent(0), length,
        [&](index_t row, const cpu_team& team, const auto& segments) {
          const auto source = input[row];
          const auto target = output[row];
          const auto load = [&](index_t s) { return source(s); };
          chunked_row_scan(
              team, length, scan_chunk_length<T>(), options.initial.data() ? options.initial(row) : init,
              [&](index_t begin, index_t end) { return summarize_stretch<T>(begin, end, op, load, segments.cursor(begin)); },
              [&](const T& before, const stretch_summary<T>& summary) { return running_after(before, init, summary, op); },
              [&](index_t begin, index_t end, const T& before) {
                return exclusive_stretch(begin, end, before, init, op, load,
                                         [&](index_t s, const T& value) { target(s) = value; }, segments.cursor(begin));
              });
        });
  }

  // The affine-pair scan with a and b read from their own arrays and only h = the pair's b written.
  template <class T>
  static void linear_recurrence(const cpu_t& backend, const strided_view<const T, 2>& a,
                                const strided_view<const T, 2>& b, const strided_view<T, 2>& h,
                                const scan_options<T>& options) {
    const auto coefficient = in_scan_order(a, options.direction);
    const auto offset = in_scan_order(b, options.direction);
    const auto state = in_scan_order(h, options.direction);
    const index_t length = a.extent(1);
    for_each_scan_row(
        backend, "linear_recurrence", options, a.extent(0), length,
        [&](index_t row, const cpu_team& team, const auto& segments) {
          const auto a_row = coefficient[row];
          const auto b_row = offset[row];
          const auto h_row = state[row];
          using pair = affine_pair<T>;
          const carry<pair> initial =
              options.initial.data() ? carry<pair>{pair{T(1), options.initial(row)}, true} : carry<pair>{};
#if RESCAN_HAS_VECTOR_EXTENSIONS
          if constexpr (std::is_same_v<std::decay_t<decltype(segments)>, no_segments> && simd<T>::available) {
            if (a_row.stride(0) == 1 && b_row.stride(0) == 1 && h_row.stride(0) == 1) {
              simd_affine_row(team, length, initial, recurrence_arrays<T>{a_row.data(), b_row.data(), h_row.data()});
              return;
            }
          }
#endif
          inclusive_row(team, length, initial, affine_compose{}, [&](index_t s) { return pair{a_row(s), b_row(s)}; },
                        [&](index_t s, const pair& value) { h_row(s) = value.b; }, segments);
        });
  }
};

}  // namespace rescan::detail
