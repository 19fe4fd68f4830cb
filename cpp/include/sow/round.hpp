// Rounding float32 to the 16-bit formats (stream format 1, section 6): round to nearest, ties to
// even, with gradual underflow. Portable integer code; SIMD paths use F16C/AVX-512 conversions,
// which are IEEE round-to-nearest-even too, and the tests compare every ISA with this one.
#pragma once

#include <cstdint>
#include <cstring>

#include "sow/config.hpp"

namespace sow {

SOW_HD SOW_FORCEINLINE std::uint32_t float_bits(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  return x;
}

/// bfloat16 bits of `f` (NaN inputs are never produced by sow's transforms).
SOW_HD SOW_FORCEINLINE std::uint16_t to_bfloat16_bits(float f) {
  const std::uint32_t x = float_bits(f);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/// IEEE binary16 bits of `f`.
SOW_HD inline std::uint16_t to_float16_bits(float f) {
  const std::uint32_t x = float_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return static_cast<std::uint16_t>(sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (ax >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (ax < 0x38800000u) {                                                     // below 2^-14: subnormal
    const std::uint32_t e = ax >> 23;
    if (e < 102) return static_cast<std::uint16_t>(sign);  // below 2^-25: rounds to zero
    const std::uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // 14..24
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1);
    r += (rem > halfway || (rem == halfway && (r & 1u))) ? 1u : 0u;
    return static_cast<std::uint16_t>(sign | r);
  }
  std::uint32_t r = ax - 0x38000000u;  // rebias exponent 127 -> 15
  const std::uint32_t rem = r & 0x1fffu;
  r >>= 13;
  r += (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ? 1u : 0u;  // a carry rolls into the exponent
  return static_cast<std::uint16_t>(sign | r);
}

}  // namespace sow
