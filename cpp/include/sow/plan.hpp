// A plan: many tensors initialized by one call (docs/plan.md).
//
//   sow::plan p(/*seed=*/0);
//   p.add({.name = "layers.0.attn.wq", .target = sow::plan_target::host(wq, sow::dtype::bfloat16, {4096, 4096}),
//          .spec = sow::init_spec("normal").set("std", 0.02), .key = "layers.0.attn.wq"});
//   p.add({.name = "layers.0.norm", .target = sow::plan_target::host(g, sow::dtype::float32, {4096}),
//          .spec = sow::init_spec("ones")});
//   sow::validate(p);   // every check of every item; nothing written. Throws naming the item.
//   sow::execute(p);    // one parallel pass over every elementwise item, then the others
//
// Every item gets exactly the values of the corresponding single call (sow/init.hpp), so a plan is
// only a faster way to make many calls; values never depend on the plan's order, its other items,
// the thread count or how items are split.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sow/fill.hpp"
#include "sow/init.hpp"

namespace sow {

/// A parameter value: a real, an integer or a string ("fan_in", "jax", ...).
using param_value = std::variant<double, std::int64_t, std::string>;

/// An initializer by name (any of sow's: init_names()) and its parameters by torch's names, e.g.
/// init_spec("kaiming_uniform").set("a", 2.236).set("mode", "fan_out"). A parameter not set takes
/// the initializer's default (the same as sow/init.hpp and Python's).
struct init_spec {
  std::string name;
  std::vector<std::pair<std::string, param_value>> params;

  init_spec() = default;
  explicit init_spec(std::string name_) : name(std::move(name_)) {}
  init_spec& set(std::string_view param, double v) & { return put(param, v); }
  init_spec& set(std::string_view param, int v) & { return put(param, std::int64_t{v}); }
  init_spec& set(std::string_view param, std::int64_t v) & { return put(param, v); }
  init_spec& set(std::string_view param, std::string_view v) & { return put(param, std::string(v)); }
  init_spec& set(std::string_view param, const char* v) & { return put(param, std::string(v)); }
  template <class T>
  init_spec&& set(std::string_view param, T&& v) && {
    return std::move(set(param, std::forward<T>(v)));
  }

 private:
  init_spec& put(std::string_view param, param_value v);
};

/// The initializers a spec may name, and each one's parameters in order with their defaults
/// (nullopt: required, e.g. sparse's sparsity, constant's val).
enum class param_kind : int { real = 0, integer = 1, string = 2 };
struct init_param_info {
  const char* name;
  param_kind kind;
  std::optional<param_value> default_value;  // nullopt and !required: "not given" (fan_in, fan_out)
  bool required = false;
};
struct init_info {
  const char* name;
  bool random;       // takes seed/key
  bool elementwise;  // every value from its own global index (shardable, batched in one pass)
  bool shardable;
  std::vector<init_param_info> params;
};
const std::vector<init_info>& init_names();

/// Where an item's values go.
///   host    caller-owned host memory: data, dtype, the local sizes, byte strides (empty =
///           C-contiguous), as sow::tensor_ref
///   buffer  no memory now: the item's bytes are C-contiguous at byte `offset` of an output
///           (e.g. a file); write_range() produces any byte range of it
///   none    no memory ever (a torch meta tensor): checked as a host item would be, never written
///   device  CUDA memory of CUDA device `device`, written on `stream` (a cudaStream_t as void*;
///           nullptr = the legacy default stream), asynchronously; needs sow built with CUDA
///           (sow::cuda linked), else validate() refuses the item
struct plan_target {
  enum class kind : int { host = 0, buffer = 1, none = 2, device = 3 };
  kind where = kind::host;
  void* data = nullptr;
  dtype type = dtype::float32;
  std::vector<std::int64_t> shape;    // the item's local sizes
  std::vector<std::int64_t> strides;  // bytes; empty = C-contiguous (host and device)
  std::uint64_t offset = 0;           // buffer only
  int device = -1;                    // device only: the CUDA ordinal
  void* stream = nullptr;             // device only

  static plan_target host(void* data, dtype type, std::vector<std::int64_t> shape,
                          std::vector<std::int64_t> strides_bytes = {}) {
    return {kind::host, data, type, std::move(shape), std::move(strides_bytes), 0};
  }
  static plan_target buffer(std::uint64_t offset, dtype type, std::vector<std::int64_t> shape) {
    return {kind::buffer, nullptr, type, std::move(shape), {}, offset};
  }
  static plan_target none(dtype type, std::vector<std::int64_t> shape, std::vector<std::int64_t> strides_bytes = {}) {
    return {kind::none, nullptr, type, std::move(shape), std::move(strides_bytes), 0};
  }
  static plan_target cuda(void* data, dtype type, std::vector<std::int64_t> shape, std::vector<std::int64_t> strides_bytes,
                          int device, void* stream) {
    return {kind::device, data, type, std::move(shape), std::move(strides_bytes), 0, device, stream};
  }
};

/// Where an item sits in its global tensor: the box at `offsets` (empty = zeros) of
/// `global_shape` (empty = the target's shape); or, for dimension d with a non-empty
/// `index[d]`, the global indices index[d][j] of local position j (non-contiguous shards such as
/// torch's _StridedShard). Fans always come from the global shape.
struct placement {
  std::vector<std::int64_t> global_shape;
  std::vector<std::int64_t> offsets;
  std::vector<std::vector<std::int64_t>> index;
};

/// One tensor of a plan. `name` is used in every message about the item ("items[3]" when empty).
struct plan_item {
  std::string name;
  plan_target target;
  placement where;
  init_spec spec;
  stream_key key;
};

/// Many items with one seed. Items are kept in the order added.
class plan {
 public:
  explicit plan(std::uint64_t seed) : seed_(seed) {}
  std::size_t add(plan_item item);
  std::uint64_t seed() const noexcept { return seed_; }
  const std::vector<plan_item>& items() const noexcept { return items_; }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::uint64_t seed_;
  std::vector<plan_item> items_;
};

/// What validate() found an item to be: its resolved initializer (e.g. "normal(mean=0, std=0.02)"
/// or "uniform(a=-0.0625, b=0.0625)" for kaiming_uniform), and its bytes.
struct item_report {
  std::string spec;
  std::uint64_t bytes = 0;
};

/// Every check of every item: the spec (names, types, values), the target (as make_layout checks
/// outputs), the placement, the engine's value rules for the dtype, the initializer's own rules
/// (eye's rank, dirac's groups, sparse's sparsity, orthogonal's blocks, ...), and that no two host
/// or device items overlap in memory. Throws std::invalid_argument "items[i] (name): ..." for the first bad
/// item; writes nothing.
std::vector<item_report> validate(const plan& p);

/// Validates, then writes every host item: the elementwise ones in one parallel pass split by bytes
/// across the library's thread pool (no per-item thread start), then eye/dirac ones, sparse zeros,
/// orthogonal and delta_orthogonal. Device items are enqueued on their own streams: the elementwise
/// ones of each (device, stream) in ONE kernel launch (sow::fill_cuda_batch), the others after them
/// on the same stream (eye/dirac as a zero fill plus one scatter of the ones, sparse_cuda,
/// orthogonal_cuda); execute() returns once they are enqueued. Nothing is written unless the whole
/// plan is valid. `threads` as sow::fill (0 = every hardware thread); it never changes a value.
void execute(const plan& p, int threads = 0);

/// One item on its own, as every single-tensor function of sow's Python layer runs: the checks of
/// validate() with the messages unprefixed (no "items[0]"), then, when `write`, its writes as
/// execute() makes them (a none item is only checked). Returns the item's report.
item_report run_item(plan_item item, std::uint64_t seed, int threads = 0, bool write = true);

/// Writes bytes [begin, end) of buffer item `item` (its C-contiguous bytes, little-endian) into
/// `out` (end - begin bytes). Elementwise and eye/dirac items only (any byte range; bytes need not
/// be item-aligned). Validates the plan's item first.
void write_range(const plan& p, std::size_t item, std::uint64_t begin, std::uint64_t end, void* out,
                 int threads = 0);

}  // namespace sow
