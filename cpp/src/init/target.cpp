// Where an initializer writes: tensor_ref -> fill_target, and its checks (target.hpp).
#include "target.hpp"

#include <algorithm>
#include <span>
#include <string>

#include "sow/detail/layout.hpp"
#include "value_checks.hpp"

namespace sow {

namespace init_impl {

namespace {

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

}  // namespace

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

std::vector<std::int64_t> check_target(const tensor_ref& t) {
  check_global(t);
  std::vector<std::int64_t> strides, offsets;
  fill_target f = target_of(t, strides);
  if (!t.global_shape.empty() && t.offsets.empty()) {
    offsets.assign(t.shape.size(), 0);
    f.offsets = offsets;
  }
  const detail::layout L = detail::make_layout(f);
  if (L.total() != 0 && t.data == nullptr) fail("out: null data pointer");
  return std::vector<std::int64_t>(f.strides.begin(), f.strides.end());
}

}  // namespace init_impl

void tensor_ref::check_span_size(std::size_t n) const {
  detail::check_sizes(shape, "shape");  // then the count is exact in 64 bits
  std::uint64_t need = 1;
  for (const auto s : shape) need *= static_cast<std::uint64_t>(s);
  if (need != n)
    init_impl::fail("data has " + std::to_string(n) + " elements but shape " + detail::py_tuple(shape) + " needs " +
                    std::to_string(need));
}

}  // namespace sow
