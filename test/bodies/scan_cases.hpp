// One scan configuration run on a backend and checked against the sequential reference. Shared by
// the scan and linear-recurrence test bodies.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "support/data.hpp"
#include "support/reference.hpp"

namespace rescan::testing {

enum class segment_kind { none, flags, offsets };

struct scan_setup {
  index_t rows = 1;
  index_t length = 0;
  layout storage = layout::row_major;
  bool reverse = false;
  segment_kind segments = segment_kind::none;
  bool with_initial = false;
  bool in_place = false;
};

inline std::string describe(const scan_setup& setup) {
  return "rows " + std::to_string(setup.rows) + ", L " + std::to_string(setup.length) + ", " +
         layout_name(setup.storage) + (setup.reverse ? ", reverse" : ", forward") +
         (setup.segments == segment_kind::flags ? ", flag segments"
                                                : setup.segments == segment_kind::offsets ? ", offset segments" : "") +
         (setup.with_initial ? ", initial carry" : "") + (setup.in_place ? ", in place" : "");
}

// Random segment starts: flags with probability 1/8 (or offsets drawn the same way, with 0, L and a
// duplicate added since cu_seqlens-style offsets contain them).
inline reference_segments random_segments(segment_kind kind, index_t rows, index_t length) {
  reference_segments segments;
  const std::size_t count = static_cast<std::size_t>(rows * length);
  if (kind == segment_kind::flags) {
    const auto draws = random_integers<int>(count, 0, 7);
    segments.flags.resize(count);
    for (std::size_t i = 0; i < count; ++i) segments.flags[i] = draws[i] == 0 ? 1 : 0;
  } else if (kind == segment_kind::offsets) {
    segments.offsets = {0};
    for (index_t t : random_integers<index_t>(static_cast<std::size_t>(std::min<index_t>(length / 8 + 1, 64)), 0,
                                              static_cast<int>(length))) {
      segments.offsets.push_back(t);
    }
    segments.offsets.push_back(length);
    segments.offsets.push_back(length / 2);
    std::sort(segments.offsets.begin(), segments.offsets.end());
  }
  return segments;
}

// Device copies of the optional inputs, kept alive while the views are used.
template <class Harness, class T>
struct scan_inputs {
  decltype(Harness::template upload<std::uint8_t>({})) flags;
  decltype(Harness::template upload<index_t>({})) offsets;
  decltype(Harness::template upload<T>({})) initial;
  scan_options<T> options;

  scan_inputs(const scan_setup& setup, const reference_segments& segments, const std::vector<T>& initial_values)
      : flags(Harness::upload(segments.flags)),
        offsets(Harness::upload(segments.offsets)),
        initial(Harness::upload(initial_values)) {
    options.direction = setup.reverse ? scan_direction::reverse : scan_direction::forward;
    if (setup.with_initial) options.initial = make_view(static_cast<const T*>(initial.data()), setup.rows);
    if (setup.segments == segment_kind::flags) {
      options.segment_flags = make_view(static_cast<const std::uint8_t*>(flags.data()), {setup.rows, setup.length});
    }
    if (setup.segments == segment_kind::offsets) {
      options.segment_offsets =
          make_view(static_cast<const index_t*>(offsets.data()), static_cast<index_t>(segments.offsets.size()));
    }
  }
};

// Runs an inclusive (or, with init, exclusive) scan of x on the backend and checks it. initial:
// (rows) values entering each row when setup.with_initial, else empty.
template <class Harness, class T, class Op>
void check_scan(const scan_setup& setup, const std::vector<T>& x, const std::vector<T>& initial, Op op, tolerance tol,
                const T* exclusive_init = nullptr) {
  INFO(Harness::name << ": " << describe(setup) << (exclusive_init ? ", exclusive" : ", inclusive"));
  const auto segments = random_segments(setup.segments, setup.rows, setup.length);
  scan_inputs<Harness, T> inputs(setup, segments, initial);

  auto in_buffer = Harness::upload(to_storage(x, setup.storage, setup.rows, setup.length));
  auto out_buffer = Harness::template allocate<T>(storage_size(setup.storage, setup.rows, setup.length));
  const auto in = layout_view(in_buffer.data(), setup.storage, setup.rows, setup.length);
  const auto out = setup.in_place ? in : layout_view(out_buffer.data(), setup.storage, setup.rows, setup.length);
  std::vector<T> expected;
  if (exclusive_init) {
    exclusive_scan(Harness::backend(), in, out, *exclusive_init, op, inputs.options);
    expected = reference_exclusive_scan(x, setup.rows, setup.length, *exclusive_init, op, setup.reverse,
                                        initial, segments);
  } else {
    inclusive_scan(Harness::backend(), in, out, op, inputs.options);
    expected = reference_inclusive_scan(x, setup.rows, setup.length, op, setup.reverse, initial, segments);
  }
  const auto& result_buffer = setup.in_place ? in_buffer : out_buffer;
  check_all_close(from_storage(Harness::download(result_buffer), setup.storage, setup.rows, setup.length), expected, tol);
}

// Runs linear_recurrence with a, b on the backend and checks h (in place over b when asked).
template <class Harness, class T>
void check_linear_recurrence(const scan_setup& setup, const std::vector<T>& a, const std::vector<T>& b, tolerance tol) {
  INFO(Harness::name << ": linear_recurrence, " << describe(setup));
  const auto segments = random_segments(setup.segments, setup.rows, setup.length);
  const std::vector<T> initial_values =
      setup.with_initial ? random_uniform<T>(static_cast<std::size_t>(setup.rows), -1, 1) : std::vector<T>{};
  scan_inputs<Harness, T> inputs(setup, segments, initial_values);

  auto a_buffer = Harness::upload(to_storage(a, setup.storage, setup.rows, setup.length));
  auto b_buffer = Harness::upload(to_storage(b, setup.storage, setup.rows, setup.length));
  auto h_buffer = Harness::template allocate<T>(storage_size(setup.storage, setup.rows, setup.length));
  const auto a_view = layout_view(a_buffer.data(), setup.storage, setup.rows, setup.length);
  const auto b_view = layout_view(b_buffer.data(), setup.storage, setup.rows, setup.length);
  const auto h_view = setup.in_place ? b_view : layout_view(h_buffer.data(), setup.storage, setup.rows, setup.length);
  linear_recurrence(Harness::backend(), a_view, b_view, h_view, inputs.options);
  const auto expected =
      reference_linear_recurrence(a, b, setup.rows, setup.length, setup.reverse, initial_values, segments);
  const auto& result_buffer = setup.in_place ? b_buffer : h_buffer;
  check_all_close(from_storage(Harness::download(result_buffer), setup.storage, setup.rows, setup.length), expected, tol);
}

// Lengths that catch off-by-one and carry bugs: 0, 1, 2, small primes, the backend's boundaries.
template <class Harness, class T>
std::vector<index_t> awkward_lengths() {
  std::vector<index_t> lengths = {0, 1, 2, 3, 7, 31, 97, 1021};
  for (index_t length : Harness::template boundary_lengths<T>()) lengths.push_back(length);
  return lengths;
}

}  // namespace rescan::testing
