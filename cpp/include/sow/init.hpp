// sow's initializers for C++: the same names, parameters, formulas and error messages as the
// Python package (python/sow/init.py), filling caller-owned memory on the CPU.
//
//   #include <sow/init.hpp>
//   std::vector<float> w(1024 * 512);
//   sow::xavier_uniform_({w, {1024, 512}}, {.seed = 0, .key = "layers.0.attn.w"});
//   // == sow.xavier_uniform((1024, 512), seed=0, key="layers.0.attn.w") in Python, bit for bit
//
// Every value is a pure function of (seed, key, initializer and parameters, dtype, global shape,
// global element index) (docs/stream-format.md): thread count, strides and sharding never change a
// bit. Every argument is validated before anything is written; bad values throw
// std::invalid_argument with the message Python's ValueError carries for the same input.
//
// Each initializer is also available as a *distribution builder* (`xavier_uniform_dist`, ...):
// the validated sow::dist it reduces to for a global shape. The Python package, the CPU functions
// below and other backends all derive their parameters from these, so the formulas exist once.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sow/dist.hpp"
#include "sow/fill.hpp"
#include "sow/key.hpp"

namespace sow {

// ---------------------------------------------------------------------------------------------
// Where a call writes

/// A view of caller-owned memory: one shard (or the whole) of a global tensor.
///
///   data, type    element (0, ..., 0) and its dtype (float32, float64, float16, bfloat16)
///   shape         the sizes of the memory being filled
///   strides       in *bytes*, one per dimension, any sign; empty = C-contiguous
///   global_shape, offsets
///                 where the memory sits in the global tensor; empty = the memory is the whole
///                 tensor. Fans always come from the global shape.
///
/// Example (rank 1 of 4 filling its rows of a (4096, 1024) weight):
///   std::vector<float> part(1024 * 1024);
///   sow::tensor_ref t(part, {1024, 1024});
///   t.global_shape = {4096, 1024};
///   t.offsets = {1024, 0};
struct tensor_ref {
  void* data = nullptr;
  dtype type = dtype::float32;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;       // bytes; empty = C-contiguous
  std::vector<std::int64_t> global_shape;  // empty = shape
  std::vector<std::int64_t> offsets;       // empty = zeros

  tensor_ref() = default;
  /// Raw memory of any supported dtype.
  tensor_ref(void* data_, dtype type_, std::vector<std::int64_t> shape_,
             std::vector<std::int64_t> strides_bytes = {})
      : data(data_), type(type_), shape(std::move(shape_)), strides(std::move(strides_bytes)) {}
  /// Contiguous float32 / float64 memory; throws std::invalid_argument if the span's size is not
  /// the product of `shape`.
  tensor_ref(std::span<float> d, std::vector<std::int64_t> shape_)
      : data(d.data()), type(dtype::float32), shape(std::move(shape_)) { check_span_size(d.size()); }
  tensor_ref(std::span<double> d, std::vector<std::int64_t> shape_)
      : data(d.data()), type(dtype::float64), shape(std::move(shape_)) { check_span_size(d.size()); }

  /// Marks this memory as the block at `offsets` of a tensor of shape `global_shape`.
  tensor_ref& shard(std::vector<std::int64_t> global_shape_, std::vector<std::int64_t> offsets_) & {
    global_shape = std::move(global_shape_);
    offsets = std::move(offsets_);
    return *this;
  }
  tensor_ref&& shard(std::vector<std::int64_t> global_shape_, std::vector<std::int64_t> offsets_) && {
    return std::move(shard(std::move(global_shape_), std::move(offsets_)));
  }

  /// The shape fans and global indices come from: global_shape, or shape when not sharded.
  const std::vector<std::int64_t>& global() const noexcept { return global_shape.empty() ? shape : global_shape; }

 private:
  void check_span_size(std::size_t n) const;
};

// ---------------------------------------------------------------------------------------------
// Which stream

/// A stream key: an integer used as given, or a string hashed with FNV-1a 64 (sow::key_hash),
/// exactly as Python's `key=` argument. `sow::stream_key k = "layers.0.w";`
struct stream_key {
  std::uint64_t value = 0;

  constexpr stream_key() noexcept = default;
  /// Integers in [0, 2^64); a negative value throws std::invalid_argument.
  template <std::integral I>
  constexpr stream_key(I v) : value(static_cast<std::uint64_t>(v)) {  // NOLINT(implicit)
    if constexpr (std::is_signed_v<I>)
      if (v < 0) throw std::invalid_argument("key must be a str or an int in [0, 2**64), got " + std::to_string(v));
  }
  constexpr stream_key(std::string_view utf8) noexcept : value(key_hash(utf8)) {}  // NOLINT
  constexpr stream_key(const char* utf8) noexcept : value(key_hash(utf8)) {}       // NOLINT
  stream_key(const std::string& utf8) noexcept : value(key_hash(utf8)) {}          // NOLINT
};

/// A seed in [0, 2^64). It has no default, as in Python: `sow::rng{.key = "w"}` does not compile.
struct seed_value {
  std::uint64_t value;
  template <std::integral I>
  constexpr seed_value(I v) : value(static_cast<std::uint64_t>(v)) {  // NOLINT(implicit)
    if constexpr (std::is_signed_v<I>)
      if (v < 0) throw std::invalid_argument("seed must be in [0, 2**64), got " + std::to_string(v));
  }
};

/// The random stream of a call (Python's `seed=`, `key=`, `threads=`).
///   seed     required
///   key      default 0; an integer or a string such as "layers.3.mlp.w1"
///   threads  0 = every hardware thread (Python's None); never changes the values
/// Example: `sow::rng{.seed = 0, .key = "layers.0.attn.w", .threads = 4}`
struct rng {
  seed_value seed;
  stream_key key = {};
  int threads = 0;
};

/// Fan options of the scaled initializers (Python's `fan_in=`, `fan_out=`, `layout=`).
///   fan_in, fan_out  positive overrides of the fans computed from the global shape
///   layout           "torch": weight (out, in, *kernel); "jax": kernel (*kernel, in, out)
struct fan_options {
  std::optional<std::int64_t> fan_in = std::nullopt;
  std::optional<std::int64_t> fan_out = std::nullopt;
  std::string_view layout = "torch";
};

/// std of N(0, 1) truncated to [-2, 2] (JAX/Keras/TF's variance correction).
inline constexpr double truncated_normal_std = 0.87962566103423978;

// ---------------------------------------------------------------------------------------------
// Fans and gains

/// (fan_in, fan_out) of a weight of the given shape.
///
///   layout "torch" (weight (out, in, *k)):  fan_in = shape[1]·prod(shape[2:]),
///                                           fan_out = shape[0]·prod(shape[2:])
///   layout "jax" (kernel (*k, in, out)):    fan_in = shape[-2]·prod(shape[:-2]),
///                                           fan_out = shape[-1]·prod(shape[:-2])
///
/// Throws std::invalid_argument("Fan in and fan out can not be computed for tensor with fewer than
/// 2 dimensions") for rank < 2, and for an unknown layout.
/// Example: `calculate_fan_in_and_fan_out({64, 3, 7, 7})` == {147, 3136}.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(std::span<const std::int64_t> shape,
                                                                   std::string_view layout = "torch");
inline std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(std::initializer_list<std::int64_t> shape,
                                                                          std::string_view layout = "torch") {
  return calculate_fan_in_and_fan_out(std::span<const std::int64_t>(shape.begin(), shape.size()), layout);
}

/// Recommended gain for a nonlinearity (torch's calculate_gain table):
///   linear, conv{1,2,3}d, conv_transpose{1,2,3}d, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
///   leaky_relu: sqrt(2 / (1 + negative_slope^2)) (param = negative_slope, default 0.01);  selu: 3/4.
/// `param` is ignored except for leaky_relu. Throws std::invalid_argument("Unsupported nonlinearity
/// X") or ("negative_slope nan not a valid number").
/// Example: `calculate_gain("leaky_relu", 0.2)` == sqrt(2 / 1.04).
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);

// ---------------------------------------------------------------------------------------------
// Distribution builders: initializer + global shape -> validated sow::dist (one source of truth)

/// U(a, b); requires a < b, both finite.
dist uniform_dist(double a = 0.0, double b = 1.0);
/// N(mean, std²), std >= 0 (std == 0 is the constant mean).
dist normal_dist(double mean = 0.0, double std = 1.0);
/// N(mean, std²) truncated to the absolute bounds [a, b]; std > 0, a < b.
dist trunc_normal_dist(double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);
/// U(-B, B), std = gain·sqrt(2/(fan_in+fan_out)), B = sqrt(3)·std; gain >= 0.
dist xavier_uniform_dist(std::span<const std::int64_t> global_shape, double gain = 1.0, const fan_options& fans = {});
/// N(0, std²), std = gain·sqrt(2/(fan_in+fan_out)); gain >= 0.
dist xavier_normal_dist(std::span<const std::int64_t> global_shape, double gain = 1.0, const fan_options& fans = {});
/// U(-B, B), std = calculate_gain(nonlinearity, a)/sqrt(fan), B = sqrt(3)·std; fan per `mode`
/// ("fan_in" | "fan_out", case-insensitive).
dist kaiming_uniform_dist(std::span<const std::int64_t> global_shape, double a = 0.0, std::string_view mode = "fan_in",
                          std::string_view nonlinearity = "leaky_relu", const fan_options& fans = {});
/// N(0, std²), std = calculate_gain(nonlinearity, a)/sqrt(fan).
dist kaiming_normal_dist(std::span<const std::int64_t> global_shape, double a = 0.0, std::string_view mode = "fan_in",
                         std::string_view nonlinearity = "leaky_relu", const fan_options& fans = {});
/// Variance scaling: n = fan_in | fan_out | (fan_in+fan_out)/2 per `mode`, variance = scale/n
/// (scale > 0); distribution "truncated_normal": N(0, σ²) cut at ±2σ, σ = sqrt(variance)/0.8796…;
/// "normal" / "untruncated_normal": N(0, variance); "uniform": U(-L, L), L = sqrt(3·variance).
dist variance_scaling_dist(std::span<const std::int64_t> global_shape, double scale = 1.0,
                           std::string_view mode = "fan_in", std::string_view distribution = "truncated_normal",
                           const fan_options& fans = {});
/// variance_scaling(1, "fan_in", "uniform").
dist lecun_uniform_dist(std::span<const std::int64_t> global_shape, const fan_options& fans = {});
/// variance_scaling(1, "fan_in", "truncated_normal").
dist lecun_normal_dist(std::span<const std::int64_t> global_shape, const fan_options& fans = {});
/// The values of sparse: N(0, std²); checks rank 2, sparsity in [0, 1), rows <= 2^32, std >= 0.
dist sparse_dist(std::span<const std::int64_t> global_shape, double sparsity, double std = 0.01);

// ---------------------------------------------------------------------------------------------
// Initializers (in place, like torch.nn.init.*_ and sow's Python *_ functions)

/// U(a, b): v = (a+b)/2 + (b-a)/2·s, s uniform in (-1, 1). Defaults a = 0, b = 1.
/// Example: `sow::uniform_({w, {256}}, {.seed = 1, .key = "b"}, -0.1, 0.1);`
void uniform_(const tensor_ref& out, const rng& r, double a = 0.0, double b = 1.0);

/// N(mean, std²) by inverse CDF: v = mean + std·Φ⁻¹(p). Defaults mean = 0, std = 1 (>= 0).
/// Example: `sow::normal_({w, {256, 256}}, {.seed = 1, .key = "emb"}, 0.0, 0.02);`
void normal_(const tensor_ref& out, const rng& r, double mean = 0.0, double std = 1.0);

/// N(mean, std²) truncated to [a, b] (absolute bounds, as torch's trunc_normal_), by the exact
/// inverse CDF. Defaults mean = 0, std = 1 (> 0), a = -2, b = 2.
/// Example: `sow::trunc_normal_({w, {768}}, {.seed = 0, .key = "pos"}, 0.0, 0.02, -0.04, 0.04);`
void trunc_normal_(const tensor_ref& out, const rng& r, double mean = 0.0, double std = 1.0, double a = -2.0,
                   double b = 2.0);

/// Every element `val` rounded to the dtype (via float32 for the 16-bit formats); throws if it
/// overflows the dtype. Example: `sow::constant_({b, {256}}, 0.1);`
void constant_(const tensor_ref& out, double val);
/// Every element 1. Example: `sow::ones_({gamma, {768}});`
void ones_(const tensor_ref& out);
/// Every element 0. Example: `sow::zeros_({bias, {768}});`
void zeros_(const tensor_ref& out);
/// Identity: 1 where row == column (global indices), else 0; 2-D only, rectangular allowed.
/// Example: `sow::eye_({w, {64, 64}});`
void eye_(const tensor_ref& out);
/// Dirac delta for 3-, 4- or 5-D convolution weights: zeros, then for each group g and
/// d < min(shape[0]/groups, shape[1]): w[g·(shape[0]/groups) + d, d, k//2, ...] = 1.
/// Example: `sow::dirac_({w, {16, 16, 3, 3}});`
void dirac_(const tensor_ref& out, std::int64_t groups = 1);

/// The checks eye_, dirac_ and sparse_ make before their first write, writing nothing
/// (std::invalid_argument as they throw it): what a plan validates (sow/plan.hpp).
void check_eye(const tensor_ref& out);
void check_dirac(const tensor_ref& out, std::int64_t groups = 1);
void check_sparse(const tensor_ref& out, double sparsity, double std = 0.01);

/// Xavier/Glorot uniform (torch xavier_uniform_): U(-B, B), std = gain·sqrt(2/(fan_in+fan_out)),
/// B = sqrt(3)·std. Default gain = 1 (>= 0).
/// Example: `sow::xavier_uniform_({w, {1024, 512}}, {.seed = 0, .key = "layers.0.attn.w"});`
void xavier_uniform_(const tensor_ref& out, const rng& r, double gain = 1.0, const fan_options& fans = {});

/// Xavier/Glorot normal (torch xavier_normal_, untruncated): N(0, std²),
/// std = gain·sqrt(2/(fan_in+fan_out)).
/// Example: `sow::xavier_normal_({w, {512, 512}}, {.seed = 0, .key = "proj"}, 1.0);`
void xavier_normal_(const tensor_ref& out, const rng& r, double gain = 1.0, const fan_options& fans = {});

/// Kaiming/He uniform (torch kaiming_uniform_): U(-B, B), gain = calculate_gain(nonlinearity, a),
/// std = gain/sqrt(fan), B = sqrt(3)·std; fan = fan_in or fan_out per mode. Defaults a = 0,
/// mode = "fan_in", nonlinearity = "leaky_relu" (gain sqrt(2)).
/// Example: `sow::kaiming_uniform_({w, {64, 3, 7, 7}}, {.seed = 0, .key = "conv1"}, 0.0, "fan_out", "relu");`
void kaiming_uniform_(const tensor_ref& out, const rng& r, double a = 0.0, std::string_view mode = "fan_in",
                      std::string_view nonlinearity = "leaky_relu", const fan_options& fans = {});

/// Kaiming/He normal (torch kaiming_normal_, untruncated): N(0, std²),
/// std = calculate_gain(nonlinearity, a)/sqrt(fan).
/// Example: `sow::kaiming_normal_({w, {3072, 768}}, {.seed = 0, .key = "mlp.w1"}, 0.0, "fan_in", "relu");`
void kaiming_normal_(const tensor_ref& out, const rng& r, double a = 0.0, std::string_view mode = "fan_in",
                     std::string_view nonlinearity = "leaky_relu", const fan_options& fans = {});

/// LeCun uniform (JAX/Keras): U(-L, L), L = sqrt(3/fan_in).
/// Example: `sow::lecun_uniform_({w, {3, 3, 64, 128}}, {.seed = 0, .key = "conv"}, {.layout = "jax"});`
void lecun_uniform_(const tensor_ref& out, const rng& r, const fan_options& fans = {});

/// LeCun normal (JAX/Keras/Flax default): N(0, σ²) cut at ±2σ, σ = sqrt(1/fan_in)/0.87962566103423978.
/// Example: `sow::lecun_normal_({w, {512, 512}}, {.seed = 0, .key = "dense"});`
void lecun_normal_(const tensor_ref& out, const rng& r, const fan_options& fans = {});

/// Variance scaling (JAX variance_scaling / Keras VarianceScaling), see variance_scaling_dist.
/// Defaults scale = 1 (> 0), mode = "fan_in" ("fan_in" | "fan_out" | "fan_avg"),
/// distribution = "truncated_normal" ("truncated_normal" | "normal" | "untruncated_normal" | "uniform").
/// Example: `sow::variance_scaling_({w, {512, 512}}, {.seed = 0, .key = "w"}, 2.0, "fan_in", "normal");`
void variance_scaling_(const tensor_ref& out, const rng& r, double scale = 1.0, std::string_view mode = "fan_in",
                       std::string_view distribution = "truncated_normal", const fan_options& fans = {});

/// Sparse 2-D matrix (torch sparse_): N(0, std²) values with exactly ceil(sparsity·rows) zeros in
/// every column, sparsity in [0, 1). The zero pattern comes from domain 1 of the same (seed, key)
/// (stream-format.md §7), so it is reproducible and shard-independent. A shard of nr x nc elements
/// costs rows·nc words for its columns' thresholds (see sparse_thresholds) plus nr·nc for the
/// pattern; the thresholds and every buffer are allocated before the first value is written.
/// Example: `sow::sparse_({w, {128, 64}}, {.seed = 0, .key = "sp"}, 0.9);`
void sparse_(const tensor_ref& out, const rng& r, double sparsity, double std = 0.01);

/// Zeroes the elements of `out` (a block of a 2-D global tensor) that the sparse zero pattern of
/// (seed, key, global shape, sparsity) marks (stream-format.md §7). sparse_ = normal_ + this.
void apply_sparse_zero_pattern(const tensor_ref& out, double sparsity, std::uint64_t seed, std::uint64_t key);

/// The thresholds of sparse's zero pattern (stream-format.md §7) for the columns [c0, c0 + nc) of
/// a (rows, cols) = global_shape matrix: t[c - c0] is the k-th smallest pair `word << 32 | row` of
/// column c (k = ceil(sparsity·rows), word = word row·cols + c of stream domain 1), so element
/// (r, c) is zero iff its pair is <= t[c - c0]. Empty when k = 0 (no zeros).
/// Cost: one streaming pass over the rows x nc words of the columns (at most four, with
/// probability < 1e-13 per column); memory O(nc) plus the pairs of a window around each column's
/// threshold, ~16·sqrt(k·(rows-k)/rows) + 200 pairs (8 bytes each), for at most 256 columns and
/// 32 MiB at a time, whatever the shard's rows.
std::vector<std::uint64_t> sparse_thresholds(std::span<const std::int64_t> global_shape, std::int64_t c0,
                                             std::int64_t nc, double sparsity, std::uint64_t seed, std::uint64_t key);

namespace detail {
/// Test hooks of the threshold selection (the defaults are what sparse_thresholds uses): the
/// window's half-width in standard deviations (0 makes it miss, exercising the exact passes) and
/// the pairs kept per column (-1 = derived from the window; 0 forces every exact pass, down to
/// the row cut between rows sharing the threshold word). The thresholds never depend on them.
struct sparse_selection {
  double sigmas = 8.0;
  std::int64_t cap = -1;
};
std::vector<std::uint64_t> sparse_thresholds(std::span<const std::int64_t> global_shape, std::int64_t c0,
                                             std::int64_t nc, double sparsity, std::uint64_t seed, std::uint64_t key,
                                             const sparse_selection& selection);
}  // namespace detail

}  // namespace sow
