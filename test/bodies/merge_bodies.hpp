// Test bodies of token merging (bipartite_soft_matching, merge, merge_weighted, unmerge, their
// backward passes, composition), templated over a backend harness like the other bodies. Plans are
// compared with the plain-loop oracle of test/support/merge_reference.hpp.
#pragma once

#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/data.hpp"
#include "support/merge_reference.hpp"

namespace rescan::testing {

// The plan's arrays as host vectors (row-major).
struct plan_contents {
  std::vector<index_t> destination, survivors, offsets, members, class_out;
};

template <class Harness>
plan_contents contents_of(const merge_plan& plan) {
  const merge_plan host = plan_to_host(Harness::backend(), plan);
  auto flat = [](const auto& view) {
    std::vector<index_t> values;
    if constexpr (std::decay_t<decltype(view)>::rank == 1) {
      for (index_t i = 0; i < view.extent(0); ++i) values.push_back(view(i));
    } else {
      for (index_t i = 0; i < view.extent(0); ++i)
        for (index_t j = 0; j < view.extent(1); ++j) values.push_back(view(i, j));
    }
    return values;
  };
  return {flat(host.destination()), flat(host.survivors()), flat(host.offsets()), flat(host.members()),
          flat(host.class_token_out())};
}

// The plan agrees with the oracle: r, every array, and offsets/members consistent with destination.
template <class Harness>
void check_plan(const merge_plan& plan, const reference_plan& expected) {
  REQUIRE(plan.r() == expected.r);
  REQUIRE(plan.tokens_out() == expected.tokens_out);
  const plan_contents got = contents_of<Harness>(plan);
  CHECK(got.destination == expected.destination);
  CHECK(got.survivors == expected.survivors);
  CHECK(got.class_out == expected.class_out);
  const index_t tokens = expected.tokens, tokens_out = expected.tokens_out;
  for (index_t b = 0; b < expected.batch; ++b) {
    std::vector<index_t> listed;
    for (index_t j = 0; j < tokens_out; ++j) {
      const index_t begin = got.offsets[b * (tokens_out + 1) + j], end = got.offsets[b * (tokens_out + 1) + j + 1];
      const std::vector<index_t> group(got.members.begin() + b * tokens + begin, got.members.begin() + b * tokens + end);
      CHECK(group == expected.members(b, j));
    }
    const index_t kept = got.offsets[b * (tokens_out + 1) + tokens_out];
    for (index_t k = kept; k < tokens; ++k) CHECK(expected.destination[b * tokens + got.members[b * tokens + k]] == -1);
  }
}

inline std::string describe(const matching_options& o, index_t tokens, index_t r) {
  const char* kinds[] = {"cosine", "-l1", "-l2"};
  return "T " + std::to_string(tokens) + ", r " + std::to_string(r) + ", " + kinds[int(o.metric)] + ", " +
         (o.order == merge_order::tome ? "tome" : "preserve") + ", " + (o.mode == merge_mode::merge ? "merge" : "prune") +
         ", cls " + std::to_string(o.class_token) +
         (o.class_handling == class_token_handling::tome ? " (tome)" : " (take out)") + ", distill " +
         std::to_string(o.distill_token);
}

TEST_CASE_TEMPLATE_DEFINE("token merging: bipartite_soft_matching matches the plain-loop reference", Harness, merge_matching) {
  const index_t batch = 3, channels = 6;
  int variant = 0;
  for (index_t tokens : {1, 2, 3, 4, 8, 9, 16, 17}) {
    const auto metric = random_uniform<float>(static_cast<std::size_t>(batch * tokens * channels), -1, 1);
    auto device_metric = Harness::upload(metric);
    const auto view = make_view(device_metric.data(), {batch, tokens, channels});
    for (merge_order order : {merge_order::preserve, merge_order::tome})
      for (merge_mode mode : {merge_mode::merge, merge_mode::prune})
        for (index_t cls : {index_t(-1), index_t(0), tokens / 2, tokens - 1})
          for (class_token_handling handling : {class_token_handling::take_out, class_token_handling::tome})
            for (index_t distill : {index_t(-1), index_t(1)}) {
              if (cls < 0 && handling == class_token_handling::tome) continue;
              if (distill >= tokens || (distill >= 0 && distill == cls)) continue;
              for (index_t r : {index_t(0), index_t(1), index_t(3), tokens / 2, tokens}) {
                matching_options options;
                options.metric = static_cast<similarity>(variant++ % 3);
                options.order = order;
                options.mode = mode;
                options.class_token = cls;
                options.class_handling = handling;
                options.distill_token = distill;
                INFO(Harness::name << ": " << describe(options, tokens, r));
                const merge_plan plan = bipartite_soft_matching(Harness::backend(), view, r, options);
                CHECK(plan.r_requested() == r);
                CHECK(plan.r() == clamped_r(tokens, r, options));
                const reference_plan expected = reference_matching(metric, batch, tokens, channels, r, options);
                check_plan<Harness>(plan, expected);
                // The class token's position, known on the host where it is the same for the batch.
                const bool shared = cls == 0 || (cls > 0 && handling == class_token_handling::take_out);
                CHECK(plan.shared_class_token_out() == (shared ? expected.class_out[0] : -1));
                for (index_t b = 0; shared && b < batch; ++b) CHECK(expected.class_out[b] == plan.shared_class_token_out());
              }
            }
  }
}

TEST_CASE_TEMPLATE_DEFINE("token merging: matching at the model shapes: Vim (class token in the middle) and ToMe (class token first)",
                          Harness, merge_matching_model_shapes) {
  const index_t batch = 4, tokens = 197, channels = 48;
  const auto metric = random_uniform<float>(static_cast<std::size_t>(batch * tokens * channels), -1, 1);
  auto device_metric = Harness::upload(metric);
  // Every channel reversed and rows padded: strided metric views give the same plan.
  std::vector<float> padded(static_cast<std::size_t>(batch * tokens * (channels + 5)), 99.0f);
  for (index_t i = 0; i < batch * tokens; ++i)
    for (index_t c = 0; c < channels; ++c) padded[i * (channels + 5) + (channels - 1 - c)] = metric[i * channels + c];
  auto device_padded = Harness::upload(padded);
  const auto strided =
      make_strided_view(device_padded.data(), {batch, tokens, channels}, {tokens * (channels + 5), channels + 5, 1})
          .reversed(2);
  for (index_t r : {index_t(5), index_t(11), index_t(97), index_t(98), index_t(500)}) {
    matching_options vim;  // R-MeeTo defaults: preserve, merge, class token taken out
    vim.class_token = tokens / 2;
    matching_options tome;
    tome.order = merge_order::tome;
    tome.class_token = 0;
    tome.class_handling = class_token_handling::tome;
    for (const matching_options& options : {vim, tome}) {
      INFO(Harness::name << ": " << describe(options, tokens, r));
      const auto expected = reference_matching(metric, batch, tokens, channels, r, options);
      check_plan<Harness>(bipartite_soft_matching(Harness::backend(), make_view(device_metric.data(), {batch, tokens, channels}), r, options), expected);
      check_plan<Harness>(bipartite_soft_matching(Harness::backend(), strided, r, options), expected);
    }
  }
  // Wide rows and long sequences: several score tiles along both token axes and the channels.
  {
    const index_t wide_batch = 2, wide_tokens = 150, wide_channels = 600;
    const auto wide = random_uniform<float>(static_cast<std::size_t>(wide_batch * wide_tokens * wide_channels), -1, 1);
    auto device_wide = Harness::upload(wide);
    for (similarity kind : {similarity::cosine, similarity::negative_l2}) {
      matching_options options;
      options.metric = kind;
      options.class_token = 75;
      INFO(Harness::name << ": wide, " << describe(options, wide_tokens, 40));
      check_plan<Harness>(
          bipartite_soft_matching(Harness::backend(), make_view(device_wide.data(), {wide_batch, wide_tokens, wide_channels}), 40, options),
          reference_matching(wide, wide_batch, wide_tokens, wide_channels, 40, options));
    }
  }
  // A double metric.
  std::vector<double> metric64(metric.begin(), metric.end());
  auto device64 = Harness::upload(metric64);
  matching_options options;
  options.class_token = 98;
  check_plan<Harness>(bipartite_soft_matching(Harness::backend(), make_view(device64.data(), {batch, tokens, channels}), 23, options),
                      reference_matching(metric64, batch, tokens, channels, 23, options));
}

TEST_CASE_TEMPLATE_DEFINE("token merging: sequences around every plan tile size (256, 512, 2048 tokens) match the reference, composed too",
                          Harness, merge_plan_tiles) {
  // rescan::cuda sizes a plan's block by T (merge_tuning: up to 256, 512, 2048 tokens): T on both
  // sides of each boundary, under pruning (keys of pruned tokens and of the tile's padding) and
  // merging, r from 0 to its maximum; then plans composed at those sizes. 32 channels keep random
  // scores apart by far more than float rounding, so the float plans match the double reference.
  // Its own random engine: the shared one's sequence, and so every later test's data, stays as it was.
  const index_t channels = 32;
  std::mt19937_64 engine(2048);
  const auto uniform = [&](index_t count) { return random_uniform<float>(static_cast<std::size_t>(count), -1, 1, engine); };
  for (index_t tokens : {255, 256, 257, 511, 512, 513, 1000, 2047, 2048}) {
    const index_t batch = tokens < 1000 ? 2 : 1;
    const auto metric = uniform(batch * tokens * channels);
    auto device_metric = Harness::upload(metric);
    const auto view = make_view(device_metric.data(), {batch, tokens, channels});
    matching_options vim;  // preserve, merge, class token taken out
    vim.class_token = tokens / 2;
    matching_options tome;
    tome.order = merge_order::tome;
    tome.mode = merge_mode::prune;
    tome.class_token = 0;
    tome.class_handling = class_token_handling::tome;
    tome.distill_token = tokens - 1;
    for (const matching_options& options : {vim, tome}) {
      for (index_t r : {index_t(0), index_t(1), tokens / 3, tokens}) {
        INFO(Harness::name << ": " << describe(options, tokens, r));
        check_plan<Harness>(bipartite_soft_matching(Harness::backend(), view, r, options),
                            reference_matching(metric, batch, tokens, channels, r, options));
      }
    }
    // Composition: a plan over the first plan's output, composed; the reference composes the
    // two reference plans.
    for (const matching_options& options : {vim, tome}) {
      INFO(Harness::name << ": composed, " << describe(options, tokens, tokens / 4));
      const merge_plan first = bipartite_soft_matching(Harness::backend(), view, tokens / 4, options);
      const reference_plan first_expected = reference_matching(metric, batch, tokens, channels, tokens / 4, options);
      const index_t middle = first.tokens_out();
      const auto metric2 = uniform(batch * middle * channels);
      auto device_metric2 = Harness::upload(metric2);
      matching_options second_options = options;
      second_options.class_token = first_expected.class_out[0];
      second_options.distill_token = -1;
      const merge_plan second = bipartite_soft_matching(
          Harness::backend(), make_view(device_metric2.data(), {batch, middle, channels}), middle / 5, second_options);
      const reference_plan second_expected =
          reference_matching(metric2, batch, middle, channels, middle / 5, second_options);
      reference_plan both = second_expected;
      both.tokens = tokens;
      both.r = first_expected.r + second_expected.r;
      both.destination.assign(static_cast<std::size_t>(batch * tokens), -1);
      for (index_t b = 0; b < batch; ++b) {
        for (index_t t = 0; t < tokens; ++t) {
          const index_t m = first_expected.destination[b * tokens + t];
          both.destination[b * tokens + t] = m < 0 ? -1 : second_expected.destination[b * middle + m];
        }
        for (index_t j = 0; j < both.tokens_out; ++j) {
          both.survivors[b * both.tokens_out + j] =
              first_expected.survivors[b * middle + second_expected.survivors[b * both.tokens_out + j]];
        }
      }
      check_plan<Harness>(compose(Harness::backend(), first, second), both);
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("token merging: ties: equal scores merge in a stable descending order, lowest destination first", Harness,
                          merge_ties) {
  // Every token the same: every score ties, so the sources are the first r tokens of set A and
  // every one goes to the first destination.
  const index_t batch = 2, tokens = 10, channels = 3;
  std::vector<float> metric(static_cast<std::size_t>(batch * tokens * channels), 0.5f);
  auto device_metric = Harness::upload(metric);
  matching_options options;
  options.order = merge_order::tome;
  const merge_plan plan =
      bipartite_soft_matching(Harness::backend(), make_view(device_metric.data(), {batch, tokens, channels}), 3, options);
  const plan_contents got = contents_of<Harness>(plan);
  // A = 0 2 4 6 8, B = 1 3 5 7 9: sources 0 2 4 -> destination token 1; survivors 6 8 1 3 5 7 9.
  const std::vector<index_t> survivors = {6, 8, 1, 3, 5, 7, 9};
  CHECK(std::vector<index_t>(got.survivors.begin(), got.survivors.begin() + 7) == survivors);
  CHECK(got.destination[0] == 2);
  CHECK(got.destination[2] == 2);
  CHECK(got.destination[4] == 2);
  CHECK(got.destination[6] == 0);
  check_plan<Harness>(plan, reference_matching(metric, batch, tokens, channels, 3, options));
  // A zero metric row normalizes to zero (cosine 0 with everything), so it is merged last.
  std::vector<float> with_zero = random_uniform<float>(static_cast<std::size_t>(tokens * channels), 0.1, 1);
  for (index_t c = 0; c < channels; ++c) with_zero[static_cast<std::size_t>(2 * channels + c)] = 0.0f;
  auto device_zero = Harness::upload(with_zero);
  const merge_plan zero_plan = bipartite_soft_matching(Harness::backend(), make_view(device_zero.data(), {1, tokens, channels}), 4);
  CHECK(contents_of<Harness>(zero_plan).destination[2] == 1);  // token 2 kept; it is the second survivor
  check_plan<Harness>(zero_plan, reference_matching(with_zero, 1, tokens, channels, 4, matching_options{}));
  // A NaN metric row scores NaN against everything: it never wins, sorts after every finite
  // score, and when r reaches it, it goes to the first allowed destination.
  {
    const index_t nan_batch = 3, nan_tokens = 11;
    auto with_nan = random_uniform<float>(static_cast<std::size_t>(nan_batch * nan_tokens * channels), -1, 1);
    for (index_t b = 1; b < nan_batch; ++b)
      with_nan[static_cast<std::size_t>((b * nan_tokens + 2 * b) * channels)] = std::numeric_limits<float>::quiet_NaN();
    auto device_nan = Harness::upload(with_nan);
    matching_options nan_options;
    nan_options.distill_token = 0;  // 5 sources may merge and r = 5: the NaN rows merge too
    const merge_plan nan_plan = bipartite_soft_matching(Harness::backend(), make_view(device_nan.data(), {nan_batch, nan_tokens, channels}), 5, nan_options);
    check_plan<Harness>(nan_plan, reference_matching(with_nan, nan_batch, nan_tokens, channels, 5, nan_options));
  }
  // Zero rows under every similarity (a zero row is at distance 1 from every unit row, so -l2 and
  // -l1 order it unlike cosine).
  const index_t rows = 6, long_tokens = 24;
  auto zeros = random_uniform<float>(static_cast<std::size_t>(rows * long_tokens * channels), -1, 1);
  for (index_t i = 0; i < rows * long_tokens; i += 3)
    for (index_t c = 0; c < channels; ++c) zeros[static_cast<std::size_t>(i * channels + c)] = 0.0f;
  auto device_zeros = Harness::upload(zeros);
  for (similarity kind : {similarity::cosine, similarity::negative_l1, similarity::negative_l2}) {
    matching_options zero_options;
    zero_options.metric = kind;
    INFO(Harness::name << ": zero rows, " << describe(zero_options, long_tokens, 8));
    check_plan<Harness>(bipartite_soft_matching(Harness::backend(), make_view(device_zeros.data(), {rows, long_tokens, channels}), 8, zero_options),
                        reference_matching(zeros, rows, long_tokens, channels, 8, zero_options));
  }
}

// A plan and its oracle for the application tests: Vim-like options, pruning or merging.
template <class Harness>
std::pair<merge_plan, reference_plan> sample_plan(index_t batch, index_t tokens, index_t r, merge_mode mode,
                                                  merge_order order = merge_order::preserve) {
  const index_t channels = 5;
  const auto metric = random_uniform<float>(static_cast<std::size_t>(batch * tokens * channels), -1, 1);
  auto device_metric = Harness::upload(metric);
  matching_options options;
  options.class_token = tokens / 2;
  options.mode = mode;
  options.order = order;
  return {bipartite_soft_matching(Harness::backend(), make_view(device_metric.data(), {batch, tokens, channels}), r, options),
          reference_matching(metric, batch, tokens, channels, r, options)};
}

TEST_CASE_TEMPLATE_DEFINE("token merging: merge, merge_weighted and unmerge match the reference, on strided views too", Harness,
                          merge_apply) {
  // 7 channels: one pass of the weighted merge, some threads idle; 600: every thread sums
  // channel_unroll channels a pass, in two passes (CUDA). The 600-channel round's random draws are
  // taken back afterwards, so the tests after this one see the same data as before it was added.
  const index_t batch = 3, tokens = 21;
  std::optional<random_draws_taken_back> wide_round;
  for (index_t channels : {index_t(7), index_t(600)}) {
    if (channels == 600) wide_round.emplace();
    for (merge_mode mode : {merge_mode::merge, merge_mode::prune}) {
      for (index_t r : {index_t(0), index_t(4), index_t(10)}) {
        INFO(Harness::name << ": r " << r << (mode == merge_mode::prune ? ", prune" : ", merge"));
        const auto [plan, expected] = sample_plan<Harness>(batch, tokens, r, mode);
        const index_t tokens_out = plan.tokens_out();
        const auto x = random_uniform<double>(static_cast<std::size_t>(batch * tokens * channels), -3, 3);
        auto device_x = Harness::upload(x);
        const auto x_view = make_view(device_x.data(), {batch, tokens, channels});
        // out stored channel-major: (batch, tokens_out, C) with strides (T_out C, 1, T_out).
        auto out = Harness::template allocate<double>(static_cast<std::size_t>(batch * tokens_out * channels));
        const auto out_view =
            make_strided_view(out.data(), {batch, tokens_out, channels}, {tokens_out * channels, 1, tokens_out});
        auto read_out = [&] {
          const auto stored = Harness::download(out);
          std::vector<double> logical(stored.size());
          for (index_t b = 0; b < batch; ++b)
            for (index_t j = 0; j < tokens_out; ++j)
              for (index_t c = 0; c < channels; ++c)
                logical[(b * tokens_out + j) * channels + c] = stored[b * tokens_out * channels + c * tokens_out + j];
          return logical;
        };
        for (merge_reduce reduce : {merge_reduce::sum, merge_reduce::mean, merge_reduce::amax, merge_reduce::amin}) {
          INFO("reduce " << name_of(reduce));
          merge(Harness::backend(), plan, x_view, out_view, reduce);
          check_all_close(read_out(), reference_merge(expected, x, channels, reduce), tolerance{1e-12, 1e-12});
        }
        const auto size = random_uniform<double>(static_cast<std::size_t>(batch * tokens), 0.5, 4);
        auto device_size = Harness::upload(size);
        auto size_out = Harness::template allocate<double>(static_cast<std::size_t>(batch * tokens_out));
        merge_weighted(Harness::backend(), plan, x_view, make_view(device_size.data(), {batch, tokens}), out_view,
                       make_view(size_out.data(), {batch, tokens_out}));
        std::vector<double> expected_out, expected_size;
        reference_merge_weighted(expected, x, size, channels, expected_out, expected_size);
        check_all_close(read_out(), expected_out, tolerance{1e-12, 1e-12});
        check_all_close(Harness::download(size_out), expected_size, tolerance{1e-12, 1e-12});
        // Float x with double sizes, without size_out.
        std::vector<float> xf(x.begin(), x.end());
        auto device_xf = Harness::upload(xf);
        auto outf = Harness::template allocate<float>(static_cast<std::size_t>(batch * tokens_out * channels));
        merge_weighted(Harness::backend(), plan, make_view(device_xf.data(), {batch, tokens, channels}),
                       make_view(device_size.data(), {batch, tokens}), make_view(outf.data(), {batch, tokens_out, channels}));
        const auto gotf = Harness::download(outf);
        check_all_close(std::vector<double>(gotf.begin(), gotf.end()), expected_out, tolerance{1e-5, 1e-5});
        // unmerge from a padded, reversed-channel merged tensor.
        const auto merged = random_uniform<double>(static_cast<std::size_t>(batch * tokens_out * channels), -3, 3);
        std::vector<double> merged_storage(static_cast<std::size_t>(batch * tokens_out * (channels + 2)), 7.0);
        for (index_t i = 0; i < batch * tokens_out; ++i)
          for (index_t c = 0; c < channels; ++c)
            merged_storage[i * (channels + 2) + channels - 1 - c] = merged[i * channels + c];
        auto device_merged = Harness::upload(merged_storage);
        const auto merged_view = make_strided_view(device_merged.data(), {batch, tokens_out, channels},
                                                   {tokens_out * (channels + 2), channels + 2, 1})
                                     .reversed(2);
        auto unmerged = Harness::template allocate<double>(static_cast<std::size_t>(batch * tokens * channels));
        unmerge(Harness::backend(), plan, merged_view, make_view(unmerged.data(), {batch, tokens, channels}));
        check_all_close(Harness::download(unmerged), reference_unmerge(expected, merged, channels), tolerance{});
      }
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("token merging: properties: sizes add up, order is kept, unmerge inverts merge where nothing merged, constants stay",
                          Harness, merge_properties) {
  const index_t batch = 4, tokens = 33, channels = 6;
  for (merge_order order : {merge_order::preserve, merge_order::tome}) {
    const auto [plan, expected] = sample_plan<Harness>(batch, tokens, 9, merge_mode::merge, order);
    (void)expected;
    const index_t tokens_out = plan.tokens_out();
    const plan_contents got = contents_of<Harness>(plan);
    // Sizes: merge_weighted of unit sizes sums to T per batch item and equals the group sizes.
    auto ones = Harness::upload(std::vector<float>(static_cast<std::size_t>(batch * tokens), 1.0f));
    const auto x = random_uniform<float>(static_cast<std::size_t>(batch * tokens * channels), -1, 1);
    auto device_x = Harness::upload(x);
    auto out = Harness::template allocate<float>(static_cast<std::size_t>(batch * tokens_out * channels));
    auto sizes = Harness::template allocate<float>(static_cast<std::size_t>(batch * tokens_out));
    merge_weighted(Harness::backend(), plan, make_view(device_x.data(), {batch, tokens, channels}),
                   make_view(ones.data(), {batch, tokens}), make_view(out.data(), {batch, tokens_out, channels}),
                   make_view(sizes.data(), {batch, tokens_out}));
    const auto s = Harness::download(sizes);
    for (index_t b = 0; b < batch; ++b) {
      CHECK(std::accumulate(s.begin() + b * tokens_out, s.begin() + (b + 1) * tokens_out, 0.0f) == float(tokens));
      for (index_t j = 0; j < tokens_out; ++j) {
        const index_t size = got.offsets[b * (tokens_out + 1) + j + 1] - got.offsets[b * (tokens_out + 1) + j];
        CHECK(s[b * tokens_out + j] == float(size));
      }
      // preserve: survivors ascending apart from the class token (put back at floor(p (T - r) / T)).
      if (order == merge_order::preserve) {
        std::vector<index_t> rest;
        for (index_t j = 0; j < tokens_out; ++j)
          if (got.survivors[b * tokens_out + j] != tokens / 2) rest.push_back(got.survivors[b * tokens_out + j]);
        CHECK(std::is_sorted(rest.begin(), rest.end()));
        CHECK(got.class_out[b] == (tokens / 2) * tokens_out / tokens);
      }
      CHECK(got.survivors[b * tokens_out + got.class_out[b]] == tokens / 2);
    }
    // unmerge(merge(x)) == x at tokens alone in their group (the mean of one row is that row).
    merge(Harness::backend(), plan, make_view(device_x.data(), {batch, tokens, channels}),
          make_view(out.data(), {batch, tokens_out, channels}), merge_reduce::mean);
    auto back = Harness::template allocate<float>(x.size());
    unmerge(Harness::backend(), plan, make_view(out.data(), {batch, tokens_out, channels}),
            make_view(back.data(), {batch, tokens, channels}));
    const auto restored = Harness::download(back);
    index_t alone = 0;
    for (index_t b = 0; b < batch; ++b)
      for (index_t t = 0; t < tokens; ++t) {
        const index_t j = got.destination[b * tokens + t];
        if (got.offsets[b * (tokens_out + 1) + j + 1] - got.offsets[b * (tokens_out + 1) + j] != 1) continue;
        ++alone;
        for (index_t c = 0; c < channels; ++c)
          CHECK(restored[(b * tokens + t) * channels + c] == x[(b * tokens + t) * channels + c]);
      }
    CHECK(alone >= batch * (tokens - 2 * 9));  // r sources and at most r destinations: >= T - 2r alone
    // A constant sequence merges to itself (every reduction, and the weighted mean) and unmerges back.
    std::vector<float> constant(x.size());
    for (std::size_t i = 0; i < constant.size(); ++i) constant[i] = 0.25f * float(i % channels) - 0.5f;
    auto device_constant = Harness::upload(constant);
    for (merge_reduce reduce : {merge_reduce::mean, merge_reduce::amax, merge_reduce::amin}) {
      merge(Harness::backend(), plan, make_view(device_constant.data(), {batch, tokens, channels}),
            make_view(out.data(), {batch, tokens_out, channels}), reduce);
      unmerge(Harness::backend(), plan, make_view(out.data(), {batch, tokens_out, channels}),
              make_view(back.data(), {batch, tokens, channels}));
      CHECK(Harness::download(back) == constant);
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("token merging: NaN propagates through sum, amax and amin, and takes the gradient of amax and amin", Harness,
                          merge_nan) {
  const auto [plan, expected] = sample_plan<Harness>(1, 12, 5, merge_mode::merge);
  const index_t tokens_out = plan.tokens_out();
  // A group of at least two members; its last member holds a NaN in channel 1.
  index_t group = 0;
  while (expected.members(0, group).size() < 2) ++group;
  const index_t holder = expected.members(0, group).back(), first = expected.members(0, group).front();
  std::vector<float> x(12 * 2, 1.0f);
  x[static_cast<std::size_t>(holder * 2 + 1)] = std::numeric_limits<float>::quiet_NaN();
  auto device_x = Harness::upload(x);
  auto out = Harness::template allocate<float>(static_cast<std::size_t>(tokens_out * 2));
  auto grad = Harness::template allocate<float>(x.size());
  auto ones = Harness::upload(std::vector<float>(static_cast<std::size_t>(tokens_out * 2), 1.0f));
  for (merge_reduce reduce : {merge_reduce::sum, merge_reduce::amax, merge_reduce::amin}) {
    INFO(Harness::name << ": " << name_of(reduce));
    merge(Harness::backend(), plan, make_view(device_x.data(), {1, 12, 2}), make_view(out.data(), {1, tokens_out, 2}), reduce);
    const auto merged = Harness::download(out);
    CHECK(std::isnan(merged[static_cast<std::size_t>(group * 2 + 1)]));
    CHECK(!std::isnan(merged[static_cast<std::size_t>(group * 2)]));
    if (reduce == merge_reduce::sum) continue;
    merge_backward(Harness::backend(), plan, make_view(ones.data(), {1, tokens_out, 2}), make_view(grad.data(), {1, 12, 2}),
                   reduce, make_view(device_x.data(), {1, 12, 2}));
    const auto g = Harness::download(grad);
    CHECK(g[static_cast<std::size_t>(holder * 2 + 1)] == 1.0f);  // the NaN holds the extremum
    CHECK(g[static_cast<std::size_t>(first * 2 + 1)] == 0.0f);
    CHECK(g[static_cast<std::size_t>(first * 2)] == 1.0f);  // channel 0 ties: the first member
    CHECK(g[static_cast<std::size_t>(holder * 2)] == 0.0f);
  }
}

// <a, b> over two equally long vectors.
inline double inner(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

TEST_CASE_TEMPLATE_DEFINE("token merging: every backward pass is the adjoint of its forward: <f(x), y> = <x, f^T(y)>", Harness,
                          merge_adjoints) {
  const index_t batch = 3, tokens = 25, channels = 4;
  for (merge_mode mode : {merge_mode::merge, merge_mode::prune}) {
    const auto [plan, expected] = sample_plan<Harness>(batch, tokens, 8, mode);
    (void)expected;
    const index_t tokens_out = plan.tokens_out();
    const auto x = random_uniform<double>(static_cast<std::size_t>(batch * tokens * channels), -2, 2);
    const auto y = random_uniform<double>(static_cast<std::size_t>(batch * tokens_out * channels), -2, 2);
    const auto size = random_uniform<double>(static_cast<std::size_t>(batch * tokens), 0.5, 3);
    auto dx = Harness::upload(x);
    auto dy = Harness::upload(y);
    auto dsize = Harness::upload(size);
    auto fx = Harness::template allocate<double>(y.size());
    auto fty = Harness::template allocate<double>(x.size());
    const auto x_view = make_view(dx.data(), {batch, tokens, channels});
    const auto y_view = make_view(dy.data(), {batch, tokens_out, channels});
    const auto fx_view = make_view(fx.data(), {batch, tokens_out, channels});
    const auto fty_view = make_view(fty.data(), {batch, tokens, channels});
    const tolerance close{1e-12, 1e-12};
    // amax / amin are piecewise linear and positively homogeneous: f(x) = J(x) x, so the identity
    // holds with the Jacobian at x.
    for (merge_reduce reduce : {merge_reduce::sum, merge_reduce::mean, merge_reduce::amax, merge_reduce::amin}) {
      INFO(Harness::name << ": merge " << name_of(reduce) << (mode == merge_mode::prune ? ", prune" : ""));
      merge(Harness::backend(), plan, x_view, fx_view, reduce);
      merge_backward(Harness::backend(), plan, y_view, fty_view, reduce, x_view);
      CHECK(close.close(inner(Harness::download(fx), y), inner(x, Harness::download(fty))));
    }
    merge_weighted(Harness::backend(), plan, x_view, make_view(dsize.data(), {batch, tokens}), fx_view);
    merge_weighted_backward(Harness::backend(), plan, make_view(dsize.data(), {batch, tokens}), y_view, fty_view);
    CHECK(close.close(inner(Harness::download(fx), y), inner(x, Harness::download(fty))));
    // unmerge: (batch, T_out, C) -> (batch, T, C); its adjoint maps x-shaped gradients back.
    unmerge(Harness::backend(), plan, y_view, fty_view);
    unmerge_backward(Harness::backend(), plan, x_view, fx_view);
    CHECK(close.close(inner(Harness::download(fty), x), inner(y, Harness::download(fx))));
  }
  // amax ties: the whole gradient goes to the first member holding the maximum.
  const auto [plan, expected] = sample_plan<Harness>(1, 9, 4, merge_mode::merge);
  const plan_contents got = contents_of<Harness>(plan);
  const index_t tokens_out = plan.tokens_out();
  auto tied = Harness::upload(std::vector<double>(9, 1.0));
  auto ones = Harness::upload(std::vector<double>(static_cast<std::size_t>(tokens_out), 1.0));
  auto grad = Harness::template allocate<double>(9);
  merge_backward(Harness::backend(), plan, make_view(ones.data(), {1, tokens_out, 1}), make_view(grad.data(), {1, 9, 1}),
                 merge_reduce::amax, make_view(tied.data(), {1, 9, 1}));
  const auto g = Harness::download(grad);
  for (index_t t = 0; t < 9; ++t) {
    const index_t j = expected.destination[t];
    CHECK(g[t] == (expected.members(0, j).front() == t ? 1.0 : 0.0));
  }
  (void)got;
}

TEST_CASE_TEMPLATE_DEFINE("token merging: composed plans equal the plans applied one after the other, tracked through the source map",
                          Harness, merge_composition) {
  const index_t batch = 3, tokens = 30, channels = 8;
  for (merge_mode mode : {merge_mode::merge, merge_mode::prune}) {
    INFO(Harness::name << (mode == merge_mode::prune ? ": prune" : ": merge"));
    const auto x0 = random_uniform<double>(static_cast<std::size_t>(batch * tokens * channels), -1, 1);
    auto d0 = Harness::upload(x0);
    matching_options options;
    options.class_token = 15;
    options.mode = mode;
    const merge_plan first = bipartite_soft_matching(Harness::backend(), make_view(d0.data(), {batch, tokens, channels}), 7, options);
    const index_t t1 = first.tokens_out();
    auto ones = Harness::upload(std::vector<double>(static_cast<std::size_t>(batch * tokens), 1.0));
    auto d1 = Harness::template allocate<double>(static_cast<std::size_t>(batch * t1 * channels));
    auto size1 = Harness::template allocate<double>(static_cast<std::size_t>(batch * t1));
    merge_weighted(Harness::backend(), first, make_view(d0.data(), {batch, tokens, channels}),
                   make_view(ones.data(), {batch, tokens}), make_view(d1.data(), {batch, t1, channels}),
                   make_view(size1.data(), {batch, t1}));
    options.class_token = contents_of<Harness>(first).class_out[0];
    const merge_plan second = bipartite_soft_matching(Harness::backend(), make_view(d1.data(), {batch, t1, channels}), 6, options);
    const index_t t2 = second.tokens_out();
    auto d2 = Harness::template allocate<double>(static_cast<std::size_t>(batch * t2 * channels));
    auto size2 = Harness::template allocate<double>(static_cast<std::size_t>(batch * t2));
    merge_weighted(Harness::backend(), second, make_view(d1.data(), {batch, t1, channels}),
                   make_view(size1.data(), {batch, t1}), make_view(d2.data(), {batch, t2, channels}),
                   make_view(size2.data(), {batch, t2}));
    const merge_plan both = compose(Harness::backend(), first, second);
    CHECK(both.tokens_in() == tokens);
    CHECK(both.tokens_out() == t2);
    CHECK(both.r() == first.r() + second.r());
    // Source map tracked layer by layer (ToMe: source = merge(source, amax), starting from the
    // identity) equals the composed plan's source matrix.
    std::vector<double> identity(static_cast<std::size_t>(batch * tokens * tokens), 0.0);
    for (index_t b = 0; b < batch; ++b)
      for (index_t t = 0; t < tokens; ++t) identity[(b * tokens + t) * tokens + t] = 1.0;
    auto source0 = Harness::upload(identity);
    auto source1 = Harness::template allocate<double>(static_cast<std::size_t>(batch * t1 * tokens));
    auto source2 = Harness::template allocate<double>(static_cast<std::size_t>(batch * t2 * tokens));
    auto composed_source = Harness::template allocate<double>(static_cast<std::size_t>(batch * t2 * tokens));
    merge(Harness::backend(), first, make_view(source0.data(), {batch, tokens, tokens}),
          make_view(source1.data(), {batch, t1, tokens}), merge_reduce::amax);
    merge(Harness::backend(), second, make_view(source1.data(), {batch, t1, tokens}),
          make_view(source2.data(), {batch, t2, tokens}), merge_reduce::amax);
    source_matrix(Harness::backend(), both, make_view(composed_source.data(), {batch, t2, tokens}));
    if (mode == merge_mode::merge) {
      CHECK(Harness::download(composed_source) == Harness::download(source2));
    } else {
      // A pruned token's row is dropped, so its column is all zero in both.
      CHECK(Harness::download(composed_source) == Harness::download(source2));
    }
    // Weighted merge with the composed plan from unit sizes == the two steps with tracked sizes.
    auto direct = Harness::template allocate<double>(static_cast<std::size_t>(batch * t2 * channels));
    auto direct_size = Harness::template allocate<double>(static_cast<std::size_t>(batch * t2));
    merge_weighted(Harness::backend(), both, make_view(d0.data(), {batch, tokens, channels}),
                   make_view(ones.data(), {batch, tokens}), make_view(direct.data(), {batch, t2, channels}),
                   make_view(direct_size.data(), {batch, t2}));
    check_all_close(Harness::download(direct), Harness::download(d2), tolerance{1e-12, 1e-12});
    CHECK(Harness::download(direct_size) == Harness::download(size2));
    // Class token followed through both plans.
    const plan_contents c = contents_of<Harness>(both);
    CHECK(both.shared_class_token_out() == c.class_out[0]);
    for (index_t b = 0; b < batch; ++b) {
      CHECK(c.survivors[b * t2 + c.class_out[b]] == 15);
      CHECK(c.destination[b * tokens + 15] == c.class_out[b]);
    }
  }
}

TEST_CASE_TEMPLATE_DEFINE("token merging rejects bad arguments with clear errors", Harness, merge_errors) {
  const auto metric = random_uniform<float>(2 * 8 * 3, -1, 1);
  auto device_metric = Harness::upload(metric);
  const auto view = make_view(device_metric.data(), {2, 8, 3});
  const auto backend = Harness::backend();
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, view, -1), value_error,
                                    "bipartite_soft_matching: r = -1 but must be >= 0");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, make_view(device_metric.data(), {2, 0, 3}), 1),
                                    value_error, "bipartite_soft_matching: metric.extent(1) = 0 (no tokens)");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, make_view(device_metric.data(), {2, 8, 0}), 1),
                                    value_error, "bipartite_soft_matching: metric.extent(2) = 0 (no channels)");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, make_strided_view(device_metric.data(), {2, -8, 3}, {24, 3, 1}), 1),
                                    shape_error, "bipartite_soft_matching: metric.extent(1) = -8 but extents must be >= 0");
  matching_options options;
  options.class_token = 8;
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, view, 1, options), value_error,
                                    "bipartite_soft_matching: options.class_token = 8 but must be in [-1, 7]");
  options.class_token = 3;
  options.distill_token = 3;
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, view, 1, options), value_error,
                                    "options.distill_token = 3 but that is options.class_token");
  options.distill_token = -2;
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(bipartite_soft_matching(backend, view, 1, options), value_error,
                                    "options.distill_token = -2 but must be in [-1, 7]");
  const merge_plan plan = bipartite_soft_matching(backend, view, 3);
  CHECK(plan.tokens_out() == 5);
  auto x = Harness::upload(std::vector<float>(2 * 8 * 4, 1.0f));
  auto out = Harness::template allocate<float>(2 * 8 * 4);
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(merge(backend, plan, make_view(x.data(), {2, 7, 4}), make_view(out.data(), {2, 5, 4})),
                                    shape_error, "merge: x.extent(1) = 7 but plan.tokens_in() = 8");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(merge(backend, plan, make_view(x.data(), {1, 8, 4}), make_view(out.data(), {2, 5, 4})),
                                    shape_error, "merge: x.extent(0) = 1 but plan.batch() = 2");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(merge(backend, plan, make_view(x.data(), {2, 8, 4}), make_view(out.data(), {2, 6, 4})),
                                    shape_error, "merge: out.extent(1) = 6 but plan.tokens_out() = 5");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(merge(backend, plan, make_view(x.data(), {2, 8, 4}), make_view(out.data(), {2, 5, 3})),
                                    shape_error, "merge: out.extent(2) = 3 but x.extent(2) = 4");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(merge(backend, merge_plan{}, make_view(x.data(), {2, 8, 4}), make_view(out.data(), {2, 5, 4})),
                                    value_error, "merge: plan is empty (default-constructed)");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(unmerge(backend, plan, make_view(x.data(), {2, 8, 4}), make_view(out.data(), {2, 8, 4})),
                                    shape_error, "unmerge: merged.extent(1) = 8 but plan.tokens_out() = 5");
  auto size = Harness::upload(std::vector<float>(16, 1.0f));
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      merge_weighted(backend, plan, make_view(x.data(), {2, 8, 4}), make_view(size.data(), {2, 7}), make_view(out.data(), {2, 5, 4})),
      shape_error, "merge_weighted: size.extent(1) = 7 but plan.tokens_in() = 8");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      merge_weighted(backend, plan, make_view(x.data(), {2, 8, 4}), make_view(size.data(), {2, 8}), make_view(out.data(), {2, 5, 4}),
                     make_view(size.data(), {2, 4})),
      shape_error, "merge_weighted: size_out.extent(1) = 4 but plan.tokens_out() = 5");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      merge_backward(backend, plan, make_view(out.data(), {2, 5, 4}), make_view(x.data(), {2, 8, 4}), merge_reduce::amax),
      value_error, "merge_backward: reduce = amax needs x");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(
      merge_weighted_backward(backend, plan, make_view(size.data(), {2, 8}), make_view(out.data(), {2, 5, 4}), make_view(x.data(), {2, 8, 3})),
      shape_error, "merge_weighted_backward: grad_x.extent(2) = 3 but grad_out.extent(2) = 4");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(compose(backend, plan, plan), shape_error,
                                    "compose: second.tokens_in() = 8 but first.tokens_out() = 5");
  RESCAN_CHECK_THROWS_WITH_FRAGMENT(source_matrix(backend, plan, make_view(out.data(), {2, 5, 7})), shape_error,
                                    "source_matrix: out.extent(2) = 7 but plan.tokens_in() = 8");
  // Empty batches are fine: a plan with no batch items, and merges of it that do nothing.
  const merge_plan none = bipartite_soft_matching(backend, make_view(device_metric.data(), {0, 8, 3}), 2);
  CHECK(none.batch() == 0);
  CHECK(none.tokens_out() == 6);
  merge(backend, none, make_view(x.data(), {0, 8, 4}), make_view(out.data(), {0, 6, 4}));
}

}  // namespace rescan::testing
