// The Mamba-1 mixer (mamba_ssm's Mamba.forward, "slow path" semantics), unidirectional or Vision
// Mamba's bidirectional v2 (hustvl/Vim mamba_simple.py, bimamba_type = "v2", if_divide_out = True).
// With E = expand · d_model, R = dt_rank, N = d_state, per branch:
//   x, z   = split(in_proj(hidden))                       (E channels each)
//   u      = silu(depthwise_conv(x) + conv_bias)          (causal; anti-causal in the backward branch)
//   dt_low, B, C = split(x_proj(u))                       (R, N, N channels)
//   delta  = dt_proj.weight · dt_low                      (dt_proj.bias is the scan's delta_bias)
//   y      = selective_scan(u, delta, A = −exp(A_log), B, C, D, z, delta_bias, softplus)
// The backward branch is the forward branch on the token-reversed sequence with its own _b
// parameters, reversed back: an anti-causal conv plus the reverse-direction scan, with no copies.
//   out = out_proj(y)   or, bidirectional,   out = out_proj((y_forward + y_backward) / 2)
//
// Layout: activations are channel-major, (channels, batch · tokens) row-major, so each projection
// is one GEMM and the scan reads each (batch, channel) row contiguously through (batch, channels,
// tokens) views with strides (tokens, batch · tokens, 1). The training forward keeps the scan's
// checkpoints, so the backward pass does not run the recurrence twice.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include <rescan/cpu/detail/simd_math.hpp>
#include <rescan/cpu/selective_scan.hpp>
#include <rescan/scan/bidirectional_selective_scan.hpp>
#include <rescan/scan/selective_state_update.hpp>

#include "common/nn/depthwise_conv.hpp"
#include "common/nn/matrix.hpp"
#include "common/nn/mixer_config.hpp"
#include "common/nn/parameter.hpp"
#include "common/nn/pass.hpp"
#include "common/nn/random.hpp"

namespace rescan_examples {

template <class T>
class mamba_mixer {
 public:
  mamba_mixer() = default;

  // Registers, under prefix (e.g. "layers.3.mixer"): in_proj.weight (2E, D); conv1d.weight
  // (E, 1, d_conv), conv1d.bias (E); x_proj.weight (R + 2N, E); dt_proj.weight (E, R),
  // dt_proj.bias (E); A_log (E, N); D (E); when bidirectional conv1d_b.weight, conv1d_b.bias,
  // x_proj_b.weight, dt_proj_b.weight, dt_proj_b.bias, A_b_log, D_b alike; out_proj.weight (D, E).
  // Biases, A_log and D are not decayed. Values stay zero until init().
  mamba_mixer(parameter_set<T>& params, const std::string& prefix, const mixer_config& config) : config_(config) {
    check_mixer_config("mamba_mixer(\"" + prefix + "\")", config);
    const index_t D = config.d_model, E = config.inner(), R = config.rank(), N = config.d_state, K = config.d_conv;
    in_proj_ = &params.add(prefix + ".in_proj.weight", {2 * E, D});
    const auto add_branch = [&](const std::string& suffix, const std::string& a_log_name, const std::string& d_name) {
      branch_parameters branch;
      branch.conv_weight = &params.add(prefix + ".conv1d" + suffix + ".weight", {E, 1, K});
      branch.conv_bias = &params.add(prefix + ".conv1d" + suffix + ".bias", {E}, false);
      branch.x_proj = &params.add(prefix + ".x_proj" + suffix + ".weight", {R + 2 * N, E});
      branch.dt_proj_weight = &params.add(prefix + ".dt_proj" + suffix + ".weight", {E, R});
      branch.dt_proj_bias = &params.add(prefix + ".dt_proj" + suffix + ".bias", {E}, false);
      branch.A_log = &params.add(prefix + "." + a_log_name, {E, N}, false);
      branch.D = &params.add(prefix + "." + d_name, {E}, false);
      return branch;
    };
    branches_.push_back(branch{add_branch("", "A_log", "D"), {}, {}});
    if (config.bidirectional) branches_.push_back(branch{add_branch("_b", "A_b_log", "D_b"), {}, {}});
    out_proj_ = &params.add(prefix + ".out_proj.weight", {D, E});
  }

  // Initialization as Vim / mamba_simple does it, drawn in this order: in_proj.weight
  // U(±1/sqrt(D)); per branch (forward, then backward): conv1d.weight and conv1d.bias
  // U(±1/sqrt(d_conv)), x_proj.weight U(±1/sqrt(E)), dt_proj.weight U(±R^-1/2), dt_proj.bias =
  // softplus⁻¹(dt) with dt = max(exp(U[log dt_min, log dt_max]), dt_init_floor), A_log[e, n] =
  // log(n + 1), D = 1; then out_proj.weight U(±1/sqrt(E)) / sqrt(layers) (rescale_prenorm_residual).
  void init(random_generator& random) {
    check_built("mamba_mixer::init");
    const index_t E = config_.inner(), N = config_.d_state;
    fill_uniform(*in_proj_, 1.0 / std::sqrt(double(config_.d_model)), random);
    for (branch& b : branches_) {
      const branch_parameters& p = b.params;
      fill_uniform(*p.conv_weight, 1.0 / std::sqrt(double(config_.d_conv)), random);
      fill_uniform(*p.conv_bias, 1.0 / std::sqrt(double(config_.d_conv)), random);
      fill_uniform(*p.x_proj, 1.0 / std::sqrt(double(E)), random);
      fill_uniform(*p.dt_proj_weight, 1.0 / std::sqrt(double(config_.rank())), random);
      const double log_min = std::log(config_.dt_min), log_max = std::log(config_.dt_max);
      for (T& bias : p.dt_proj_bias->value) {
        const double dt = std::max(std::exp(random.uniform(log_min, log_max)), config_.dt_init_floor);
        bias = T(dt + std::log(-std::expm1(-dt)));  // softplus(bias) = dt
      }
      for (index_t e = 0; e < E; ++e) {
        for (index_t n = 0; n < N; ++n) p.A_log->value[std::size_t(e * N + n)] = T(std::log(double(n + 1)));
      }
      std::fill(p.D->value.begin(), p.D->value.end(), T(1));
    }
    fill_uniform(*out_proj_, 1.0 / std::sqrt(double(E)) / std::sqrt(double(config_.layers)), random);
  }

  // hidden: (batch, tokens, d_model) row-major -> out: (batch, tokens, d_model), written; out must
  // not overlap hidden. batch, tokens >= 1; tokens may change from call to call (token merging).
  void forward(const T* hidden, index_t batch, index_t tokens, T* out, pass mode) {
    constexpr const char* function = "mamba_mixer::forward";
    check_built(function);
    detail::check_at_least(function, "batch", batch, 1);
    detail::check_at_least(function, "tokens", tokens, 1);
    detail::check_given(function, "hidden", hidden);
    detail::check_given(function, "out", out);
    saved_ = false;
    batch_ = batch;
    tokens_ = tokens;
    const bool training = mode == pass::training;
    const index_t D = config_.d_model, E = config_.inner(), N = config_.d_state;
    const index_t columns = batch * tokens;
    if (training) hidden_.assign(hidden, hidden + columns * D);
    project_in(hidden, columns, xz_);

    for (std::size_t index = 0; index < branches_.size(); ++index) {
      branch& b = branches_[index];
      branch_activations& a = b.activations;
      const branch_parameters& p = b.params;
      a.conv.resize(std::size_t(E * columns));
      a.u.resize(std::size_t(E * columns));
      detail::depthwise_conv_forward(xz_.data(), p.conv_weight->value.data(), p.conv_bias->value.data(), E, batch,
                                     tokens, config_.d_conv, conv_direction_of(index), a.conv.data());
      apply_silu(a.conv, a.u);
      project_scan_inputs(p, a.u, columns, a.x_dbl, a.delta, a.A);
      a.checkpoints.resize(training ? std::size_t(batch * E * checkpoint_count() * N) : 0);
    }

    // y (E, columns): the scan, or the mean of both branches' scans.
    y_.resize(std::size_t(E * columns));
    const auto y = sequence_view(y_.data());
    if (branches_.size() == 1) {
      rescan::selective_scan_forward(backend_, scan_arguments(0), y, {}, checkpoints_view(0));
    } else {
      rescan::bidirectional_selective_scan_forward(backend_, scan_arguments(0), scan_arguments(1), y, {}, {},
                                                   checkpoints_view(0), checkpoints_view(1));
    }

    project_out(y_, columns, out);
    saved_ = training;
  }

  // dout: (batch, tokens, d_model) for the last training forward -> dhidden: (batch, tokens,
  // d_model), written (nullptr: skipped). Adds to every parameter's gradient. Consumes the saved
  // activations: a second backward needs a new training forward.
  void backward(const T* dout, T* dhidden) {
    constexpr const char* function = "mamba_mixer::backward";
    check_built(function);
    if (!saved_) detail::fail(function, ": no training forward pass to differentiate");
    detail::check_given(function, "dout", dout);
    saved_ = false;  // consumed (only once the arguments are known good)
    const index_t D = config_.d_model, E = config_.inner(), R = config_.rank(), N = config_.d_state;
    const index_t columns = batch_ * tokens_;
    const auto dout_matrix = detail::as_matrix(dout, columns, D);

    // out = yᵀ W_outᵀ:  dW_out += doutᵀ yᵀ,  dy = W_outᵀ doutᵀ.
    detail::as_matrix(out_proj_->grad.data(), D, E).noalias() +=
        dout_matrix.transpose() * detail::as_matrix<const T>(y_.data(), E, columns).transpose();
    dy_.resize(std::size_t(E * columns));
    detail::as_matrix(dy_.data(), E, columns).noalias() =
        detail::as_matrix<const T>(out_proj_->value.data(), D, E).transpose() * dout_matrix.transpose();

    // The scan adds into zeroed activation gradients (dz is shared by both branches) and straight
    // into the parameter gradients of D and dt_proj.bias.
    dxz_.assign(std::size_t(2 * E * columns), T(0));
    for (branch& b : branches_) {
      b.gradients.du.assign(std::size_t(E * columns), T(0));
      b.gradients.ddelta.assign(std::size_t(E * columns), T(0));
      b.gradients.dx_dbl.assign(std::size_t((R + 2 * N) * columns), T(0));
      b.gradients.dA.assign(std::size_t(E * N), T(0));
    }
    const auto dy = rescan::strided_view<const T, 3>(sequence_view(dy_.data()));
    if (branches_.size() == 1) {
      rescan::selective_scan_backward(backend_, scan_arguments(0), dy, scan_gradients(0), {}, checkpoints_view(0));
    } else {
      rescan::bidirectional_selective_scan_backward(backend_, scan_arguments(0), scan_arguments(1), dy,
                                                    scan_gradients(0), scan_gradients(1), {}, {}, checkpoints_view(0),
                                                    checkpoints_view(1));
    }

    for (std::size_t index = 0; index < branches_.size(); ++index) {
      branch& b = branches_[index];
      const branch_parameters& p = b.params;
      const branch_activations& a = b.activations;
      branch_gradients& g = b.gradients;
      // A = −exp(A_log): dA_log = dA · A.
      for (std::size_t i = 0; i < g.dA.size(); ++i) p.A_log->grad[i] += g.dA[i] * a.A[i];
      // delta = W_dt dt_low:  dW_dt += ddelta dt_lowᵀ,  d dt_low = W_dtᵀ ddelta (rows [0, R) of dx_dbl).
      const auto ddelta = detail::as_matrix<const T>(g.ddelta.data(), E, columns);
      detail::as_matrix(p.dt_proj_weight->grad.data(), E, R).noalias() +=
          ddelta * detail::as_matrix<const T>(a.x_dbl.data(), R, columns).transpose();
      detail::as_matrix(g.dx_dbl.data(), R, columns).noalias() =
          detail::as_matrix<const T>(p.dt_proj_weight->value.data(), E, R).transpose() * ddelta;
      // x_dbl = W_x u:  dW_x += dx_dbl uᵀ,  du += W_xᵀ dx_dbl.
      const auto dx_dbl = detail::as_matrix<const T>(g.dx_dbl.data(), R + 2 * N, columns);
      detail::as_matrix(p.x_proj->grad.data(), R + 2 * N, E).noalias() +=
          dx_dbl * detail::as_matrix<const T>(a.u.data(), E, columns).transpose();
      detail::as_matrix(g.du.data(), E, columns).noalias() +=
          detail::as_matrix<const T>(p.x_proj->value.data(), R + 2 * N, E).transpose() * dx_dbl;
      // u = silu(conv): dconv = du · silu'(conv), in place; then the conv adds into dx (rows [0, E) of dxz).
      apply_silu_backward(a.conv, g.du);
      detail::depthwise_conv_backward(xz_.data(), p.conv_weight->value.data(), g.du.data(), E, batch_, tokens_,
                                      config_.d_conv, conv_direction_of(index), dxz_.data(), p.conv_weight->grad.data(),
                                      p.conv_bias->grad.data());
    }

    // xz = W_in hiddenᵀ:  dW_in += dxz hidden,  dhidden = dxzᵀ W_in.
    const auto dxz = detail::as_matrix<const T>(dxz_.data(), 2 * E, columns);
    detail::as_matrix(in_proj_->grad.data(), 2 * E, D).noalias() +=
        dxz * detail::as_matrix<const T>(hidden_.data(), columns, D);
    if (dhidden != nullptr) {
      detail::as_matrix(dhidden, columns, D).noalias() =
          dxz.transpose() * detail::as_matrix<const T>(in_proj_->value.data(), 2 * E, D);
    }
  }

  // What token-by-token decoding carries from one token to the next, per sequence: the last
  // d_conv − 1 inputs of the conv and the scan's state. O(1) in the length of the sequence.
  struct decoding_state {
    index_t batch = 0;
    std::vector<T> conv;  // (E, batch, d_conv − 1), oldest first
    std::vector<T> ssm;   // (batch, E, N)
  };

  // The state before the first token of `batch` sequences (zeros). Unidirectional mixers only: the
  // backward branch of a bidirectional one would need the tokens to come.
  decoding_state start_decoding(index_t batch) const {
    constexpr const char* function = "mamba_mixer::start_decoding";
    check_built(function);
    detail::check_at_least(function, "batch", batch, 1);
    if (branches_.size() != 1) detail::fail(function, ": a bidirectional mixer cannot decode token by token");
    const index_t E = config_.inner();
    decoding_state state;
    state.batch = batch;
    state.conv.assign(std::size_t(E * batch * (config_.d_conv - 1)), T(0));
    state.ssm.assign(std::size_t(batch * E * config_.d_state), T(0));
    return state;
  }

  // The recurrent form of forward(): hidden (batch, d_model), the next token of each sequence ->
  // out (batch, d_model), written; state advanced by one token. Stepping through a sequence gives
  // forward()'s outputs (up to rounding): the conv reads its window, the scan steps with
  // rescan::selective_state_update. Keeps nothing for backward.
  void step(const T* hidden, decoding_state& state, T* out) {
    constexpr const char* function = "mamba_mixer::step";
    check_built(function);
    detail::check_given(function, "hidden", hidden);
    detail::check_given(function, "out", out);
    const index_t E = config_.inner(), R = config_.rank(), N = config_.d_state;
    const index_t batch = state.batch;
    if (branches_.size() != 1) detail::fail(function, ": a bidirectional mixer cannot decode token by token");
    if (batch < 1 || state.conv.size() != std::size_t(E * batch * (config_.d_conv - 1)) ||
        state.ssm.size() != std::size_t(batch * E * N)) {
      detail::fail(function, ": state does not fit this mixer (use start_decoding)");
    }
    const branch_parameters& p = branches_[0].params;
    step_scratch& s = step_;
    project_in(hidden, batch, s.xz);
    s.conv.resize(std::size_t(E * batch));
    s.u.resize(s.conv.size());
    detail::depthwise_conv_step(s.xz.data(), p.conv_weight->value.data(), p.conv_bias->value.data(), E, batch,
                                config_.d_conv, state.conv.data(), s.conv.data());
    apply_silu(s.conv, s.u);
    project_scan_inputs(p, s.u, batch, s.x_dbl, s.delta, s.A);
    s.y.resize(std::size_t(E * batch));

    // (E, batch) buffers as (batch, E) views; B and C rows of x_dbl as (batch, 1, N).
    const auto per_sequence = [&](auto* data) {
      using U = std::remove_pointer_t<decltype(data)>;
      return rescan::strided_view<U, 2>(data, {batch, E}, {1, batch});
    };
    const auto state_input = [&](index_t first_row) {
      return rescan::strided_view<const T, 3>(s.x_dbl.data() + first_row * batch, {batch, 1, N}, {1, N * batch, batch});
    };
    rescan::selective_state_update_arguments<T> args;
    args.state = rescan::make_view(state.ssm.data(), {batch, E, N});
    args.u = per_sequence(static_cast<const T*>(s.u.data()));
    args.delta = per_sequence(static_cast<const T*>(s.delta.data()));
    args.A = rescan::make_view<const T>(s.A.data(), {E, N});
    args.B = state_input(R);
    args.C = state_input(R + N);
    args.D = rescan::make_view<const T>(p.D->value.data(), E);
    args.z = per_sequence(static_cast<const T*>(s.xz.data() + E * batch));
    args.delta_bias = rescan::make_view<const T>(p.dt_proj_bias->value.data(), E);
    args.delta_softplus = true;
    rescan::selective_state_update(backend_, args, per_sequence(s.y.data()));
    project_out(s.y, batch, out);
  }

  const mixer_config& config() const { return config_; }

 private:
  // step()'s buffers, (channels, batch) each, kept to avoid reallocating every token.
  struct step_scratch {
    std::vector<T> xz, conv, u, x_dbl, delta, A, y;
  };

  struct branch_parameters {
    parameter<T>* conv_weight = nullptr;     // (E, 1, d_conv)
    parameter<T>* conv_bias = nullptr;       // (E)
    parameter<T>* x_proj = nullptr;          // (R + 2N, E)
    parameter<T>* dt_proj_weight = nullptr;  // (E, R)
    parameter<T>* dt_proj_bias = nullptr;    // (E)
    parameter<T>* A_log = nullptr;           // (E, N)
    parameter<T>* D = nullptr;               // (E)
  };
  // What one branch's forward pass computes (columns = batch · tokens).
  struct branch_activations {
    std::vector<T> conv;         // (E, columns): conv(x) + bias, before silu
    std::vector<T> u;            // (E, columns): silu(conv), the scan's input
    std::vector<T> x_dbl;        // (R + 2N, columns): dt_low, B, C
    std::vector<T> delta;        // (E, columns)
    std::vector<T> A;            // (E, N): −exp(A_log)
    std::vector<T> checkpoints;  // (batch, E, checkpoint_count(), N), training only
  };
  // Scratch of one branch's backward pass, kept between steps to avoid reallocating.
  struct branch_gradients {
    std::vector<T> du, ddelta;  // (E, columns)
    std::vector<T> dx_dbl;      // (R + 2N, columns)
    std::vector<T> dA;          // (E, N)
  };
  struct branch {
    branch_parameters params;
    branch_activations activations;
    branch_gradients gradients;
  };

  void check_built(const char* function) const {
    if (in_proj_ == nullptr) detail::fail(function, ": the mixer was default-constructed (no parameters)");
  }

  // The projections forward() and step() share, over `columns` tokens in the channel-major layout.
  // xz (2E, columns) = in_proj.weight · hiddenᵀ: x is rows [0, E), z rows [E, 2E).
  void project_in(const T* hidden, index_t columns, std::vector<T>& xz) const {
    const index_t D = config_.d_model, E = config_.inner();
    xz.resize(std::size_t(2 * E * columns));
    detail::as_matrix(xz.data(), 2 * E, columns).noalias() =
        detail::as_matrix<const T>(in_proj_->value.data(), 2 * E, D) * detail::as_matrix(hidden, columns, D).transpose();
  }
  // From u (E, columns): x_dbl (R + 2N, columns) = x_proj.weight · u (dt_low rows [0, R), B [R, R + N),
  // C [R + N, R + 2N)), delta (E, columns) = dt_proj.weight · dt_low, A (E, N) = −exp(A_log).
  void project_scan_inputs(const branch_parameters& p, const std::vector<T>& u, index_t columns,
                           std::vector<T>& x_dbl, std::vector<T>& delta, std::vector<T>& A) const {
    const index_t E = config_.inner(), R = config_.rank(), N = config_.d_state;
    x_dbl.resize(std::size_t((R + 2 * N) * columns));
    detail::as_matrix(x_dbl.data(), R + 2 * N, columns).noalias() =
        detail::as_matrix<const T>(p.x_proj->value.data(), R + 2 * N, E) *
        detail::as_matrix<const T>(u.data(), E, columns);
    delta.resize(std::size_t(E * columns));
    detail::as_matrix(delta.data(), E, columns).noalias() =
        detail::as_matrix<const T>(p.dt_proj_weight->value.data(), E, R) *
        detail::as_matrix<const T>(x_dbl.data(), R, columns);
    A.resize(std::size_t(E * N));
    for (std::size_t i = 0; i < A.size(); ++i) A[i] = -std::exp(p.A_log->value[i]);
  }
  // out (columns, D) = yᵀ · out_proj.weightᵀ, y (E, columns).
  void project_out(const std::vector<T>& y, index_t columns, T* out) const {
    const index_t D = config_.d_model, E = config_.inner();
    detail::as_matrix(out, columns, D).noalias() = detail::as_matrix<const T>(y.data(), E, columns).transpose() *
                                                   detail::as_matrix<const T>(out_proj_->value.data(), D, E).transpose();
  }

  static void fill_uniform(parameter<T>& p, double bound, random_generator& random) {
    for (T& value : p.value) value = T(random.uniform(-bound, bound));
  }

  // Branch 0 reads the tokens in order, branch 1 (Vim's backward branch) against it.
  static detail::conv_direction conv_direction_of(std::size_t branch_index) {
    return branch_index == 0 ? detail::conv_direction::causal : detail::conv_direction::anti_causal;
  }

  // out[i] := f(a[i], b[i]) for i in [0, count), f taking and returning SIMD vectors of rescan's
  // math lanes; the last, partial vector goes through zero-padded copies, so every element gets the
  // same arithmetic wherever it lies. out may be a or b.
  template <class F>
  static void map_vectors(index_t count, const T* a, const T* b, T* out, const F& f) {
    using lanes = rescan::detail::math_lanes<T>;
    constexpr index_t width = lanes::width;
    const index_t whole = count / width;
#pragma omp parallel for schedule(static) if (count > 32768)
    for (index_t v = 0; v < whole; ++v) {
      lanes::store(out + v * width, f(lanes::load(a + v * width), lanes::load(b + v * width)));
    }
    const index_t first = whole * width, rest = count - first;
    if (rest == 0) return;
    alignas(64) T a_rest[width] = {}, b_rest[width] = {}, out_rest[width];
    std::copy(a + first, a + count, a_rest);
    std::copy(b + first, b + count, b_rest);
    lanes::store(out_rest, f(lanes::load(a_rest), lanes::load(b_rest)));
    std::copy(out_rest, out_rest + rest, out + first);
  }

  // u = conv · sigmoid(conv), vectorized (rescan's vector sigmoid: within a few ulp of std::exp's).
  static void apply_silu(const std::vector<T>& conv, std::vector<T>& u) {
    map_vectors(index_t(conv.size()), conv.data(), conv.data(), u.data(),
                [](const auto& x, const auto&) { return x * rescan::detail::vector_sigmoid<T>(x); });
  }

  // gradient *= silu'(conv) = s · (1 + conv · (1 − s)), s = sigmoid(conv)
  static void apply_silu_backward(const std::vector<T>& conv, std::vector<T>& gradient) {
    map_vectors(index_t(conv.size()), conv.data(), gradient.data(), gradient.data(), [](const auto& x, const auto& g) {
      const auto s = rescan::detail::vector_sigmoid<T>(x);
      return g * (s * (T(1) + x * (T(1) - s)));
    });
  }

  index_t checkpoint_count() const { return rescan::selective_scan_checkpoint_count(backend_, tokens_); }

  // A (channels, columns) buffer as the scan's (batch, channels, tokens).
  template <class U>
  rescan::strided_view<U, 3> sequence_view(U* data) const {
    const index_t channels = config_.inner();
    return rescan::strided_view<U, 3>(data, {batch_, channels, tokens_}, {tokens_, batch_ * tokens_, 1});
  }
  // Rows [first_row, first_row + N) of an (R + 2N, columns) buffer as the scan's (batch, 1, N, tokens).
  template <class U>
  rescan::strided_view<U, 4> state_input_view(U* data, index_t first_row) const {
    const index_t columns = batch_ * tokens_, N = config_.d_state;
    return rescan::strided_view<U, 4>(data + first_row * columns, {batch_, 1, N, tokens_},
                                      {tokens_, N * columns, columns, 1});
  }

  rescan::selective_scan_arguments<T> scan_arguments(std::size_t index) const {
    const branch& b = branches_[index];
    const index_t E = config_.inner(), R = config_.rank(), N = config_.d_state;
    rescan::selective_scan_arguments<T> args;
    args.u = sequence_view<const T>(b.activations.u.data());
    args.delta = sequence_view<const T>(b.activations.delta.data());
    args.A = rescan::make_view<const T>(b.activations.A.data(), {E, N});
    args.B = state_input_view<const T>(b.activations.x_dbl.data(), R);
    args.C = state_input_view<const T>(b.activations.x_dbl.data(), R + N);
    args.D = rescan::make_view<const T>(b.params.D->value.data(), E);
    args.z = sequence_view<const T>(xz_.data() + E * batch_ * tokens_);
    args.delta_bias = rescan::make_view<const T>(b.params.dt_proj_bias->value.data(), E);
    args.delta_softplus = true;
    return args;
  }

  // Every gradient added (accumulate): the activation buffers start at zero, D's and
  // dt_proj.bias's go straight into their parameters' gradients.
  rescan::selective_scan_gradients<T> scan_gradients(std::size_t index) {
    branch& b = branches_[index];
    const index_t E = config_.inner(), R = config_.rank(), N = config_.d_state;
    rescan::selective_scan_gradients<T> gradients;
    gradients.du = sequence_view(b.gradients.du.data());
    gradients.ddelta = sequence_view(b.gradients.ddelta.data());
    gradients.dA = rescan::make_view(b.gradients.dA.data(), {E, N});
    gradients.dB = state_input_view(b.gradients.dx_dbl.data(), R);
    gradients.dC = state_input_view(b.gradients.dx_dbl.data(), R + N);
    gradients.dD = rescan::make_view(b.params.D->grad.data(), E);
    gradients.dz = sequence_view(dxz_.data() + E * batch_ * tokens_);
    gradients.ddelta_bias = rescan::make_view(b.params.dt_proj_bias->grad.data(), E);
    gradients.accumulate = true;
    return gradients;
  }

  rescan::strided_view<T, 4> checkpoints_view(std::size_t index) {
    std::vector<T>& checkpoints = branches_[index].activations.checkpoints;
    if (checkpoints.empty()) return {};
    return rescan::make_view(checkpoints.data(), {batch_, config_.inner(), checkpoint_count(), config_.d_state});
  }

  mixer_config config_{};
  rescan::cpu_t backend_{};
  parameter<T>* in_proj_ = nullptr;   // (2E, D)
  parameter<T>* out_proj_ = nullptr;  // (D, E)
  std::vector<branch> branches_;      // forward, and backward when bidirectional

  index_t batch_ = 0, tokens_ = 0;  // of the last forward
  bool saved_ = false;              // the last forward was a training one
  std::vector<T> hidden_;           // (columns, D), training only
  std::vector<T> xz_;               // (2E, columns)
  std::vector<T> y_;                // (E, columns): scan output (mean of both branches)
  std::vector<T> dy_;               // (E, columns), backward scratch
  std::vector<T> dxz_;              // (2E, columns), backward scratch
  step_scratch step_;               // decoding
};

}  // namespace rescan_examples
