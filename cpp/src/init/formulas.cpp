// The initializers' parameter formulas: fans, gains and the scaled stds, as the distribution
// builders of sow/init.hpp (*_dist). These are the only copy: python/sow/init.py, the C ABI and
// the initializers below all derive their parameters from them.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "sow/init.hpp"
#include "value_checks.hpp"

namespace sow {

using namespace init_impl;  // the value checks and their messages

namespace {

dist symmetric_uniform(double bound, const char* what, double given) {
  finite(bound, what, given);
  return bound == 0 ? dist::constant(0.0) : dist::uniform(-bound, bound);
}

dist normal_of(double mean, double std, const char* what, double given) {
  finite(std, what, given);
  return std == 0 ? dist::constant(mean) : dist::normal(mean, std);
}

// sqrt(c * (scale / n)) as written, except that where scale / n or its product with c leaves the
// normal double range (scale = 5e-324 gives scale / n = 0) the same expression is evaluated
// 2^256 times larger or smaller and the root rescaled exactly. Inside the range both are the
// same bits (scaling by a power of 2 commutes with rounding there), so no value changes.
double root_of_variance(double c, double scale, double n) {
  const double v = c * (scale / n);
  if (v >= std::numeric_limits<double>::min() && v <= std::numeric_limits<double>::max()) return std::sqrt(v);
  if (v < std::numeric_limits<double>::min())  // scale < 2^-1020 n: scale 2^256 is exact and < 2^-700
    return std::sqrt(c * ((scale * 0x1p256) / n)) * 0x1p-128;
  return std::sqrt(c * ((scale * 0x1p-256) / n)) * 0x1p128;  // scale > 2^1022: scale 2^-256 is exact
}

std::int64_t to_i64(unsigned __int128 v, std::span<const std::int64_t> shape, const char* what) {
  if (v > static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max()))
    fail(std::string(what) + " of shape " + py_tuple(shape) + " exceeds 2**63 - 1");
  return static_cast<std::int64_t>(v);
}

struct fans_t {
  std::int64_t fan_in = 0, fan_out = 0;
};

// python/sow/_fans.py fans_for: the named fans, each from its override or from the global shape.
fans_t fans_for(std::span<const std::int64_t> global_shape, bool need_in, bool need_out, const fan_options& f) {
  const std::string_view layout = choice(f.layout, "layout", {"torch", "jax"});
  if (f.fan_in) positive_int(*f.fan_in, "fan_in");
  if (f.fan_out) positive_int(*f.fan_out, "fan_out");
  fans_t r;
  std::optional<std::pair<std::int64_t, std::int64_t>> computed;
  auto one = [&](const char* name, const std::optional<std::int64_t>& given, bool is_in) {
    if (given) return *given;
    if (!computed) computed = calculate_fan_in_and_fan_out(global_shape, layout);
    const std::int64_t v = is_in ? computed->first : computed->second;
    if (v == 0)
      fail(std::string(name) + " is 0 for shape " + py_tuple(global_shape) + " (layout=" + py_repr(layout) +
           "); cannot scale an initializer by it (pass " + name + "= to override)");
    return v;
  };
  if (need_in) r.fan_in = one("fan_in", f.fan_in, true);
  if (need_out) r.fan_out = one("fan_out", f.fan_out, false);
  return r;
}

// float(fan_in + fan_out) with the sum exact (both < 2^63), rounded once as Python does.
double fan_sum(const fans_t& f) {
  return static_cast<double>(static_cast<std::uint64_t>(f.fan_in) + static_cast<std::uint64_t>(f.fan_out));
}

double xavier_std(std::span<const std::int64_t> g, double gain, const fan_options& fo) {
  real_min(gain, "gain", 0.0, true);
  const fans_t f = fans_for(g, true, true, fo);
  return gain * std::sqrt(2.0 / fan_sum(f));
}

double kaiming_std(std::span<const std::int64_t> g, double a, std::string_view mode, std::string_view nonlinearity,
                   const fan_options& fo) {
  real(a, "a");
  std::string m(mode);
  for (auto& ch : m)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  if (m != "fan_in" && m != "fan_out")
    fail("Mode " + m + " not supported, please use one of ['fan_in', 'fan_out']");
  const double gain = calculate_gain(nonlinearity, a);
  const bool in = m == "fan_in";
  const fans_t f = fans_for(g, in, !in, fo);
  return gain / std::sqrt(static_cast<double>(in ? f.fan_in : f.fan_out));
}

}  // namespace

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(std::span<const std::int64_t> shape,
                                                                   std::string_view layout) {
  check_shape(shape);
  layout = choice(layout, "layout", {"torch", "jax"});
  if (shape.size() < 2)
    fail("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape " + py_tuple(shape) + ")");
  const std::size_t n = shape.size();
  unsigned __int128 receptive = 1;
  // Each size is <= 2^56; stop multiplying once the product is 0 or has overflowed int64 for sure.
  auto mul = [](unsigned __int128 a, std::int64_t b) {
    const unsigned __int128 cap = static_cast<unsigned __int128>(1) << 64;
    const unsigned __int128 r = a * static_cast<std::uint64_t>(b);
    return r > cap ? cap : r;
  };
  if (layout == "torch") {
    for (std::size_t k = 2; k < n; ++k) receptive = mul(receptive, shape[k]);
    return {to_i64(mul(receptive, shape[1]), shape, "fan_in"), to_i64(mul(receptive, shape[0]), shape, "fan_out")};
  }
  for (std::size_t k = 0; k + 2 < n; ++k) receptive = mul(receptive, shape[k]);
  return {to_i64(mul(receptive, shape[n - 2]), shape, "fan_in"), to_i64(mul(receptive, shape[n - 1]), shape, "fan_out")};
}

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
  static constexpr std::array<std::string_view, 8> ones = {
      "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"};
  if (std::find(ones.begin(), ones.end(), nonlinearity) != ones.end()) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double negative_slope = param ? *param : 0.01;
    if (!std::isfinite(negative_slope)) fail("negative_slope " + py_repr(negative_slope) + " not a valid number");
    return std::sqrt(2.0 / (1 + std::pow(negative_slope, 2.0)));
  }
  if (nonlinearity == "selu") return 3.0 / 4;  // value found empirically (pytorch/pytorch#50664)
  fail("Unsupported nonlinearity " + std::string(nonlinearity));
}

// --- distribution builders ---------------------------------------------------------------------

dist uniform_dist(double a, double b) {
  real(a, "a");
  real(b, "b");
  if (!(a < b)) fail("a must be less than b, got a=" + py_repr(a) + ", b=" + py_repr(b));
  // No overflow check: the engine computes (a+b)/2 and (b-a)/2 halves first, finite for any
  // finite a, b (stream-format.md §5); float32 outputs check the float32 range in fill().
  return dist::uniform(a, b);
}

dist normal_dist(double mean, double std) {
  real(mean, "mean");
  return normal_of(mean, real_min(std, "std", 0.0, true), "std", std);
}

dist trunc_normal_dist(double mean, double std, double a, double b) {
  real(mean, "mean");
  real_min(std, "std", 0.0, false);
  real(a, "a");
  real(b, "b");
  if (!(a < b)) fail("a must be less than b, got a=" + py_repr(a) + ", b=" + py_repr(b));
  return dist::trunc_normal(mean, std, a, b);
}

dist xavier_uniform_dist(std::span<const std::int64_t> g, double gain, const fan_options& f) {
  return symmetric_uniform(std::sqrt(3.0) * xavier_std(g, gain, f), "gain", gain);
}

dist xavier_normal_dist(std::span<const std::int64_t> g, double gain, const fan_options& f) {
  return normal_of(0.0, xavier_std(g, gain, f), "gain", gain);
}

dist kaiming_uniform_dist(std::span<const std::int64_t> g, double a, std::string_view mode,
                          std::string_view nonlinearity, const fan_options& f) {
  return symmetric_uniform(std::sqrt(3.0) * kaiming_std(g, a, mode, nonlinearity, f), "a", a);
}

dist kaiming_normal_dist(std::span<const std::int64_t> g, double a, std::string_view mode,
                         std::string_view nonlinearity, const fan_options& f) {
  return normal_of(0.0, kaiming_std(g, a, mode, nonlinearity, f), "a", a);
}

dist variance_scaling_dist(std::span<const std::int64_t> g, double scale, std::string_view mode,
                           std::string_view distribution, const fan_options& f) {
  real_min(scale, "scale", 0.0, false);
  mode = choice(mode, "mode", {"fan_in", "fan_out", "fan_avg"});
  distribution = choice(distribution, "distribution", {"uniform", "normal", "truncated_normal", "untruncated_normal"});
  double n;
  if (mode == "fan_avg") {
    n = fan_sum(fans_for(g, true, true, f)) / 2.0;
  } else {
    const bool in = mode == "fan_in";
    const fans_t fs = fans_for(g, in, !in, f);
    n = static_cast<double>(in ? fs.fan_in : fs.fan_out);
  }
  // variance = scale / n; scale > 0, so every root below is positive (never a zero std)
  if (distribution == "uniform") return symmetric_uniform(root_of_variance(3.0, scale, n), "scale", scale);
  if (distribution == "normal" || distribution == "untruncated_normal")
    return normal_of(0.0, root_of_variance(1.0, scale, n), "scale", scale);
  const double std = finite(root_of_variance(1.0, scale, n) / truncated_normal_std, "scale", scale);
  return dist::trunc_normal(0.0, std, -2.0 * std, 2.0 * std);
}

dist lecun_uniform_dist(std::span<const std::int64_t> g, const fan_options& f) {
  return variance_scaling_dist(g, 1.0, "fan_in", "uniform", f);
}

dist lecun_normal_dist(std::span<const std::int64_t> g, const fan_options& f) {
  return variance_scaling_dist(g, 1.0, "fan_in", "truncated_normal", f);
}

dist sparse_dist(std::span<const std::int64_t> g, double sparsity, double std) {
  if (g.size() != 2) fail("Only tensors with 2 dimensions are supported (shape " + py_tuple(g) + ")");
  real_min(sparsity, "sparsity", 0.0, true);
  if (!(sparsity < 1.0)) fail("sparsity must be in [0, 1), got " + py_repr(sparsity));
  if (static_cast<std::uint64_t>(g[0]) > (std::uint64_t{1} << 32))
    fail("sparse supports at most 2**32 rows, got shape " + py_tuple(g));
  return normal_of(0.0, real_min(std, "std", 0.0, true), "std", std);
}

}  // namespace sow
