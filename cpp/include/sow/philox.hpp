// Philox4x32-10 exactly as Random123 defines it (Salmon et al., SC'11; DEShawResearch/random123
// include/Random123/philox.h). Checked against Random123's known-answer vectors in tests/kat/.
// The SIMD paths in cpp/src/simd/ are tested bit for bit against this scalar definition.
#pragma once

#include <cstdint>

#include "sow/config.hpp"

namespace sow {

struct philox4x32_ctr {
  std::uint32_t v[4];
};
struct philox4x32_key {
  std::uint32_t v[2];
};

namespace detail {
inline constexpr std::uint32_t philox_m0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

SOW_HD SOW_FORCEINLINE std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}

SOW_HD SOW_FORCEINLINE philox4x32_ctr philox4x32_round(philox4x32_ctr c, philox4x32_key k) {
  std::uint32_t hi0, hi1;
  const std::uint32_t lo0 = mulhilo32(philox_m0, c.v[0], &hi0);
  const std::uint32_t lo1 = mulhilo32(philox_m1, c.v[2], &hi1);
  return {{hi1 ^ c.v[1] ^ k.v[0], lo1, hi0 ^ c.v[3] ^ k.v[1], lo0}};
}
}  // namespace detail

/// Philox4x32 with `rounds` rounds (10 is the standard and what sow's streams use; 7 exists only to
/// check Random123's R=7 vectors). The key is bumped before rounds 2..R, as in Random123.
SOW_HD SOW_FORCEINLINE philox4x32_ctr philox4x32(philox4x32_ctr c, philox4x32_key k, int rounds = 10) {
  c = detail::philox4x32_round(c, k);
  for (int r = 1; r < rounds; ++r) {
    k.v[0] += detail::philox_w0;
    k.v[1] += detail::philox_w1;
    c = detail::philox4x32_round(c, k);
  }
  return c;
}

}  // namespace sow
