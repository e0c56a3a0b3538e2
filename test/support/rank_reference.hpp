// Oracles of the ranking metrics: every pair compared once (O(n^2)), ranks counted by definition,
// written for clarity on host vectors of doubles, independently of the library's own code.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include <rescan/rescan.hpp>

namespace rescan::testing {

struct reference_kendall_result {
  std::int64_t concordant = 0, discordant = 0, ties_x = 0, ties_y = 0, ties_xy = 0;
  double tau = 0;
};

// Tau by the definitions in rank_options.hpp: NaN for n < 2, a NaN value, or x or y all equal.
inline reference_kendall_result reference_kendall(const std::vector<double>& x, const std::vector<double>& y,
                                                  kendall_variant variant) {
  reference_kendall_result r;
  const auto n = static_cast<std::int64_t>(x.size());
  bool nan = false;
  for (std::size_t i = 0; i < x.size(); ++i) nan = nan || std::isnan(x[i]) || std::isnan(y[i]);
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double sx = (x[j] > x[i]) - (x[j] < x[i]), sy = (y[j] > y[i]) - (y[j] < y[i]);
      if (sx == 0) ++r.ties_x;
      if (sy == 0) ++r.ties_y;
      if (sx == 0 && sy == 0) ++r.ties_xy;
      if (sx * sy > 0) ++r.concordant;
      if (sx * sy < 0) ++r.discordant;
    }
  }
  const double pairs = double(n) * double(n - 1) / 2;
  if (nan || n < 2 || double(r.ties_x) == pairs || double(r.ties_y) == pairs) {
    r.tau = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  const double s = double(r.concordant - r.discordant);
  if (variant == kendall_variant::a) {
    r.tau = s / pairs;
  } else if (variant == kendall_variant::b) {
    r.tau = s / std::sqrt((pairs - double(r.ties_x)) * (pairs - double(r.ties_y)));
  } else {
    const double m = double(std::min(std::set<double>(x.begin(), x.end()).size(), std::set<double>(y.begin(), y.end()).size()));
    r.tau = 2 * s / (double(n) * double(n) * (m - 1) / m);
  }
  return r;
}

// Ranks of one row by scipy.stats.rankdata's definitions, counted element by element. A NaN row is NaN.
inline std::vector<double> reference_rankdata(const std::vector<double>& x, rank_method method) {
  std::vector<double> ranks(x.size());
  for (double v : x) {
    if (std::isnan(v)) return std::vector<double>(x.size(), std::numeric_limits<double>::quiet_NaN());
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    double less = 0, equal = 0, equal_before = 0;
    std::set<double> smaller_values;
    for (std::size_t j = 0; j < x.size(); ++j) {
      if (x[j] < x[i]) {
        ++less;
        smaller_values.insert(x[j]);
      }
      if (x[j] == x[i]) ++equal;
      if (x[j] == x[i] && j < i) ++equal_before;
    }
    switch (method) {
      case rank_method::average: ranks[i] = less + (equal + 1) / 2; break;
      case rank_method::min: ranks[i] = less + 1; break;
      case rank_method::max: ranks[i] = less + equal; break;
      case rank_method::dense: ranks[i] = double(smaller_values.size()) + 1; break;
      default: ranks[i] = less + equal_before + 1;
    }
  }
  return ranks;
}

// Pearson's correlation of the average ranks.
inline double reference_spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const auto rx = reference_rankdata(x, rank_method::average), ry = reference_rankdata(y, rank_method::average);
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += rx[i];
    my += ry[i];
  }
  mx /= double(x.size());
  my /= double(x.size());
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

// 1 when the first maximum (minimum when !best) of x and of y is the same item, else 0; NaN for an
// empty row or one holding a NaN.
inline double reference_top_order(const std::vector<double>& x, const std::vector<double>& y, bool best) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) return std::numeric_limits<double>::quiet_NaN();
  }
  std::size_t ix = 0, iy = 0;
  for (std::size_t i = 1; i < x.size(); ++i) {
    if (best ? x[i] > x[ix] : x[i] < x[ix]) ix = i;
    if (best ? y[i] > y[iy] : y[i] < y[iy]) iy = i;
  }
  return ix == iy ? 1.0 : 0.0;
}

}  // namespace rescan::testing
