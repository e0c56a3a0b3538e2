// mamba_mixer: forward against plain loops written from the formulas (the backward branch as the
// forward formulas on the flipped sequence), backward against central differences of every
// parameter and input (also with E · batch · tokens leaving a partial last SIMD vector),
// the bidirectional mixer as two unidirectional ones, initialization, parameter counts,
// determinism and errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/nn/mamba_mixer.hpp"
#include "nn_test_support.hpp"

namespace rescan_examples::testing {
namespace {

struct mixer_case {
  index_t batch = 1, tokens = 1, d_model = 4, d_state = 5, d_conv = 4, expand = 2;
  bool bidirectional = true;

  mixer_config config() const {
    mixer_config c;
    c.d_model = d_model, c.d_state = d_state, c.d_conv = d_conv, c.expand = expand, c.bidirectional = bidirectional;
    return c;
  }
};

// (batch, tokens, channels) with the tokens in reverse order.
std::vector<double> flip_tokens(const std::vector<double>& x, index_t batch, index_t tokens) {
  const index_t channels = index_t(x.size()) / (batch * tokens);
  std::vector<double> flipped(x.size());
  for (index_t b = 0; b < batch; ++b) {
    for (index_t t = 0; t < tokens; ++t) {
      for (index_t c = 0; c < channels; ++c) {
        flipped[std::size_t((b * tokens + t) * channels + c)] =
            x[std::size_t((b * tokens + tokens - 1 - t) * channels + c)];
      }
    }
  }
  return flipped;
}

double silu(double x) { return x / (1 + std::exp(-x)); }
double softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

// One branch of the mixer in causal order, straight from the formulas, per batch and token:
// hidden (batch, tokens, D) -> y (batch, tokens, E), the gated scan output before out_proj.
std::vector<double> reference_branch(const parameter_set<double>& params, const std::string& prefix,
                                     const std::string& suffix, const std::string& a_log_name,
                                     const std::string& d_name, const mixer_config& config,
                                     const std::vector<double>& hidden, index_t batch, index_t tokens) {
  const index_t D = config.d_model, E = config.inner(), R = config.rank(), N = config.d_state, K = config.d_conv;
  const auto& in_proj = params.find(prefix + ".in_proj.weight")->value;
  const auto& conv_weight = params.find(prefix + ".conv1d" + suffix + ".weight")->value;
  const auto& conv_bias = params.find(prefix + ".conv1d" + suffix + ".bias")->value;
  const auto& x_proj = params.find(prefix + ".x_proj" + suffix + ".weight")->value;
  const auto& dt_weight = params.find(prefix + ".dt_proj" + suffix + ".weight")->value;
  const auto& dt_bias = params.find(prefix + ".dt_proj" + suffix + ".bias")->value;
  const auto& A_log = params.find(prefix + "." + a_log_name)->value;
  const auto& D_skip = params.find(prefix + "." + d_name)->value;
  std::vector<double> y(std::size_t(batch * tokens * E));
  for (index_t b = 0; b < batch; ++b) {
    // xz[t][c] = Σ_d in_proj[c][d] hidden[b][t][d]
    std::vector<double> xz(std::size_t(tokens * 2 * E), 0.0);
    for (index_t t = 0; t < tokens; ++t) {
      for (index_t c = 0; c < 2 * E; ++c) {
        for (index_t d = 0; d < D; ++d) {
          xz[std::size_t(t * 2 * E + c)] +=
              in_proj[std::size_t(c * D + d)] * hidden[std::size_t((b * tokens + t) * D + d)];
        }
      }
    }
    // u[t][e] = silu(conv_bias[e] + Σ_k w[e][k] x[t − (K − 1) + k][e])
    std::vector<double> u(std::size_t(tokens * E));
    for (index_t t = 0; t < tokens; ++t) {
      for (index_t e = 0; e < E; ++e) {
        double sum = conv_bias[std::size_t(e)];
        for (index_t k = 0; k < K; ++k) {
          const index_t source = t - (K - 1) + k;
          if (source >= 0) sum += conv_weight[std::size_t(e * K + k)] * xz[std::size_t(source * 2 * E + e)];
        }
        u[std::size_t(t * E + e)] = silu(sum);
      }
    }
    // x_dbl[t][j] = Σ_e x_proj[j][e] u[t][e]: dt_low j < R, B j in [R, R + N), C after.
    std::vector<double> x_dbl(std::size_t(tokens * (R + 2 * N)), 0.0);
    for (index_t t = 0; t < tokens; ++t) {
      for (index_t j = 0; j < R + 2 * N; ++j) {
        for (index_t e = 0; e < E; ++e) {
          x_dbl[std::size_t(t * (R + 2 * N) + j)] += x_proj[std::size_t(j * E + e)] * u[std::size_t(t * E + e)];
        }
      }
    }
    for (index_t e = 0; e < E; ++e) {
      std::vector<double> state(std::size_t(N), 0.0);
      for (index_t t = 0; t < tokens; ++t) {
        const double* row = &x_dbl[std::size_t(t * (R + 2 * N))];
        double raw_delta = dt_bias[std::size_t(e)];
        for (index_t r = 0; r < R; ++r) raw_delta += dt_weight[std::size_t(e * R + r)] * row[r];
        const double delta = softplus(raw_delta);
        const double input = u[std::size_t(t * E + e)];
        double out = D_skip[std::size_t(e)] * input;
        for (index_t n = 0; n < N; ++n) {
          const double A = -std::exp(A_log[std::size_t(e * N + n)]);
          double& h = state[std::size_t(n)];
          h = std::exp(delta * A) * h + delta * row[R + n] * input;
          out += row[R + N + n] * h;
        }
        const double z = xz[std::size_t(t * 2 * E + E + e)];
        y[std::size_t((b * tokens + t) * E + e)] = out * silu(z);
      }
    }
  }
  return y;
}

// The whole mixer: out = out_proj(y_forward) or out_proj((y_forward + flip(y_backward(flip(hidden)))) / 2).
std::vector<double> reference_mixer(const parameter_set<double>& params, const std::string& prefix,
                                    const mixer_config& config, const std::vector<double>& hidden, index_t batch,
                                    index_t tokens) {
  const index_t D = config.d_model, E = config.inner();
  std::vector<double> y = reference_branch(params, prefix, "", "A_log", "D", config, hidden, batch, tokens);
  if (config.bidirectional) {
    const std::vector<double> y_backward =
        flip_tokens(reference_branch(params, prefix, "_b", "A_b_log", "D_b", config, flip_tokens(hidden, batch, tokens),
                                     batch, tokens),
                    batch, tokens);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = (y[i] + y_backward[i]) / 2;
  }
  const auto& out_proj = params.find(prefix + ".out_proj.weight")->value;
  std::vector<double> out(std::size_t(batch * tokens * D), 0.0);
  for (index_t row = 0; row < batch * tokens; ++row) {
    for (index_t d = 0; d < D; ++d) {
      for (index_t e = 0; e < E; ++e) {
        out[std::size_t(row * D + d)] += out_proj[std::size_t(d * E + e)] * y[std::size_t(row * E + e)];
      }
    }
  }
  return out;
}

// A mixer in double with Vim's init plus noise, so no two channels or states are alike.
struct double_mixer {
  parameter_set<double> params;
  mamba_mixer<double> mixer;

  explicit double_mixer(const mixer_config& config, std::uint64_t seed = 1) : mixer(params, "layers.0.mixer", config) {
    random_generator random(seed);
    mixer.init(random);
    perturb_parameters(params, random, 0.2);
  }
};

std::vector<mixer_case> awkward_cases() {
  std::vector<mixer_case> cases;
  const auto add = [&](index_t batch, index_t tokens, index_t d_state, index_t d_conv, bool bidirectional) {
    mixer_case c;
    c.batch = batch, c.tokens = tokens, c.d_state = d_state, c.d_conv = d_conv, c.bidirectional = bidirectional;
    cases.push_back(c);
  };
  for (const bool bidirectional : {false, true}) {
    add(1, 1, 1, 4, bidirectional);
    add(3, 2, 5, 2, bidirectional);
    add(1, 7, 5, 4, bidirectional);
    add(3, 7, 1, 2, bidirectional);
    add(1, 70, 5, 4, bidirectional);  // more than one 64-position block of the CPU scan
    add(3, 70, 1, 2, bidirectional);
  }
  return cases;
}

std::string describe(const mixer_case& c) {
  return (c.bidirectional ? "bidirectional" : "unidirectional") + std::string(" batch ") + std::to_string(c.batch) +
         " tokens " + std::to_string(c.tokens) + " d_state " + std::to_string(c.d_state) + " d_conv " +
         std::to_string(c.d_conv) + " d_model " + std::to_string(c.d_model) + " expand " + std::to_string(c.expand);
}

// The mixer's forward output against reference_mixer, as the worst error relative to 1 + |expected|.
void check_forward_against_formulas(const mixer_case& c) {
  CAPTURE(describe(c));
  double_mixer m(c.config());
  random_generator random(9);
  const std::vector<double> hidden = random_values(random, c.batch * c.tokens * c.d_model);
  std::vector<double> out(hidden.size());
  m.mixer.forward(hidden.data(), c.batch, c.tokens, out.data(), pass::inference);
  const std::vector<double> expected = reference_mixer(m.params, "layers.0.mixer", c.config(), hidden, c.batch, c.tokens);
  double worst = 0;
  for (std::size_t i = 0; i < out.size(); ++i)
    worst = std::max(worst, std::abs(out[i] - expected[i]) / (1 + std::abs(expected[i])));
  CHECK(worst < 1e-12);
}

// The gradients of w · forward(hidden) (every parameter and hidden) against central differences.
void check_backward_against_differences(const mixer_case& c) {
  CAPTURE(describe(c));
  double_mixer m(c.config(), 2);
  random_generator random(10);
  std::vector<double> hidden = random_values(random, c.batch * c.tokens * c.d_model);
  const std::vector<double> w = random_values(random, c.batch * c.tokens * c.d_model);
  std::vector<double> out(hidden.size()), dhidden(hidden.size());
  m.mixer.forward(hidden.data(), c.batch, c.tokens, out.data(), pass::training);
  m.mixer.backward(w.data(), dhidden.data());
  const auto objective = [&] {
    m.mixer.forward(hidden.data(), c.batch, c.tokens, out.data(), pass::inference);
    return dot(w, out);
  };
  check_parameter_gradients(m.params, objective);
  check_central_differences("hidden", hidden, dhidden, objective);
}

}  // namespace

TEST_CASE("mamba_mixer: forward matches the plain-loop formulas") {
  std::vector<mixer_case> cases = awkward_cases();
  mixer_case wide;  // R = 2, E = 40, N = 16
  wide.batch = 2, wide.tokens = 9, wide.d_model = 20, wide.d_state = 16;
  cases.push_back(wide);
  wide.expand = 1, wide.bidirectional = false;
  cases.push_back(wide);
  for (const mixer_case& c : cases) check_forward_against_formulas(c);
}

TEST_CASE("mamba_mixer: backward matches central differences for every parameter and the input") {
  for (const mixer_case& c : awkward_cases()) check_backward_against_differences(c);
}

TEST_CASE("mamba_mixer: E · batch · tokens not a multiple of the vector width (silu's partial last vector)") {
  // The vectorized silu and its backward run over E · batch · tokens values: 42 = 2 · 16 + 10
  // (E 6) and the odd 105 (E 5) leave a partial last vector at any width from 2 to 16 lanes.
  std::vector<mixer_case> cases;
  for (const bool bidirectional : {false, true}) {
    mixer_case c;
    c.batch = 1, c.tokens = 7, c.d_model = 3, c.expand = 2, c.bidirectional = bidirectional;
    cases.push_back(c);
    c.batch = 3, c.d_model = 5, c.expand = 1;
    cases.push_back(c);
  }
  for (const mixer_case& c : cases) {
    REQUIRE(c.config().inner() * c.batch * c.tokens % 16 != 0);
    check_forward_against_formulas(c);
    check_backward_against_differences(c);
  }
}

TEST_CASE("mamba_mixer: bidirectional = (forward branch + reversed unidirectional run with the _b parameters) / 2") {
  mixer_case c;
  c.batch = 2, c.tokens = 70, c.d_model = 8, c.d_state = 4;
  double_mixer both(c.config(), 3);
  mixer_config one_way = c.config();
  one_way.bidirectional = false;
  double_mixer forward_only(one_way), backward_only(one_way);
  const std::string prefix = "layers.0.mixer.";
  const auto copy = [&](double_mixer& to, const std::string& to_name, const std::string& from_name) {
    to.params.find(prefix + to_name)->value = both.params.find(prefix + from_name)->value;
  };
  for (const std::string shared : {"in_proj.weight", "out_proj.weight"}) {
    copy(forward_only, shared, shared);
    copy(backward_only, shared, shared);
  }
  const std::vector<std::pair<std::string, std::string>> branch_names = {{"conv1d.weight", "conv1d_b.weight"},
                                                                         {"conv1d.bias", "conv1d_b.bias"},
                                                                         {"x_proj.weight", "x_proj_b.weight"},
                                                                         {"dt_proj.weight", "dt_proj_b.weight"},
                                                                         {"dt_proj.bias", "dt_proj_b.bias"},
                                                                         {"A_log", "A_b_log"},
                                                                         {"D", "D_b"}};
  for (const auto& [name, backward_name] : branch_names) {
    copy(forward_only, name, name);
    copy(backward_only, name, backward_name);
  }
  random_generator random(11);
  const std::vector<double> hidden = random_values(random, c.batch * c.tokens * c.d_model);
  std::vector<double> out(hidden.size()), out_forward(hidden.size()), out_backward(hidden.size());
  both.mixer.forward(hidden.data(), c.batch, c.tokens, out.data(), pass::inference);
  forward_only.mixer.forward(hidden.data(), c.batch, c.tokens, out_forward.data(), pass::inference);
  const std::vector<double> flipped = flip_tokens(hidden, c.batch, c.tokens);
  backward_only.mixer.forward(flipped.data(), c.batch, c.tokens, out_backward.data(), pass::inference);
  out_backward = flip_tokens(out_backward, c.batch, c.tokens);
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i] == doctest::Approx((out_forward[i] + out_backward[i]) / 2).epsilon(1e-12));
  }
}

TEST_CASE("mamba_mixer: step() token by token gives forward()'s outputs; bidirectional mixers refuse to decode") {
  for (const index_t d_conv : {1, 2, 4}) {
    mixer_case c;
    c.batch = 3, c.tokens = 37, c.d_model = 6, c.d_state = 5, c.d_conv = d_conv, c.bidirectional = false;
    CAPTURE(d_conv);
    double_mixer m(c.config(), 5);
    random_generator random(13);
    const std::vector<double> hidden = random_values(random, c.batch * c.tokens * c.d_model);
    std::vector<double> whole(hidden.size());
    m.mixer.forward(hidden.data(), c.batch, c.tokens, whole.data(), pass::inference);
    auto state = m.mixer.start_decoding(c.batch);
    std::vector<double> token(std::size_t(c.batch * c.d_model)), out(token.size());
    double worst = 0;
    for (index_t t = 0; t < c.tokens; ++t) {
      for (index_t b = 0; b < c.batch; ++b) {
        std::copy_n(&hidden[std::size_t((b * c.tokens + t) * c.d_model)], c.d_model, &token[std::size_t(b * c.d_model)]);
      }
      m.mixer.step(token.data(), state, out.data());
      for (index_t b = 0; b < c.batch; ++b) {
        for (index_t d = 0; d < c.d_model; ++d) {
          const double expected = whole[std::size_t((b * c.tokens + t) * c.d_model + d)];
          worst = std::max(worst, std::abs(out[std::size_t(b * c.d_model + d)] - expected));
        }
      }
    }
    CHECK(worst < 1e-12);
  }
  mixer_case c;
  double_mixer both(c.config());
  CHECK_THROWS_AS(both.mixer.start_decoding(1), rescan::value_error);
  mixer_case one;
  one.bidirectional = false;
  double_mixer m(one.config());
  CHECK_THROWS_AS(m.mixer.start_decoding(0), rescan::value_error);
  auto state = m.mixer.start_decoding(2);
  state.batch = 3;  // no longer matches its buffers
  std::vector<double> hidden(std::size_t(3 * one.d_model)), out(hidden.size());
  CHECK_THROWS_AS(m.mixer.step(hidden.data(), state, out.data()), rescan::value_error);
}

TEST_CASE("mamba_mixer: Vim-Ti block has 282,048 parameters with its norm; names, shapes, decay flags") {
  mixer_config config;
  config.d_model = 192;  // E 384, N 16, R 12, d_conv 4
  parameter_set<float> params;
  mamba_mixer<float> mixer(params, "layers.0.mixer", config);
  CHECK(params.total_size() + 192 == 282048);
  CHECK(params.count() == 16);
  const auto shape_of = [&](const std::string& name) { return params.find("layers.0.mixer." + name)->shape; };
  using shape = std::vector<index_t>;
  CHECK(shape_of("in_proj.weight") == shape{768, 192});
  CHECK(shape_of("conv1d.weight") == shape{384, 1, 4});
  CHECK(shape_of("conv1d_b.bias") == shape{384});
  CHECK(shape_of("x_proj_b.weight") == shape{44, 384});
  CHECK(shape_of("dt_proj.weight") == shape{384, 12});
  CHECK(shape_of("A_b_log") == shape{384, 16});
  CHECK(shape_of("D_b") == shape{384});
  CHECK(shape_of("out_proj.weight") == shape{192, 384});
  const auto ends_with = [](const std::string& name, const std::string& tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const parameter<float>& p : params) {
    const bool no_decay = ends_with(p.name, ".bias") || ends_with(p.name, ".A_log") || ends_with(p.name, ".A_b_log") ||
                          ends_with(p.name, ".D") || ends_with(p.name, ".D_b");
    CAPTURE(p.name);
    CHECK(p.weight_decay == !no_decay);
  }
  config.bidirectional = false;
  parameter_set<float> one_way;
  mamba_mixer<float> unidirectional(one_way, "m", config);
  CHECK(one_way.count() == 9);
  CHECK(one_way.total_size() == 282048 - 192 - 30336);  // one branch: conv, x_proj, dt_proj, A_log, D
}

TEST_CASE("mamba_mixer: init follows Vim (ranges, A_log = log(n + 1), D = 1, dt bias = softplus⁻¹(dt))") {
  mixer_config config;
  config.d_model = 32, config.layers = 4;  // E 64, R 2, N 16
  parameter_set<double> params;
  mamba_mixer<double> mixer(params, "m", config);
  random_generator random(12);
  mixer.init(random);
  const auto largest = [&](const std::string& name) {
    double value = 0;
    for (const double v : params.find("m." + name)->value) value = std::max(value, std::abs(v));
    return value;
  };
  const auto check_bound = [&](const std::string& name, double bound) {
    CAPTURE(name);
    CHECK(largest(name) <= bound);
    CHECK(largest(name) > 0.8 * bound);  // the draws fill the range
  };
  check_bound("in_proj.weight", 1 / std::sqrt(32.0));
  check_bound("conv1d.weight", 0.5);
  check_bound("conv1d_b.bias", 0.5);
  check_bound("x_proj.weight", 1 / std::sqrt(64.0));
  check_bound("dt_proj_b.weight", 1 / std::sqrt(2.0));
  check_bound("out_proj.weight", 1 / std::sqrt(64.0) / 2);
  for (const std::string branch : {"", "_b"}) {
    for (const double bias : params.find("m.dt_proj" + branch + ".bias")->value) {
      const double dt = std::log1p(std::exp(bias));
      CHECK(dt >= config.dt_min * (1 - 1e-12));
      CHECK(dt <= config.dt_max * (1 + 1e-12));
    }
  }
  const auto& A_log = params.find("m.A_b_log")->value;
  for (index_t e = 0; e < 64; ++e) {
    for (index_t n = 0; n < 16; ++n) CHECK(A_log[std::size_t(e * 16 + n)] == doctest::Approx(std::log(double(n + 1))));
  }
  CHECK(params.find("m.D")->value == std::vector<double>(64, 1.0));
  CHECK(params.find("m.D_b")->value == std::vector<double>(64, 1.0));

  // dt_init_floor above dt_max: every dt is the floor.
  config.dt_init_floor = 0.5;
  parameter_set<double> floored;
  mamba_mixer<double> floored_mixer(floored, "m", config);
  floored_mixer.init(random);
  for (const double bias : floored.find("m.dt_proj.bias")->value)
    CHECK(std::log1p(std::exp(bias)) == doctest::Approx(0.5));
}

TEST_CASE("mamba_mixer: forward + backward give the same bits twice; the token count may change between calls") {
  mixer_config config;
  config.d_model = 16;
  const index_t batch = 2, tokens = 70;
  const auto run = [&](index_t warm_up_tokens) {
    parameter_set<float> params;
    mamba_mixer<float> mixer(params, "m", config);
    random_generator random(13);
    mixer.init(random);
    std::vector<float> hidden(std::size_t(batch * tokens * 16)), out(hidden.size()), dhidden(hidden.size());
    for (float& v : hidden) v = float(random.uniform(-1, 1));
    if (warm_up_tokens > 0) {  // a longer training forward first: buffers sized for it must not leak in
      std::vector<float> long_hidden(std::size_t(batch * warm_up_tokens * 16), 0.5f), long_out(long_hidden.size());
      mixer.forward(long_hidden.data(), batch, warm_up_tokens, long_out.data(), pass::training);
    }
    mixer.forward(hidden.data(), batch, tokens, out.data(), pass::training);
    mixer.backward(hidden.data(), dhidden.data());
    if (warm_up_tokens > 0) {  // and a second step on the same mixer: no scratch may carry over
      params.zero_grad();
      mixer.forward(hidden.data(), batch, tokens, out.data(), pass::training);
      mixer.backward(hidden.data(), dhidden.data());
    }
    std::vector<float> everything = out;
    everything.insert(everything.end(), dhidden.begin(), dhidden.end());
    for (const parameter<float>& p : params) everything.insert(everything.end(), p.grad.begin(), p.grad.end());
    return everything;
  };
  const std::vector<float> first = run(0), second = run(0), after_longer = run(197);
  REQUIRE(first.size() == second.size());
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(first.data(), after_longer.data(), first.size() * sizeof(float)) == 0);
}

TEST_CASE("mamba_mixer: every parameter gradient adds up over backward calls") {
  for (const bool bidirectional : {false, true}) {
    CAPTURE(bidirectional);
    mixer_case c;
    c.batch = 2, c.tokens = 5, c.bidirectional = bidirectional;
    double_mixer m(c.config(), 4);
    random_generator random(14);
    const std::vector<double> hidden = random_values(random, c.batch * c.tokens * c.d_model);
    std::vector<double> out(hidden.size()), dhidden(hidden.size());
    std::vector<std::vector<double>> once;
    for (int step = 0; step < 2; ++step) {
      m.mixer.forward(hidden.data(), c.batch, c.tokens, out.data(), pass::training);
      m.mixer.backward(hidden.data(), dhidden.data());
      if (step == 0) {
        for (const parameter<double>& p : m.params) once.push_back(p.grad);
      }
    }
    std::size_t index = 0;
    for (const parameter<double>& p : m.params) {
      CAPTURE(p.name);
      for (std::size_t i = 0; i < p.grad.size(); ++i) CHECK(p.grad[i] == doctest::Approx(2 * once[index][i]));
      ++index;
    }
  }
}

TEST_CASE("mamba_mixer: bad configurations, shapes and call orders throw naming the argument") {
  const auto make = [](mixer_config config) {
    parameter_set<float> params;
    mamba_mixer<float> mixer(params, "layers.1.mixer", config);
  };
  mixer_config good;
  good.d_model = 8;
  auto bad = good;
  bad.d_model = 0;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "mamba_mixer(\"layers.1.mixer\")", "config.d_model = 0");
  bad = good, bad.d_state = 257;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.d_state = 257", "<= 256");
  bad = good, bad.d_state = 0;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.d_state = 0");
  bad = good, bad.d_conv = 0;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.d_conv = 0");
  bad = good, bad.expand = 0;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.expand = 0");
  bad = good, bad.dt_rank = -2;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.dt_rank = -2");
  bad = good, bad.layers = 0;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.layers = 0");
  bad = good, bad.dt_min = 0.5;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.dt_max = 0.1");
  bad = good, bad.dt_min = 0;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.dt_min = 0");
  bad = good, bad.dt_init_floor = -1;
  NN_CHECK_THROWS_MENTIONING(make(bad), rescan::value_error, "config.dt_init_floor = -1");

  parameter_set<float> params;
  mamba_mixer<float> mixer(params, "m", good);
  std::vector<float> hidden(3 * 8, 0.1f), out(hidden.size()), dhidden(hidden.size());
  NN_CHECK_THROWS_MENTIONING(mixer.backward(hidden.data(), dhidden.data()), rescan::value_error,
                             "mamba_mixer::backward", "no training forward");
  mixer.forward(hidden.data(), 1, 3, out.data(), pass::inference);
  NN_CHECK_THROWS_MENTIONING(mixer.backward(hidden.data(), dhidden.data()), rescan::value_error, "no training forward");
  mixer.forward(hidden.data(), 1, 3, out.data(), pass::training);
  NN_CHECK_THROWS_MENTIONING(mixer.backward(nullptr, dhidden.data()), rescan::value_error, "dout is nullptr");
  mixer.backward(hidden.data(), dhidden.data());  // the failed call kept the saved activations
  NN_CHECK_THROWS_MENTIONING(mixer.backward(hidden.data(), dhidden.data()), rescan::value_error, "no training forward");
  NN_CHECK_THROWS_MENTIONING(mixer.forward(hidden.data(), 1, 0, out.data(), pass::training), rescan::value_error,
                             "mamba_mixer::forward", "tokens = 0");
  NN_CHECK_THROWS_MENTIONING(mixer.forward(hidden.data(), 0, 3, out.data(), pass::training), rescan::value_error,
                             "batch = 0");
  NN_CHECK_THROWS_MENTIONING(mixer.forward(hidden.data(), 1, 3, nullptr, pass::training), rescan::value_error,
                             "out is nullptr");
  mamba_mixer<float> empty;
  NN_CHECK_THROWS_MENTIONING(empty.forward(hidden.data(), 1, 3, out.data(), pass::training), rescan::value_error,
                             "default-constructed");
}

}  // namespace rescan_examples::testing
