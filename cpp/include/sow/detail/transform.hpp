// Stream words -> element values (docs/stream-format.md sections 4 and 5), written once for every
// backend as templates over a lane policy L (docs/design.md). L::u holds one 32-bit stream word per
// lane for float lanes and one 64-bit pair of words (low word first) for double lanes.
#pragma once

#include <cstdint>
#include <type_traits>

#include "sow/config.hpp"
#include "sow/detail/math.hpp"
#include "sow/dist.hpp"

namespace sow::detail {

template <class L>
inline constexpr bool is_f32 = std::is_same_v<typename L::scalar, float>;

/// s in (-1, 1), symmetric, exact: (2m + 1 - 2^24) 2^-24 from the top 24 bits (53 for float64).
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f sym_uniform(typename L::u x) {
  using i = typename L::i;
  if constexpr (is_f32<L>) {
    const i k = (i)((x >> 8) << 1) + (1 - (1 << 24));
    return L::to_float(k) * L::splat(0x1p-24);
  } else {
    const i k = (i)((x >> 11) << 1) + (1 - (std::int64_t{1} << 53));
    return L::to_float(k) * L::splat(0x1p-53);
  }
}

/// u in (0, 1), exact, and 1 - u exact too: (2m + 1) 2^-24 from the top 23 bits (52 for float64).
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f open_uniform(typename L::u x) {
  using i = typename L::i;
  if constexpr (is_f32<L>) {
    return L::to_float((i)((x >> 9) << 1) + 1) * L::splat(0x1p-24);
  } else {
    return L::to_float((i)((x >> 12) << 1) + 1) * L::splat(0x1p-53);
  }
}

/// Standard normal from one word: the lower-tail probability p in (0, 1/2] and the sign bit.
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f std_normal(typename L::u x) {
  using f = typename L::f;
  using i = typename L::i;
  if constexpr (is_f32<L>) {
    // Words with the sign bit use the complement of their low 31 bits, so that z is
    // non-decreasing in the whole 32-bit word and z(~x) = -z(x) exactly (stream format 2 on).
    // The arithmetic shift is all ones for the sign bit, and the complement then clears it: no mask.
    const i xi = (i)x;
    const i y = xi ^ (xi >> 31);
    // t16 = 2^16 t with t = float(y) 2^-31 + 2^-32 (section 4): the same rounding, since scaling by
    // a power of two is exact here, and no separate multiply for the table's scale.
    const f t16 = (L::to_float(y) + L::splat(0.5)) * L::splat(0x1p-15);
    // z <= 0; the sign bit of x negates it: an xor of the sign bit is exactly IEEE negation.
    return L::as_float(L::as_int(inv_phi_lower_t16<L>(t16)) ^ (i)(x & 0x80000000u));
  } else {
    const i y = (i)((x >> 11) & ((std::uint64_t{1} << 52) - 1));
    const f z = inv_phi_lower<L>(L::to_float(y * 2 + 1) * L::splat(0x1p-54));
    return L::select((i)(x >> 63) == 0, z, -z);
  }
}

template <class L>
SOW_HD SOW_FORCEINLINE typename L::f uniform_value(typename L::u x, const dist_consts<typename L::scalar>& c) {
  return L::splat(c.mid) + L::splat(c.half) * sym_uniform<L>(x);
}

template <class L>
SOW_HD SOW_FORCEINLINE typename L::f normal_value(typename L::u x, const dist_consts<typename L::scalar>& c) {
  return L::splat(c.mean) + L::splat(c.std) * std_normal<L>(x);
}

/// Inverse CDF of the truncated normal from u in (0, 1); see stream-format.md for why p and q.
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f trunc_normal_from_u(typename L::f u, const dist_consts<typename L::scalar>& c) {
  using f = typename L::f;
  const f delta = L::splat(c.delta);
  const f p = L::splat(c.pa) + u * delta;
  const f q = L::splat(c.qb) + (L::splat(1.0) - u) * delta;
  const auto lower = p < L::splat(0.5);
  const f z0 = inv_phi_lower<L>(L::select(lower, p, q));
  const f z = L::select(lower, z0, -z0) * L::splat(c.sgn);
  f v = L::splat(c.mean) + L::splat(c.std) * z;
  v = L::select(v < L::splat(c.lo), L::splat(c.lo), v);
  return L::select(v > L::splat(c.hi), L::splat(c.hi), v);
}

template <class L>
SOW_HD SOW_FORCEINLINE typename L::f trunc_normal_value(typename L::u x, const dist_consts<typename L::scalar>& c) {
  return trunc_normal_from_u<L>(open_uniform<L>(x), c);
}

}  // namespace sow::detail
