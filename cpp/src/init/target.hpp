// Internal to the initializers (cpp/src/init/): where a call writes. A sow::tensor_ref (empty
// strides = C-contiguous, global_shape without offsets = offsets 0) becomes the engine's
// fill_target and is checked by the engine's own rules (layout.hpp) before anything is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sow/dist.hpp"
#include "sow/fill.hpp"
#include "sow/init.hpp"

namespace sow::init_impl {

/// Fills `t` with `d`; the shard (global_shape without offsets means offsets 0) is checked by fill.
void run(const tensor_ref& t, const dist& d, std::uint64_t seed, std::uint64_t key, int threads);

/// The global shape's checks: as many dimensions as `t.shape`, and check_shape's rules (naming
/// "global_shape", or "shape" when not sharded).
void check_global(const tensor_ref& t);

/// The engine's checks of where `t` writes (shard bounds, strides, sizes, data pointer), without
/// writing: the initializers that write more than one fill (eye, dirac, sparse) run them first.
/// Returns the byte strides.
std::vector<std::int64_t> check_target(const tensor_ref& t);

/// The global offset of `t` along dimension k (0 when not sharded).
inline std::int64_t offset_of(const tensor_ref& t, std::size_t k) { return t.offsets.empty() ? 0 : t.offsets[k]; }

/// The byte stride of `t` along dimension k (C-contiguous when `t.strides` is empty).
inline std::int64_t stride_of(const tensor_ref& t, std::size_t k) {
  if (!t.strides.empty()) return t.strides[k];
  std::int64_t s = static_cast<std::int64_t>(itemsize(t.type));
  for (std::size_t j = k + 1; j < t.shape.size(); ++j) s *= t.shape[j];
  return s;
}

}  // namespace sow::init_impl
