// Validation of a fill call and the reduction of a strided shard to rows of consecutive global
// indices, shared by the CPU engine (cpp/src/fill.cpp) and the CUDA launchers (cuda/): both
// backends call exactly these functions, so they accept and refuse exactly the same calls. Under
// sow/detail/ (installed, no API promise) so that sow::cuda needs no CPU-engine private header.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "sow/detail/checked.hpp"
#include "sow/dist.hpp"
#include "sow/fill.hpp"
#include "sow/stream.hpp"
#include "sow/detail/value_range.hpp"

namespace sow::detail {

// A shard reduced to rows: `rows` runs of `inner` consecutive global indices each.
struct layout {
  std::vector<std::int64_t> outer_shape, outer_stride, outer_gstride;  // bytes / elements
  std::int64_t inner = 1, inner_stride = 0;                            // elements, bytes
  std::uint64_t g_base = 0;                                            // global index of element 0
  std::uint64_t rows = 1;
  std::uint64_t total() const { return rows * static_cast<std::uint64_t>(inner); }
};

// Python's repr() of a tuple of ints: "(2, 3)", "(5,)", "()".
inline std::string py_tuple(std::span<const std::int64_t> v) {
  std::string out = "(";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + (v.size() == 1 ? ",)" : ")");
}

/// python/sow/_validate.py check_shape's value rules, with its messages: no negative size, no
/// size above 2^56 (even when another size is 0), at most 2^56 elements.
inline void check_sizes(std::span<const std::int64_t> dims, const char* name) {
  for (const auto d : dims)
    if (d < 0) invalid(std::string(name) + " must not contain negative sizes, got " + py_tuple(dims));
  for (const auto d : dims)
    if (static_cast<std::uint64_t>(d) > max_elements)
      invalid(std::string(name) + " " + py_tuple(dims) + " is too large: a size exceeds 2**56");
  for (const auto d : dims)
    if (d == 0) return;  // 0 elements, whatever the other sizes
  // Every size is <= 2^56: the product stays exact in 128 bits until it passes 2^56 (then stop).
  unsigned __int128 prod = 1;
  for (const auto d : dims) {
    prod *= static_cast<std::uint64_t>(d);
    if (prod > max_elements) break;
  }
  if (prod <= max_elements) return;
  // Python prints the exact count; it fits in 128 bits unless there are many large sizes.
  unsigned __int128 p = 1;
  bool exact = true;
  for (const auto d : dims) {
    if (p > ~static_cast<unsigned __int128>(0) / static_cast<std::uint64_t>(d)) exact = false;
    p *= static_cast<std::uint64_t>(d);
  }
  std::string count;
  if (!exact) count = "more than 2**128";
  for (; exact && p > 0; p /= 10) count.insert(count.begin(), static_cast<char>('0' + static_cast<int>(p % 10)));
  invalid(std::string(name) + " " + py_tuple(dims) + " has " + count + " elements; sow supports at most 2**56");
}

/// The checks on the memory of an output, shared by every backend and by Python's check_out
/// (sow._core.check_layout): strides multiples of `item`; and, for a non-empty output, `data`
/// non-null and aligned to `item`, every byte offset reachable from `data` (and the address it
/// gives) free of int64 / address-space wrap-around, and no two elements overlapping.
///
/// Overlap rule: the dimensions of size > 1 sorted by |stride|, each |stride| must be at least the
/// byte extent of the faster ones (item + sum over them of (n - 1) * |stride|). It is exact for
/// every layout a slice, transpose, reshape or broadcast produces; it refuses the rare
/// interleaved layouts (e.g. shape (3, 2), strides (8, 12), float32) whose elements are distinct
/// but whose extents cross: those would need an exact (NP-hard in general) test.
/// Any sizes are handled (the offsets are accumulated in 128 bits and stop at 2^64).
inline void check_memory(const void* data, std::int64_t item, std::span<const std::int64_t> shape,
                         std::span<const std::int64_t> strides) {
  for (const auto s : strides)
    if (s % item != 0)
      invalid("out has strides " + py_tuple(strides) + " that are not multiples of " + std::to_string(item));
  for (const auto n : shape)
    if (n < 0) invalid("out has a negative size, shape " + py_tuple(shape));
  for (const auto n : shape)
    if (n == 0) return;
  const auto addr = reinterpret_cast<std::uintptr_t>(data);
  if (data == nullptr) invalid("out: null data pointer");
  if (addr % static_cast<std::uintptr_t>(item) != 0) invalid("out is not aligned to its item size");
  struct dim {
    unsigned __int128 step;  // |stride|
    std::int64_t n;
  };
  const auto outside = [&] {
    invalid("out: strides " + py_tuple(strides) + " for shape " + py_tuple(shape) +
            " reach byte offsets outside the 64-bit address space");
  };
  // Distinct elements over more than 64 dimensions of size > 1 would span >= 2^65 bytes: at most
  // 64 entries, a fixed array (no allocation).
  std::array<dim, 64> dims;
  std::size_t nd = 0;
  const __int128 wrap = static_cast<__int128>(1) << 64;
  __int128 lo = 0, hi = 0;  // byte offsets of the lowest and highest element, from data
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (strides[k] == 0)
      invalid("out has a zero stride on a dimension of size " + std::to_string(shape[k]) +
              " (its elements overlap in memory); pass a writable array with distinct elements");
    if (nd == dims.size()) outside();
    const __int128 reach = static_cast<__int128>(shape[k] - 1) * strides[k];  // |.| < 2^126
    (reach < 0 ? lo : hi) += reach;
    if (lo <= -wrap || hi >= wrap) outside();  // keeps the sums far from 128-bit overflow
    dims[nd++] = {static_cast<unsigned __int128>(reach < 0 ? -static_cast<__int128>(strides[k]) : strides[k]), shape[k]};
  }
  const __int128 i64_min = std::numeric_limits<std::int64_t>::min(), i64_max = std::numeric_limits<std::int64_t>::max();
  const __int128 end = hi + item;  // one past the highest byte
  if (lo < i64_min || end > i64_max || static_cast<__int128>(addr) + lo < 0 ||
      static_cast<__int128>(addr) + end > static_cast<__int128>(std::numeric_limits<std::uintptr_t>::max()))
    outside();
  std::sort(dims.begin(), dims.begin() + static_cast<std::ptrdiff_t>(nd),
            [](const dim& a, const dim& b) { return a.step < b.step; });
  unsigned __int128 extent = static_cast<unsigned __int128>(item);
  for (std::size_t k = 0; k < nd; ++k) {
    if (dims[k].step < extent)
      invalid("out: elements overlap in memory (strides " + py_tuple(strides) + " for shape " + py_tuple(shape) +
              "); pass a writable array with distinct elements");
    extent += static_cast<unsigned __int128>(dims[k].n - 1) * dims[k].step;
  }
}

/// Validates the shape/strides/shard of `t` and its memory (check_memory; skipped with
/// check_mem = false, for fill_elements' virtual base that only a given range is written through),
/// std::invalid_argument, and merges its dimensions.
inline layout make_layout(const fill_target& t, bool check_mem = true) {
  const std::size_t nd = t.shape.size();
  const std::int64_t item = static_cast<std::int64_t>(itemsize(t.type));
  if (t.strides.size() != nd) invalid("strides must have one entry per dimension");
  const bool sharded = !t.global_shape.empty() || !t.offsets.empty();
  if (sharded && (t.global_shape.size() != nd || t.offsets.size() != nd))
    invalid("global_shape and offsets must have one entry per dimension of the shard");
  check_sizes(t.shape, "shape");
  if (sharded) check_sizes(t.global_shape, "global_shape");
  const std::span<const std::int64_t> gshape = sharded ? t.global_shape : t.shape;
  std::vector<std::int64_t> off(nd, 0);
  std::uint64_t local = 1;
  for (std::size_t k = 0; k < nd; ++k) {
    const std::int64_t n = t.shape[k];
    off[k] = sharded ? t.offsets[k] : 0;
    if (off[k] < 0 || n > gshape[k] || off[k] > gshape[k] - n)
      invalid("shard: dimension " + std::to_string(k) + " [" + std::to_string(off[k]) + ", " +
              (off[k] > std::numeric_limits<std::int64_t>::max() - n ? std::to_string(off[k]) + " + " + std::to_string(n)
                                                                     : std::to_string(off[k] + n)) +
              ") lies outside the global size " + std::to_string(gshape[k]));
    local *= static_cast<std::uint64_t>(n);  // <= 2^56 (check_sizes)
  }
  if (check_mem) check_memory(t.data, item, t.shape, t.strides);
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
    // In 128 bits: st[b] * sh[b] is one stride past the dimension's extent and may pass int64.
    if (gs[a] != gs[b] * sh[b] || static_cast<__int128>(st[a]) != static_cast<__int128>(st[b]) * sh[b]) break;
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
