// Internal, shared by the CPU engine (fill.cpp) and the CUDA launchers (cuda/): validation of a
// fill call and the reduction of a strided shard to rows of consecutive global indices. Both
// backends call exactly these functions, so they accept and refuse exactly the same calls.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sow/detail/checked.hpp"
#include "sow/dist.hpp"
#include "sow/fill.hpp"
#include "sow/stream.hpp"
#include "value_range.hpp"

namespace sow::detail {

// A shard reduced to rows: `rows` runs of `inner` consecutive global indices each.
struct layout {
  std::vector<std::int64_t> outer_shape, outer_stride, outer_gstride;  // bytes / elements
  std::int64_t inner = 1, inner_stride = 0;                            // elements, bytes
  std::uint64_t g_base = 0;                                            // global index of element 0
  std::uint64_t rows = 1;
  std::uint64_t total() const { return rows * static_cast<std::uint64_t>(inner); }
};

/// Validates the shape/strides/shard of `t` (std::invalid_argument) and merges its dimensions.
inline layout make_layout(const fill_target& t) {
  const std::size_t nd = t.shape.size();
  const std::int64_t item = static_cast<std::int64_t>(itemsize(t.type));
  if (t.strides.size() != nd) invalid("strides must have one entry per dimension");
  const bool sharded = !t.global_shape.empty() || !t.offsets.empty();
  if (sharded && (t.global_shape.size() != nd || t.offsets.size() != nd))
    invalid("global_shape and offsets must have one entry per dimension of the shard");
  std::vector<std::int64_t> gshape(nd), off(nd, 0);
  std::uint64_t total = 1, local = 1;
  for (std::size_t k = 0; k < nd; ++k) {
    const std::int64_t n = t.shape[k];
    if (n < 0) invalid("shape[" + std::to_string(k) + "] must be non-negative, got " + std::to_string(n));
    gshape[k] = sharded ? t.global_shape[k] : n;
    off[k] = sharded ? t.offsets[k] : 0;
    if (gshape[k] < 0) invalid("global_shape[" + std::to_string(k) + "] must be non-negative");
    if (off[k] < 0 || n > gshape[k] || off[k] > gshape[k] - n)
      invalid("shard: dimension " + std::to_string(k) + " [" + std::to_string(off[k]) + ", " +
              std::to_string(off[k] + n) + ") lies outside the global size " + std::to_string(gshape[k]));
    if (t.strides[k] % item != 0) invalid("strides must be multiples of the item size");
    total = checked_mul(total, static_cast<std::uint64_t>(gshape[k]), "global shape");
    local = checked_mul(local, static_cast<std::uint64_t>(n), "shape");
  }
  if (total > max_elements) invalid("global shape has more than 2^56 elements");
  layout L;
  L.rows = 0;
  if (local == 0) return L;
  // Row-major global strides (elements), then the base index of the shard's first element.
  std::vector<std::int64_t> gstride(nd, 1);
  for (std::size_t k = nd; k-- > 1;) gstride[k - 1] = gstride[k] * gshape[k];
  for (std::size_t k = 0; k < nd; ++k) L.g_base += static_cast<std::uint64_t>(off[k] * gstride[k]);
  // Merge dimensions from the right while both the memory and the global indices stay contiguous;
  // size-1 dimensions are dropped.
  std::vector<std::int64_t> sh, st, gs;
  for (std::size_t k = 0; k < nd; ++k)
    if (t.shape[k] != 1) {
      sh.push_back(t.shape[k]);
      st.push_back(t.strides[k]);
      gs.push_back(gstride[k]);
    }
  // The innermost run must step by one global index: when the innermost kept dimension does not
  // (size-1 trailing dimensions of a larger global shape were dropped), it stays an outer one.
  if (sh.empty() || gs.back() != 1) {
    sh.push_back(1);
    st.push_back(item);
    gs.push_back(1);
  }
  while (sh.size() > 1) {
    const std::size_t a = sh.size() - 2, b = sh.size() - 1;
    if (gs[a] != gs[b] * sh[b] || st[a] != st[b] * sh[b]) break;
    sh[b] *= sh[a];
    sh.erase(sh.begin() + a);
    st.erase(st.begin() + a);
    gs.erase(gs.begin() + a);
  }
  L.inner = sh.back();
  L.inner_stride = st.back();
  sh.pop_back();
  st.pop_back();
  gs.pop_back();
  L.outer_shape = sh;
  L.outer_stride = st;
  L.outer_gstride = gs;
  L.rows = local / static_cast<std::uint64_t>(L.inner);
  return L;
}

/// Validates the distribution for `type` and the domain, and computes the per-call constants.
/// `origin` names the initializer's parameter in the range errors (value_range.hpp).
inline prepared_dist prepare_for(const dist& d, dtype type, std::uint32_t domain, const dist_origin& origin = {}) {
  if (domain > 255) invalid("domain must be in [0, 255]");
  const prepared_dist p = prepare(d);
  check_value_range(d, p, type, origin);
  return p;
}

}  // namespace sow::detail
