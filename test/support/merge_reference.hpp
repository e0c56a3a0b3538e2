// Plain-loop oracle of token merging, written from the algorithm's description (ToMe's bipartite
// soft matching, R-MeeTo's order-preserving variant; DESIGN.md §5), in double, one batch item at a
// time, sharing no code with the library: lists of participants, a stable sort, vector inserts.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <rescan/merge/merge_options.hpp>

namespace rescan::testing {

struct reference_plan {
  index_t batch = 0, tokens = 0, tokens_out = 0, r = 0;
  std::vector<index_t> destination;  // (batch, tokens), -1 = pruned
  std::vector<index_t> survivors;    // (batch, tokens_out)
  std::vector<index_t> class_out;    // (batch)

  // Original tokens in output token j of batch item b, ascending.
  std::vector<index_t> members(index_t b, index_t j) const {
    std::vector<index_t> result;
    for (index_t t = 0; t < tokens; ++t)
      if (destination[b * tokens + t] == j) result.push_back(t);
    return result;
  }
};

inline double reference_similarity(const std::vector<double>& x, const std::vector<double>& y, similarity kind) {
  double dot = 0, l1 = 0, l2 = 0;
  for (std::size_t c = 0; c < x.size(); ++c) {
    dot += x[c] * y[c];
    l1 += std::fabs(x[c] - y[c]);
    l2 += (x[c] - y[c]) * (x[c] - y[c]);
  }
  switch (kind) {
    case similarity::cosine: return dot;
    case similarity::negative_l1: return -l1;
    default: return -std::sqrt(l2);
  }
}

// metric: (batch, tokens, channels) row-major.
template <class M>
reference_plan reference_matching(const std::vector<M>& metric, index_t batch, index_t tokens, index_t channels,
                                  index_t r, const matching_options& options) {
  const index_t cls = options.class_token, distill = options.distill_token;
  const bool take_out = cls >= 0 && options.class_handling == class_token_handling::take_out;
  std::vector<index_t> participants;
  for (index_t t = 0; t < tokens; ++t)
    if (!(take_out && t == cls)) participants.push_back(t);
  std::vector<index_t> set_a, set_b;
  for (std::size_t i = 0; i < participants.size(); ++i) (i % 2 == 0 ? set_a : set_b).push_back(participants[i]);
  auto may_be_source = [&](index_t t) { return t != distill && !(t == cls && !take_out); };
  auto may_be_destination = [&](index_t t) { return t != distill; };
  const index_t protected_count = (cls >= 0 ? 1 : 0) + (distill >= 0 ? 1 : 0);
  const index_t sources_allowed = std::count_if(set_a.begin(), set_a.end(), may_be_source);
  const index_t destinations_allowed = std::count_if(set_b.begin(), set_b.end(), may_be_destination);
  index_t used = std::min({r, (tokens - protected_count) / 2, sources_allowed});
  if (destinations_allowed == 0) used = 0;

  reference_plan plan;
  plan.batch = batch;
  plan.tokens = tokens;
  plan.r = used;
  plan.tokens_out = tokens - used;
  for (index_t b = 0; b < batch; ++b) {
    auto row = [&](index_t t) {
      std::vector<double> v(static_cast<std::size_t>(channels));
      double norm = 0;
      for (index_t c = 0; c < channels; ++c) {
        v[c] = static_cast<double>(metric[(b * tokens + t) * channels + c]);
        norm += v[c] * v[c];
      }
      norm = std::sqrt(norm);
      if (norm > 0)
        for (auto& value : v) value /= norm;
      return v;
    };
    // Best destination of every allowed source.
    std::vector<index_t> candidates, best(set_a.size());
    std::vector<double> node_max(set_a.size(), -std::numeric_limits<double>::infinity());
    for (std::size_t a = 0; a < set_a.size(); ++a) {
      if (!may_be_source(set_a[a])) continue;
      candidates.push_back(static_cast<index_t>(a));
      bool found = false;
      for (std::size_t j = 0; j < set_b.size(); ++j) {
        if (!may_be_destination(set_b[j])) continue;
        const double score = reference_similarity(row(set_a[a]), row(set_b[j]), options.metric);
        if (!found || score > node_max[a]) {  // a NaN score counts as -inf (it never wins)
          node_max[a] = std::isnan(score) ? -std::numeric_limits<double>::infinity() : score;
          best[a] = static_cast<index_t>(j);
          found = true;
        }
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [&](index_t i, index_t j) { return node_max[i] > node_max[j]; });
    std::vector<bool> is_source(set_a.size(), false);
    for (index_t k = 0; k < used; ++k) is_source[candidates[k]] = true;
    // Survivors in output order.
    std::vector<index_t> order;
    if (options.order == merge_order::preserve) {
      for (std::size_t i = 0; i < participants.size(); ++i)
        if (!(i % 2 == 0 && is_source[i / 2])) order.push_back(participants[i]);
    } else {
      for (std::size_t a = 0; a < set_a.size(); ++a)
        if (!is_source[a]) order.push_back(set_a[a]);
      for (index_t t : set_b) order.push_back(t);
    }
    if (take_out) order.insert(order.begin() + cls * (tokens - used) / tokens, cls);
    auto slot_of = [&](index_t t) { return static_cast<index_t>(std::find(order.begin(), order.end(), t) - order.begin()); };
    std::vector<index_t> destination(static_cast<std::size_t>(tokens));
    for (index_t t = 0; t < tokens; ++t) destination[t] = slot_of(t);
    for (std::size_t a = 0; a < set_a.size(); ++a) {
      if (!is_source[a]) continue;
      destination[set_a[a]] = options.mode == merge_mode::merge ? slot_of(set_b[best[a]]) : -1;
    }
    plan.destination.insert(plan.destination.end(), destination.begin(), destination.end());
    plan.survivors.insert(plan.survivors.end(), order.begin(), order.end());
    plan.class_out.push_back(cls >= 0 ? destination[cls] : -1);
  }
  return plan;
}

// Every merge output, in double: x (batch, tokens, channels) -> (batch, tokens_out, channels).
template <class T>
std::vector<double> reference_merge(const reference_plan& plan, const std::vector<T>& x, index_t channels,
                                    merge_reduce reduce) {
  std::vector<double> out(static_cast<std::size_t>(plan.batch * plan.tokens_out * channels));
  for (index_t b = 0; b < plan.batch; ++b)
    for (index_t j = 0; j < plan.tokens_out; ++j) {
      const auto group = plan.members(b, j);
      for (index_t c = 0; c < channels; ++c) {
        double value = reduce == merge_reduce::amax   ? -std::numeric_limits<double>::infinity()
                       : reduce == merge_reduce::amin ? std::numeric_limits<double>::infinity()
                                                      : 0.0;
        for (index_t t : group) {
          const double v = x[(b * plan.tokens + t) * channels + c];
          if (reduce == merge_reduce::amax) value = std::max(value, v);
          else if (reduce == merge_reduce::amin) value = std::min(value, v);
          else value += v;
        }
        if (reduce == merge_reduce::mean) value /= static_cast<double>(group.size());
        out[(b * plan.tokens_out + j) * channels + c] = value;
      }
    }
  return out;
}

// merge_weighted: out (batch, tokens_out, channels) and size_out (batch, tokens_out).
template <class T>
void reference_merge_weighted(const reference_plan& plan, const std::vector<T>& x, const std::vector<T>& size,
                              index_t channels, std::vector<double>& out, std::vector<double>& size_out) {
  out.assign(static_cast<std::size_t>(plan.batch * plan.tokens_out * channels), 0.0);
  size_out.assign(static_cast<std::size_t>(plan.batch * plan.tokens_out), 0.0);
  for (index_t b = 0; b < plan.batch; ++b)
    for (index_t j = 0; j < plan.tokens_out; ++j) {
      double total = 0;
      for (index_t t : plan.members(b, j)) {
        total += size[b * plan.tokens + t];
        for (index_t c = 0; c < channels; ++c)
          out[(b * plan.tokens_out + j) * channels + c] +=
              double(x[(b * plan.tokens + t) * channels + c]) * double(size[b * plan.tokens + t]);
      }
      for (index_t c = 0; c < channels; ++c) out[(b * plan.tokens_out + j) * channels + c] /= total;
      size_out[b * plan.tokens_out + j] = total;
    }
}

// unmerge: (batch, tokens_out, channels) -> (batch, tokens, channels), zeros at pruned tokens.
template <class T>
std::vector<double> reference_unmerge(const reference_plan& plan, const std::vector<T>& merged, index_t channels) {
  std::vector<double> out(static_cast<std::size_t>(plan.batch * plan.tokens * channels), 0.0);
  for (index_t b = 0; b < plan.batch; ++b)
    for (index_t t = 0; t < plan.tokens; ++t) {
      const index_t j = plan.destination[b * plan.tokens + t];
      if (j < 0) continue;
      for (index_t c = 0; c < channels; ++c)
        out[(b * plan.tokens + t) * channels + c] = merged[(b * plan.tokens_out + j) * channels + c];
    }
  return out;
}

}  // namespace rescan::testing
