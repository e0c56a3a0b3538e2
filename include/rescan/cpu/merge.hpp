// CPU backend of token merging (merge/dispatch.hpp contract).
//   match: parallel over the batch, per-thread scratch sized once (cpu/detail/merge_matching.hpp):
//     normalize, score with Eigen GEMMs, select the r sources (select_first: one pass for small
//     r, heap / nth_element selection otherwise; never a full sort), write the plan row.
//   merge, merge_weighted, source_matrix: parallel over (batch, output token) pairs; each output
//     row is reduced from its members in ascending original index (results never depend on threads).
//   spread (unmerge, the backward passes): parallel over (batch, original token) pairs.
//   compose: parallel over the batch.
// Rows with unit channel stride take loops the compiler vectorizes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

#include "rescan/cpu/detail/merge_matching.hpp"
#include "rescan/cpu/parallel.hpp"
#include "rescan/merge/dispatch.hpp"
#include "rescan/merge/merge_plan.hpp"

namespace rescan::detail {

// Calls body(std::integral_constant<bool, unit>) with unit = every view has channel stride 1, so
// the channel loops see a constant stride where they can.
template <class Body, class... Views>
void with_channel_stride(const Body& body, const Views&... views) {
  if (((views.stride(views.rank - 1) == 1 || views.extent(views.rank - 1) <= 1) && ...)) {
    body(std::true_type{});
  } else {
    body(std::false_type{});
  }
}

template <bool Unit, class V>
index_t channel_stride(const V& view) {
  return Unit ? 1 : view.stride(V::rank - 1);
}

// Calls body(b, j, begin, end, o, so, sx, row_of) for every output token j of every batch item b, in
// parallel: members[begin, end) of j, o = &out(b, j, 0) with channel stride so, and row_of(t) =
// &x(b, t, 0), whose channel stride is sx.
template <class T, class Body>
void for_each_output_token(const cpu_t& backend, const merge_plan_arrays<const index_t>& plan,
                           const strided_view<const T, 3>& x, const strided_view<T, 3>& out, const Body& body) {
  const index_t tokens_out = out.extent(1);
  with_channel_stride([&](auto unit) {
    constexpr bool Unit = decltype(unit)::value;
    const index_t sx = channel_stride<Unit>(x), so = channel_stride<Unit>(out);
    parallel_for(team_of(backend), out.extent(0) * tokens_out, [&](index_t item) {
      const index_t b = item / tokens_out, j = item % tokens_out;
      const auto row_of = [&](index_t t) { return &x(b, t, 0); };
      body(b, j, plan.offsets(b, j), plan.offsets(b, j + 1), &out(b, j, 0), so, sx, row_of);
    });
  }, x, out);
}

template <>
struct merge_kernels<cpu_t> {
  static constexpr plan_memory memory = plan_memory::host;
  using plan_arrays = merge_plan_arrays<const index_t>;

  static std::shared_ptr<index_t> allocate(const cpu_t&, index_t count) {
    return std::shared_ptr<index_t>(new index_t[static_cast<std::size_t>(std::max<index_t>(count, 1))],
                                    std::default_delete<index_t[]>());
  }

  static void copy_to_host(const cpu_t&, const index_t* data, index_t count, index_t* host) {
    std::copy(data, data + count, host);
  }

  template <class M>
  static void match(const cpu_t& backend, const strided_view<const M, 3>& metric, const matching_layout& layout,
                    similarity kind, const merge_plan_arrays<index_t>& plan) {
    using S = std::conditional_t<std::is_same_v<M, double>, double, float>;
    const cpu_team team = team_of(backend);
    const index_t batch = metric.extent(0);
    const auto threads = static_cast<std::size_t>(std::min<index_t>(team.threads, batch));
    std::vector<matching_scratch<S>> scratch;
    scratch.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) scratch.emplace_back(layout, metric.extent(2));
    parallel_for(team, batch, [&](index_t b, int thread) {
      matching_scratch<S>& mine = scratch[static_cast<std::size_t>(thread)];
      normalize_participants(metric[b], layout, mine);
      best_destinations(layout, kind, mine);
      choose_sources(layout, mine);
      write_plan_row(layout, mine, plan, b);
    });
  }

  template <class T>
  static void merge(const cpu_t& backend, const plan_arrays& plan, const strided_view<const T, 3>& x,
                    const strided_view<T, 3>& out, merge_reduce reduce) {
    const index_t channels = out.extent(2);
    for_each_output_token(backend, plan, x, out, [&](index_t b, index_t /*j*/, index_t begin, index_t end, T* o, index_t so,
                                                   index_t sx, const auto& row_of) {
      const T* first = row_of(plan.members(b, begin));
      for (index_t c = 0; c < channels; ++c) o[c * so] = first[c * sx];
      for (index_t k = begin + 1; k < end; ++k) {
        const T* row = row_of(plan.members(b, k));
        switch (reduce) {
          case merge_reduce::sum:
          case merge_reduce::mean:
            for (index_t c = 0; c < channels; ++c) o[c * so] += row[c * sx];
            break;
          case merge_reduce::amax:
            for (index_t c = 0; c < channels; ++c) {
              const T v = row[c * sx], kept = o[c * so];
              o[c * so] = (v > kept || v != v) && kept == kept ? v : kept;
            }
            break;
          case merge_reduce::amin:
            for (index_t c = 0; c < channels; ++c) {
              const T v = row[c * sx], kept = o[c * so];
              o[c * so] = (v < kept || v != v) && kept == kept ? v : kept;
            }
            break;
        }
      }
      if (reduce == merge_reduce::mean && end - begin > 1) {
        const T count = static_cast<T>(end - begin);
        for (index_t c = 0; c < channels; ++c) o[c * so] /= count;
      }
    });
  }

  template <class T, class Size>
  static void merge_weighted(const cpu_t& backend, const plan_arrays& plan, const strided_view<const T, 3>& x,
                             const strided_view<const Size, 2>& size, const strided_view<T, 3>& out,
                             const strided_view<Size, 2>& size_out) {
    const index_t channels = out.extent(2);
    const bool with_size_out = size_out.data() != nullptr;
    for_each_output_token(backend, plan, x, out, [&](index_t b, index_t j, index_t begin, index_t end, T* o, index_t so,
                                                   index_t sx, const auto& row_of) {
      T total = 0;
      for (index_t k = begin; k < end; ++k) {
        const index_t t = plan.members(b, k);
        const T weight = static_cast<T>(size(b, t));
        const T* row = row_of(t);
        if (k == begin) {
          for (index_t c = 0; c < channels; ++c) o[c * so] = row[c * sx] * weight;
        } else {
          for (index_t c = 0; c < channels; ++c) o[c * so] += row[c * sx] * weight;
        }
        total += weight;
      }
      for (index_t c = 0; c < channels; ++c) o[c * so] /= total;
      if (with_size_out) size_out(b, j) = static_cast<Size>(total);
    });
  }

  // See spread_weight (merge/dispatch.hpp).
  template <class T>
  static void spread(const cpu_t& backend, const plan_arrays& plan, const strided_view<const T, 3>& in,
                     const strided_view<T, 3>& out, spread_weight weight, const strided_view<const T, 3>& x,
                     const strided_view<const T, 2>& size) {
    const index_t tokens = out.extent(1), channels = out.extent(2);
    with_channel_stride([&](auto unit) {
      constexpr bool Unit = decltype(unit)::value;
      const index_t si = channel_stride<Unit>(in), so = channel_stride<Unit>(out);
      parallel_for(team_of(backend), out.extent(0) * tokens, [&](index_t item) {
        const index_t b = item / tokens, t = item % tokens;
        const index_t j = plan.destination(b, t);
        T* o = &out(b, t, 0);
        if (j < 0) {
          for (index_t c = 0; c < channels; ++c) o[c * so] = T(0);
          return;
        }
        const T* g = &in(b, j, 0);
        const index_t begin = plan.offsets(b, j), end = plan.offsets(b, j + 1);
        switch (weight) {
          case spread_weight::one:
            for (index_t c = 0; c < channels; ++c) o[c * so] = g[c * si];
            break;
          case spread_weight::mean: {
            const T count = static_cast<T>(end - begin);
            for (index_t c = 0; c < channels; ++c) o[c * so] = g[c * si] / count;
            break;
          }
          case spread_weight::weighted: {
            T total = 0;
            for (index_t k = begin; k < end; ++k) total += size(b, plan.members(b, k));
            const T share = size(b, t) / total;
            for (index_t c = 0; c < channels; ++c) o[c * so] = g[c * si] * share;
            break;
          }
          case spread_weight::amax:
          case spread_weight::amin: {
            const bool largest = weight == spread_weight::amax;
            for (index_t c = 0; c < channels; ++c) {
              index_t winner = plan.members(b, begin);
              T kept = x(b, winner, c);
              for (index_t k = begin + 1; k < end && kept == kept; ++k) {
                const index_t u = plan.members(b, k);
                const T v = x(b, u, c);
                if (v != v || (largest ? v > kept : v < kept)) {
                  winner = u;
                  kept = v;
                }
              }
              o[c * so] = winner == t ? g[c * si] : T(0);
            }
            break;
          }
        }
      });
    }, in, out);
  }

  static void compose(const cpu_t& backend, const plan_arrays& first, const plan_arrays& second,
                      const merge_plan_arrays<index_t>& result) {
    const index_t batch = result.destination.extent(0), tokens = result.destination.extent(1);
    const index_t tokens_out = result.survivors.extent(1);
    const cpu_team team = team_of(backend);
    const auto threads = static_cast<std::size_t>(std::min<index_t>(team.threads, batch));
    std::vector<index_t> cursors(threads * static_cast<std::size_t>(tokens_out + 1));
    parallel_for(team, batch, [&](index_t b, int thread) {
      for (index_t t = 0; t < tokens; ++t) {
        const index_t middle = first.destination(b, t);
        result.destination(b, t) = middle < 0 ? -1 : second.destination(b, middle);
      }
      for (index_t j = 0; j < tokens_out; ++j) result.survivors(b, j) = first.survivors(b, second.survivors(b, j));
      result.class_out(b) = second.class_out(b);
      build_members(result.destination[b], result.offsets[b], result.members[b],
                    cursors.data() + static_cast<std::size_t>(thread) * static_cast<std::size_t>(tokens_out + 1));
    });
  }

  template <class T>
  static void source_matrix(const cpu_t& backend, const plan_arrays& plan, const strided_view<T, 3>& out) {
    const index_t tokens_out = out.extent(1), tokens = out.extent(2);
    parallel_for(team_of(backend), out.extent(0) * tokens_out, [&](index_t item) {
      const index_t b = item / tokens_out, j = item % tokens_out;
      for (index_t t = 0; t < tokens; ++t) out(b, j, t) = T(0);
      for (index_t k = plan.offsets(b, j); k < plan.offsets(b, j + 1); ++k) out(b, j, plan.members(b, k)) = T(1);
    });
  }
};

}  // namespace rescan::detail
