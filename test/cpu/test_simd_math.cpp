// The CPU kernels' vector math (cpu/detail/simd_math.hpp) against the standard library, lane by
// lane, over dense sweeps and the special values: exp2 (the selective scan's decay), exp, softplus
// and sigmoid, in float and double, at the vector width this build compiles for (AVX-512, or the
// portable SSE / scalar paths in the portable preset). With AVX-512, the clamp-free exp2 is also
// checked bit for bit against the clamped range reduction it replaced.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <rescan/cpu/detail/simd_math.hpp>

namespace rescan::testing {
namespace {

using detail::math_lanes;

// f applied to xs through vectors of the build's width: results[i] = lane of f(vector holding xs[i]).
template <class T, class F>
std::vector<T> through_vectors(const std::vector<T>& xs, const F& f) {
  using lanes = math_lanes<T>;
  constexpr int W = lanes::width;
  std::vector<T> padded(xs), results((xs.size() + W - 1) / W * W);
  padded.resize(results.size(), T(0));
  for (std::size_t i = 0; i < padded.size(); i += W) lanes::store(results.data() + i, f(lanes::load(padded.data() + i)));
  results.resize(xs.size());
  return results;
}

template <class T>
std::vector<T> sweep(T low, T high, int count) {
  std::vector<T> xs;
  for (int i = 0; i <= count; ++i) xs.push_back(low + (high - low) * T(i) / T(count));
  const T inf = std::numeric_limits<T>::infinity();
  for (T special : {inf, -inf, std::numeric_limits<T>::quiet_NaN(), T(0), -T(0), T(0.5), T(-0.5), T(1.5), T(-2.5),
                    T(1e30), T(-1e30), std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest()}) {
    xs.push_back(special);
  }
  return xs;
}

// |got - want| <= relative * |want|, or both NaN, or equal (infinities), or both below `tiny`.
template <class T>
bool close(T got, T want, T relative, T tiny) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (std::fabs(want) < tiny) return std::fabs(got) < tiny;
  return std::fabs(got - want) <= relative * std::fabs(want);
}

template <class T, class Vector, class Reference>
void check_against(const std::vector<T>& xs, const Vector& vector_f, const Reference& reference, T relative,
                   T tiny) {
  const auto got = through_vectors<T>(xs, vector_f);
  int wrong = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const T want = reference(xs[i]);
    if (!close(got[i], want, relative, tiny) && ++wrong <= 5) {
      FAIL_CHECK("x = " << xs[i] << ": " << got[i] << " (expected " << want << ")");
    }
  }
  CHECK(wrong == 0);
}

template <class T>
void check_math(T relative) {
  using V = typename math_lanes<T>::vector;
  const T tiny = std::numeric_limits<T>::min();  // below the smallest normal, 0 or subnormal both pass
  const T range = std::is_same_v<T, float> ? T(160) : T(1100);
  check_against<T>(sweep<T>(-range, range, 200000), [](const V& x) { return detail::vector_exp2<T>(x); },
                   [](T x) { return std::exp2(x); }, relative, tiny);
  check_against<T>(sweep<T>(-range / 1.4f, range / 1.4f, 200000), [](const V& x) { return detail::vector_exp<T>(x); },
                   [](T x) { return std::exp(x); }, relative, tiny);
  // softplus: log(1 + exp(x)), and x above 20 (Mamba's threshold); sigmoid: 1 / (1 + exp(-x)).
  check_against<T>(sweep<T>(T(-60), T(60), 100000), [](const V& x) { return detail::vector_softplus<T>(x); },
                   [](T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }, T(4) * relative, tiny);
  check_against<T>(sweep<T>(T(-60), T(60), 100000), [](const V& x) { return detail::vector_sigmoid<T>(x); },
                   [](T x) { return T(1) / (T(1) + std::exp(-x)); }, T(4) * relative, tiny);
  // The derivative the softplus gives with it: sigmoid(x), and 1 above 20 where softplus is x.
  check_against<T>(sweep<T>(T(-60), T(60), 100000),
                   [](const V& x) {
                     V slope;
                     detail::vector_softplus<T>(x, &slope);
                     return slope;
                   },
                   [](T x) { return x > T(20) ? T(1) : T(1) / (T(1) + std::exp(-x)); }, T(4) * relative, tiny);
}

}  // namespace

// Arguments far below the range give exactly +0 (no subnormal left by a clamp that binds too high).
template <class T>
void check_underflow_to_zero() {
  using V = typename math_lanes<T>::vector;
  const std::vector<T> xs = {-std::numeric_limits<T>::infinity(), T(-1e30), std::numeric_limits<T>::lowest(),
                             T(-5000)};
  const auto exp2s = through_vectors<T>(xs, [](const V& x) { return detail::vector_exp2<T>(x); });
  const auto exps = through_vectors<T>(xs, [](const V& x) { return detail::vector_exp<T>(x); });
  for (std::size_t i = 0; i < xs.size(); ++i) {
    CAPTURE(xs[i]);
    const T zero = T(0);
    CHECK(std::memcmp(&exp2s[i], &zero, sizeof(T)) == 0);
    CHECK(std::memcmp(&exps[i], &zero, sizeof(T)) == 0);
  }
}

TEST_CASE("vector exp2, exp, softplus and sigmoid match the standard library, special values included") {
  check_math<float>(4e-7f);
  check_math<double>(4e-15);
  check_underflow_to_zero<float>();
  check_underflow_to_zero<double>();
}

#if RESCAN_HAS_VECTOR_EXTENSIONS && defined(__AVX512F__) && defined(__AVX512DQ__)
// vector_exp2 with AVX-512 skips the clamp of x (vreduce gives f = 0 for infinities): the same bits
// as the clamped range reduction for every x.
template <class T>
void check_exp2_unclamped() {
  using V = typename math_lanes<T>::vector;
  const auto clamped = [](const V& x) { return detail::vector_exp2_by_reduction<T>(x); };
  const T range = std::is_same_v<T, float> ? T(200) : T(1200);
  const auto xs = sweep<T>(-range, range, 400000);
  const auto got = through_vectors<T>(xs, [](const V& x) { return detail::vector_exp2<T>(x); });
  const auto want = through_vectors<T>(xs, clamped);
  int differing = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0 && ++differing <= 5) {
      FAIL_CHECK("x = " << xs[i] << ": " << got[i] << " vs clamped " << want[i]);
    }
  }
  CHECK(differing == 0);
}

TEST_CASE("AVX-512 exp2 without the clamp gives the clamped form's bits") {
  check_exp2_unclamped<float>();
  check_exp2_unclamped<double>();
}
#endif

template <class T>
void check_load_first() {
  using lanes = math_lanes<T>;
  constexpr int W = lanes::width;
  // The values sit at the end of a heap block of their own, so that a read past them is a heap
  // overflow (caught in the sanitizer build).
  for (int count = 0; count < W; ++count) {
    std::vector<T> values(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) values[static_cast<std::size_t>(i)] = T(i + 1) / T(3);
    std::vector<T> lanes_out(W, T(-1));
    lanes::store(lanes_out.data(), lanes::load_first(values.data(), count));
    INFO("width " << W << ", count " << count);
    for (int i = 0; i < W; ++i) CHECK(lanes_out[static_cast<std::size_t>(i)] == (i < count ? T(i + 1) / T(3) : T(0)));
  }
  std::vector<T> forward(W), backward(W);
  for (int i = 0; i < W; ++i) forward[static_cast<std::size_t>(i)] = T(i) - T(0.5);
  lanes::store(backward.data(), lanes::reversed(lanes::load(forward.data())));
  for (int i = 0; i < W; ++i) CHECK(backward[static_cast<std::size_t>(i)] == forward[static_cast<std::size_t>(W - 1 - i)]);
}

TEST_CASE("load_first: the first lanes from memory, zeros after them; reversed: the lanes in reverse order") {
  check_load_first<float>();
  check_load_first<double>();
}

}  // namespace rescan::testing
