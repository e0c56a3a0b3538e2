// Behaviour that belongs to the CPU backend alone: the floating-point mode of its kernels.
#include <doctest/doctest.h>

#include <cfloat>
#include <stdexcept>
#include <vector>

#include <rescan/rescan.hpp>

#include "support/data.hpp"
#include "support/reference.hpp"

namespace rescan::testing {

TEST_CASE("subnormal results are flushed to zero inside CPU kernels only, and only when asked") {
  // h_1 = a_1 h_0 with h_0 the smallest normal float and a_1 = 0.5: a subnormal result.
  std::vector<float> a = {1.0f, 0.5f}, b = {FLT_MIN, 0.0f}, h(2);
  const auto row = [](std::vector<float>& v) { return make_view(v.data(), index_t(2)); };
  linear_recurrence(cpu_t(1, true), row(a), row(b), row(h));
  CHECK(h[1] == 0.0f);
  linear_recurrence(cpu_t(1, false), row(a), row(b), row(h));
  CHECK(h[1] == FLT_MIN / 2);
  // The caller's own arithmetic keeps gradual underflow after a flushing call.
  linear_recurrence(cpu_t(0, true), row(a), row(b), row(h));
  volatile float smallest_normal = FLT_MIN;
  CHECK(smallest_normal / 2 != 0.0f);
}

}  // namespace rescan::testing

namespace rescan::testing {

TEST_CASE("flushing subnormal results leaves subnormal inputs ordered exactly") {
  std::vector<float> x = {1e-41f, 1e-39f, 5e-40f};
  const auto in = make_view(x.data(), {1, 3});
  std::vector<index_t> best(1);
  std::vector<float> value(1);
  argmax(cpu, in, make_view(best.data(), index_t(1)));
  CHECK(best[0] == 1);
  reduce_max(cpu, in, make_view(value.data(), index_t(1)));
  CHECK(value[0] == 1e-39f);
  top_k(cpu, in, make_view(value.data(), {1, 1}), make_view(best.data(), {1, 1}));
  CHECK(best[0] == 1);
}

// A row long enough for the chunked path (three chunks and a bit).
inline index_t chunked_length() { return 3 * detail::scan_chunk_length<float>() + 5; }

TEST_CASE("inside the caller's own parallel region OpenMP gives a team of one: results stay right") {
  const index_t length = chunked_length();
  const auto x = random_integers<float>(static_cast<std::size_t>(length), -8, 8);
  const auto expected = reference_inclusive_scan(x, 1, length, plus{}, false, {}, {});
  std::vector<std::vector<float>> results(2, std::vector<float>(x.size()));
  std::vector<std::vector<std::size_t>> order(2, std::vector<std::size_t>(3));
#pragma omp parallel for num_threads(2)
  for (int caller = 0; caller < 2; ++caller) {
    inclusive_scan(cpu_t(2), make_view(x.data(), length), make_view(results[caller].data(), length));
    std::vector<float> values(3);
    std::vector<index_t> indices(3);  // per-thread scratch of top_k must follow the inner team
    top_k(cpu_t(1), make_view(x.data(), {1, length}), make_view(values.data(), {1, 3}),
          make_view(indices.data(), {1, 3}));
    for (int j = 0; j < 3; ++j) order[caller][j] = static_cast<std::size_t>(indices[j]);
  }
  CHECK(results[0] == expected);
  CHECK(results[1] == expected);
  CHECK(order[0] == order[1]);
}

// An operator that refuses one value; rescan must hand its exception to the caller, from every path.
struct refuses_seven {
  float operator()(float earlier, float later) const {
    if (later == 7.0f) throw std::domain_error("seven");
    return earlier + later;
  }
};

TEST_CASE("an exception thrown by an operator reaches the caller from parallel paths too") {
  const index_t length = chunked_length();
  std::vector<float> x(static_cast<std::size_t>(length), 1.0f), out(x.size());
  x[static_cast<std::size_t>(length - 3)] = 7.0f;  // in the last chunk
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    CHECK_THROWS_AS(inclusive_scan(cpu_t(threads), make_view(x.data(), length), make_view(out.data(), length),
                                   refuses_seven{}),
                    std::domain_error);
    CHECK_THROWS_AS(reduce(cpu_t(threads), make_view(x.data(), {4, length / 4}), make_view(out.data(), index_t(4)),
                           refuses_seven{}),
                    std::domain_error);
  }
}

}  // namespace rescan::testing
