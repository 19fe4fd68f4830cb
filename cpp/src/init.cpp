// The initializers: parameter formulas (fans, gains, scaled stds) and the CPU entry points.
// The formulas here are the only copy: python/sow/init.py calls them through sow._core.
// Error messages are Python's (python/sow/_validate.py, _fans.py, init.py), including Python's
// repr() of floats and strings, so both languages say the same thing for the same input.
#include "sow/init.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "layout.hpp"
#include "sow/round.hpp"
#include "sow/stream.hpp"

namespace sow {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(what); }

// ---------------------------------------------------------------------------------------------
// Python-compatible formatting

// repr(float), shared with the engine's messages (sow/dist.hpp).
std::string py_repr(double v) { return detail::repr(v); }

// repr(str) for the printable strings option names are (quotes chosen as Python chooses them).
std::string py_repr(std::string_view s) {
  const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  static const char* hex = "0123456789abcdef";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else out += ch;
  }
  return out + q;
}

std::string py_list(std::initializer_list<std::string_view> items) {
  std::string out = "[";
  bool first = true;
  for (const auto s : items) {
    if (!first) out += ", ";
    out += py_repr(s);
    first = false;
  }
  return out + "]";
}

std::string py_tuple(std::span<const std::int64_t> shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

// ---------------------------------------------------------------------------------------------
// Value checks (the ValueError half of python/sow/_validate.py)

double real(double v, const char* name) {
  if (!std::isfinite(v)) fail(std::string(name) + " must be finite, got " + py_repr(v));
  return v;
}
double real_min(double v, const char* name, double min_value, bool inclusive) {
  real(v, name);
  if (inclusive && v < min_value) fail(std::string(name) + " must be >= " + py_repr(min_value) + ", got " + py_repr(v));
  if (!inclusive && v <= min_value) fail(std::string(name) + " must be > " + py_repr(min_value) + ", got " + py_repr(v));
  return v;
}
std::string_view choice(std::string_view v, const char* name, std::initializer_list<std::string_view> choices) {
  for (const auto c : choices)
    if (v == c) return v;
  fail(std::string(name) + " must be one of " + py_list(choices) + ", got " + py_repr(v));
}
std::int64_t positive_int(std::int64_t v, const char* name) {
  if (v < 1) fail(std::string(name) + " must be a positive int, got " + std::to_string(v));
  return v;
}

// check_shape's value checks on an already-integer shape.
void check_shape(std::span<const std::int64_t> dims, const char* name = "shape") {
  unsigned __int128 prod = 1;
  for (const auto d : dims) {
    if (d < 0) fail(std::string(name) + " must not contain negative sizes, got " + py_tuple(dims));
    if (static_cast<std::uint64_t>(d) > max_elements)
      fail(std::string(name) + " " + py_tuple(dims) + " is too large: a size exceeds 2**56");
  }
  for (const auto d : dims) {
    prod *= static_cast<std::uint64_t>(d);
    if (prod > max_elements) break;
  }
  if (prod > max_elements) {
    // Python prints the exact element count; sizes are <= 2^56 each, so it fits in 128 bits
    // unless there are many dimensions: then fall back to the plain statement.
    unsigned __int128 p = 1;
    bool exact = true;
    for (const auto d : dims) {
      if (d != 0 && p > (~static_cast<unsigned __int128>(0)) / static_cast<std::uint64_t>(d)) {
        exact = false;
        break;
      }
      p *= static_cast<std::uint64_t>(d);
    }
    std::string count;
    if (exact) {
      if (p == 0) count = "0";
      while (p > 0) {
        count.insert(count.begin(), static_cast<char>('0' + static_cast<int>(p % 10)));
        p /= 10;
      }
    } else {
      count = "more than 2**128";
    }
    fail(std::string(name) + " " + py_tuple(dims) + " has " + count + " elements; sow supports at most 2**56");
  }
}

// A derived parameter that overflowed float64: parameter `what`, given as `given`, is to blame.
double finite(double v, const char* what, double given) {
  if (!std::isfinite(v))
    fail(std::string(what) + "=" + py_repr(given) + " is too large: the derived parameter " + py_repr(v) +
         " is not finite");
  return v;
}

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

// The initializer's distribution, checked as fill will check it for an output of `type`, with the
// initializer's own parameter named in range errors (the rule itself: src/value_range.hpp).
dist for_type(const dist& d, dtype type, const char* initializer, const char* param, double value) {
  check_dist(d, type, 0, dist_origin{initializer, param, value});
  return d;
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

// ---------------------------------------------------------------------------------------------
// Writing

fill_target target_of(const tensor_ref& t, std::vector<std::int64_t>& strides_storage) {
  if (!t.strides.empty() && t.strides.size() != t.shape.size())
    fail("strides must have one entry per dimension");
  if (t.global_shape.empty() && !t.offsets.empty()) fail("global_shape is required when shard offsets are given");
  if (t.strides.empty()) {
    // The sizes first (Python's check_shape rules): then a non-empty shape's C-contiguous strides
    // are at most 2^56 * 8 bytes. An empty shape may still have sizes whose product overflows
    // (0, 2^56, 2^56); its strides address nothing, so they stop growing instead.
    detail::check_sizes(t.shape, "shape");
    strides_storage.assign(t.shape.size(), 0);
    std::int64_t s = static_cast<std::int64_t>(itemsize(t.type));
    for (std::size_t k = t.shape.size(); k-- > 0;) {
      strides_storage[k] = s;
      std::int64_t next;
      if (!__builtin_mul_overflow(s, std::max<std::int64_t>(t.shape[k], 1), &next)) s = next;
    }
  }
  fill_target f;
  f.data = t.data;
  f.type = t.type;
  f.shape = t.shape;
  f.strides = t.strides.empty() ? std::span<const std::int64_t>(strides_storage) : std::span<const std::int64_t>(t.strides);
  f.global_shape = t.global_shape;
  f.offsets = t.offsets;
  return f;
}

// Fills `t` with `d`; the shard (global_shape without offsets means offsets 0) is checked by fill.
void run(const tensor_ref& t, const dist& d, std::uint64_t seed, std::uint64_t key, int threads) {
  std::vector<std::int64_t> strides, offsets;
  fill_target f = target_of(t, strides);
  if (!t.global_shape.empty() && t.offsets.empty()) {
    offsets.assign(t.shape.size(), 0);
    f.offsets = offsets;
  }
  if (!t.global_shape.empty() && t.global_shape.size() != t.shape.size())
    fail("global_shape " + py_tuple(t.global_shape) + " and out.shape " + py_tuple(t.shape) +
         " have different numbers of dimensions");
  fill(f, d, seed, key, threads, 0);
}

void check_global(const tensor_ref& t) {
  if (!t.global_shape.empty() && t.global_shape.size() != t.shape.size())
    fail("global_shape " + py_tuple(t.global_shape) + " and out.shape " + py_tuple(t.shape) +
         " have different numbers of dimensions");
  check_shape(t.global(), t.global_shape.empty() ? "shape" : "global_shape");
}

std::int64_t offset_of(const tensor_ref& t, std::size_t k) { return t.offsets.empty() ? 0 : t.offsets[k]; }

std::int64_t stride_of(const tensor_ref& t, std::size_t k) {
  if (!t.strides.empty()) return t.strides[k];
  std::int64_t s = static_cast<std::int64_t>(itemsize(t.type));
  for (std::size_t j = k + 1; j < t.shape.size(); ++j) s *= t.shape[j];
  return s;
}

void write_one(const tensor_ref& t, std::int64_t byte_offset) {
  unsigned char* p = static_cast<unsigned char*>(t.data) + byte_offset;
  switch (t.type) {
    case dtype::float32: { const float v = 1.0f; std::memcpy(p, &v, 4); break; }
    case dtype::float64: { const double v = 1.0; std::memcpy(p, &v, 8); break; }
    case dtype::float16: { const std::uint16_t v = 0x3c00; std::memcpy(p, &v, 2); break; }
    case dtype::bfloat16: { const std::uint16_t v = 0x3f80; std::memcpy(p, &v, 2); break; }
  }
}

// Sets to 1 the global positions idx[0..nd) (one per dimension) when they fall in the shard.
void set_one_if_inside(const tensor_ref& t, std::span<const std::int64_t> idx) {
  std::int64_t off = 0;
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const std::int64_t local = idx[k] - offset_of(t, k);
    if (local < 0 || local >= t.shape[k]) return;
    off += local * stride_of(t, k);
  }
  write_one(t, off);
}

std::uint64_t local_count(const tensor_ref& t) {
  std::uint64_t n = 1;
  for (const auto s : t.shape) n *= static_cast<std::uint64_t>(s);
  return n;
}

}  // namespace

// -----------------------------------------------------------------------------------------------

void tensor_ref::check_span_size(std::size_t n) const {
  detail::check_sizes(shape, "shape");  // then the count is exact in 64 bits
  std::uint64_t need = 1;
  for (const auto s : shape) need *= static_cast<std::uint64_t>(s);
  if (need != n)
    fail("data has " + std::to_string(n) + " elements but shape " + py_tuple(shape) + " needs " + std::to_string(need));
}

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

// --- initializers ------------------------------------------------------------------------------

void uniform_(const tensor_ref& out, const rng& r, double a, double b) {
  const dist d = uniform_dist(a, b);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void normal_(const tensor_ref& out, const rng& r, double mean, double std) {
  const dist d = normal_dist(mean, std);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void trunc_normal_(const tensor_ref& out, const rng& r, double mean, double std, double a, double b) {
  const dist d = trunc_normal_dist(mean, std, a, b);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void xavier_uniform_(const tensor_ref& out, const rng& r, double gain, const fan_options& f) {
  check_global(out);
  const dist d = for_type(xavier_uniform_dist(out.global(), gain, f), out.type, "xavier_uniform", "gain", gain);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void xavier_normal_(const tensor_ref& out, const rng& r, double gain, const fan_options& f) {
  check_global(out);
  const dist d = for_type(xavier_normal_dist(out.global(), gain, f), out.type, "xavier_normal", "gain", gain);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void kaiming_uniform_(const tensor_ref& out, const rng& r, double a, std::string_view mode,
                      std::string_view nonlinearity, const fan_options& f) {
  check_global(out);
  const dist d = for_type(kaiming_uniform_dist(out.global(), a, mode, nonlinearity, f), out.type, "kaiming_uniform", "a", a);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void kaiming_normal_(const tensor_ref& out, const rng& r, double a, std::string_view mode,
                     std::string_view nonlinearity, const fan_options& f) {
  check_global(out);
  const dist d = for_type(kaiming_normal_dist(out.global(), a, mode, nonlinearity, f), out.type, "kaiming_normal", "a", a);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void lecun_uniform_(const tensor_ref& out, const rng& r, const fan_options& f) {
  check_global(out);
  const dist d = for_type(lecun_uniform_dist(out.global(), f), out.type, "lecun_uniform", nullptr, 0.0);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void lecun_normal_(const tensor_ref& out, const rng& r, const fan_options& f) {
  check_global(out);
  const dist d = for_type(lecun_normal_dist(out.global(), f), out.type, "lecun_normal", nullptr, 0.0);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void variance_scaling_(const tensor_ref& out, const rng& r, double scale, std::string_view mode,
                       std::string_view distribution, const fan_options& f) {
  check_global(out);
  const dist d = for_type(variance_scaling_dist(out.global(), scale, mode, distribution, f), out.type, "variance_scaling",
                          "scale", scale);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void sparse_(const tensor_ref& out, const rng& r, double sparsity, double std) {
  check_global(out);
  const dist d = for_type(sparse_dist(out.global(), sparsity, std), out.type, "sparse", "std", std);
  run(out, d, r.seed.value, r.key.value, r.threads);
  apply_sparse_zero_pattern(out, sparsity, r.seed.value, r.key.value);
}

void constant_(const tensor_ref& out, double val) {
  real(val, "val");
  run(out, dist::constant(val), 0, 0, 1);  // the engine refuses a val that overflows out's dtype
}

void ones_(const tensor_ref& out) { run(out, dist::constant(1.0), 0, 0, 1); }

void zeros_(const tensor_ref& out) { run(out, dist::constant(0.0), 0, 0, 1); }

void eye_(const tensor_ref& out) {
  check_global(out);
  const auto& g = out.global();
  if (g.size() != 2) fail("Only tensors with 2 dimensions are supported (shape " + py_tuple(g) + ")");
  run(out, dist::constant(0.0), 0, 0, 1);  // validates the shard before anything is written
  if (local_count(out) == 0) return;
  const std::int64_t r0 = offset_of(out, 0), c0 = offset_of(out, 1);
  const std::int64_t lo = std::max(r0, c0), hi = std::min(r0 + out.shape[0], c0 + out.shape[1]);
  for (std::int64_t d = lo; d < hi; ++d) {
    const std::array<std::int64_t, 2> idx{d, d};
    set_one_if_inside(out, idx);
  }
}

void dirac_(const tensor_ref& out, std::int64_t groups) {
  check_global(out);
  const auto& g = out.global();
  if (g.size() < 3 || g.size() > 5)
    fail("Only tensors with 3, 4, or 5 dimensions are supported (shape " + py_tuple(g) + ")");
  positive_int(groups, "groups");
  if (g[0] % groups != 0) fail("dim 0 must be divisible by groups");
  run(out, dist::constant(0.0), 0, 0, 1);
  if (local_count(out) == 0) return;
  const std::int64_t per_group = g[0] / groups, min_dim = std::min(per_group, g[1]);
  std::vector<std::int64_t> idx(g.size());
  for (std::size_t k = 2; k < g.size(); ++k) idx[k] = g[k] / 2;
  for (std::int64_t gi = 0; gi < groups; ++gi)
    for (std::int64_t d = 0; d < min_dim; ++d) {
      idx[0] = gi * per_group + d;
      idx[1] = d;
      set_one_if_inside(out, idx);
    }
}

// --- the sparse zero pattern (stream-format.md §7) ---------------------------------------------

void apply_sparse_zero_pattern(const tensor_ref& out, double sparsity, std::uint64_t seed, std::uint64_t key) {
  check_global(out);
  const auto& g = out.global();
  if (g.size() != 2) fail("Only tensors with 2 dimensions are supported (shape " + py_tuple(g) + ")");
  real_min(sparsity, "sparsity", 0.0, true);
  if (!(sparsity < 1.0)) fail("sparsity must be in [0, 1), got " + py_repr(sparsity));
  const std::uint64_t rows = static_cast<std::uint64_t>(g[0]), cols = static_cast<std::uint64_t>(g[1]);
  if (rows > (std::uint64_t{1} << 32)) fail("sparse supports at most 2**32 rows, got shape " + py_tuple(g));
  const std::uint64_t r0 = static_cast<std::uint64_t>(offset_of(out, 0)), c0 = static_cast<std::uint64_t>(offset_of(out, 1));
  const std::uint64_t nr = static_cast<std::uint64_t>(out.shape[0]), nc = static_cast<std::uint64_t>(out.shape[1]);
  if (r0 + nr > rows || c0 + nc > cols) fail("shard lies outside the global shape " + py_tuple(g));
  const std::uint64_t k = static_cast<std::uint64_t>(std::ceil(sparsity * static_cast<double>(rows)));
  if (k == 0 || nr == 0 || nc == 0) return;
  if (out.data == nullptr) fail("out: null data pointer");
  constexpr std::uint32_t domain = 1;
  constexpr std::uint64_t budget = std::uint64_t{1} << 24;  // uint64 pairs held at once (128 MiB)
  constexpr std::uint64_t call_cost = 1024;
  // The k-th smallest pair of a column is the (rows - k + 1)-th largest: keep the smaller set.
  const std::uint64_t m = std::min(k, rows - k + 1);
  const bool keep_smallest = k <= rows - k + 1;
  const std::uint64_t block = std::max<std::uint64_t>(1, std::min<std::uint64_t>(nc, budget / (2 * m)));
  const std::int64_t s0 = stride_of(out, 0), s1 = stride_of(out, 1);
  const std::size_t item = itemsize(out.type);
  std::vector<std::uint32_t> words;
  // Words of rows [ra, rb) x columns [cb0, cb1) into `words`, row-major with row length w.
  auto read = [&](std::uint64_t ra, std::uint64_t rb, std::uint64_t cb0, std::uint64_t w) {
    const std::uint64_t n = rb - ra;
    words.resize(n * w);
    if (n * cols <= n * (w + call_cost)) {
      std::vector<std::uint32_t> flat((n - 1) * cols + w);
      stream_words(seed, key, domain, ra * cols + cb0, flat.size(), flat.data());
      for (std::uint64_t i = 0; i < n; ++i) std::memcpy(&words[i * w], &flat[i * cols], w * sizeof(std::uint32_t));
    } else {
      for (std::uint64_t i = 0; i < n; ++i) stream_words(seed, key, domain, (ra + i) * cols + cb0, w, &words[i * w]);
    }
  };
  std::vector<std::vector<std::uint64_t>> best;
  std::vector<std::uint64_t> threshold;
  for (std::uint64_t cb0 = c0; cb0 < c0 + nc; cb0 += block) {
    const std::uint64_t w = std::min(c0 + nc, cb0 + block) - cb0;
    const std::uint64_t chunk = std::max<std::uint64_t>(1, (budget - std::min(budget, m * w)) / w);
    best.assign(w, {});
    for (std::uint64_t ra = 0; ra < rows; ra += chunk) {
      const std::uint64_t rb = std::min(rows, ra + chunk);
      read(ra, rb, cb0, w);
      for (std::uint64_t c = 0; c < w; ++c) {
        auto& b = best[c];
        for (std::uint64_t r = ra; r < rb; ++r) b.push_back(std::uint64_t{words[(r - ra) * w + c]} << 32 | r);
        if (b.size() > m) {
          if (keep_smallest) {
            std::nth_element(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(m - 1), b.end());
            b.resize(m);
          } else {
            std::nth_element(b.begin(), b.end() - static_cast<std::ptrdiff_t>(m), b.end());
            b.erase(b.begin(), b.end() - static_cast<std::ptrdiff_t>(m));
          }
        }
      }
    }
    threshold.assign(w, 0);
    for (std::uint64_t c = 0; c < w; ++c) {
      threshold[c] = keep_smallest ? *std::max_element(best[c].begin(), best[c].end())
                                   : *std::min_element(best[c].begin(), best[c].end());
      std::vector<std::uint64_t>().swap(best[c]);
    }
    for (std::uint64_t ra = r0; ra < r0 + nr; ra += chunk) {
      const std::uint64_t rb = std::min(r0 + nr, ra + chunk);
      read(ra, rb, cb0, w);
      for (std::uint64_t r = ra; r < rb; ++r)
        for (std::uint64_t c = 0; c < w; ++c)
          if ((std::uint64_t{words[(r - ra) * w + c]} << 32 | r) <= threshold[c]) {
            unsigned char* p = static_cast<unsigned char*>(out.data) + static_cast<std::int64_t>(r - r0) * s0 +
                               static_cast<std::int64_t>(cb0 + c - c0) * s1;
            std::memset(p, 0, item);
          }
    }
  }
}

}  // namespace sow
