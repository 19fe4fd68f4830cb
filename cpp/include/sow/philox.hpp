// Philox4x32-10 exactly as Random123 defines it (Salmon et al., SC'11; DEShawResearch/random123
// include/Random123/philox.h). Checked against Random123's known-answer vectors in tests/kat/.
// The SIMD kernels (cpp/src/simd/) instantiate the same rounds (philox4x32_rounds) over vector
// words; tests/test_kat_backends.py (every ISA) and tests/gpu/test_kat_cuda.py check them against
// tests/kat/.
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

// The word policy of philox4x32_rounds for one 32-bit word. The SIMD kernels (cpp/src/simd/) pass
// their own, whose u32 is a vector and whose mulhilo multiplies every lane: one counter per lane.
struct philox_word {
  using u32 = std::uint32_t;
  SOW_HD static SOW_FORCEINLINE void mulhilo(u32 a, std::uint32_t m, u32& lo, u32& hi) {
    const std::uint64_t p = static_cast<std::uint64_t>(a) * m;
    lo = static_cast<u32>(p);
    hi = static_cast<u32>(p >> 32);
  }
};

/// Philox4x32 with `rounds` rounds, in place, on G independent counters x[4h .. 4h + 3] (h < G)
/// of words W::u32, all under the key (k0, k1). Every backend runs this one definition: the scalar
/// and CUDA paths through philox4x32 (W = philox_word, G = 1), the SIMD kernels with vector words
/// and G = 2, interleaved round by round so that the two chains' multiplies overlap.
template <class W, unsigned G = 1>
SOW_HD SOW_FORCEINLINE void philox4x32_rounds(typename W::u32* x, std::uint32_t k0, std::uint32_t k1, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    if (r) {  // the key is bumped before rounds 2..R, as in Random123
      k0 += philox_w0;
      k1 += philox_w1;
    }
    for (unsigned h = 0; h < G; ++h) {
      typename W::u32* c = x + 4 * h;
      typename W::u32 lo0, hi0, lo1, hi1;
      W::mulhilo(c[0], philox_m0, lo0, hi0);
      W::mulhilo(c[2], philox_m1, lo1, hi1);
      const typename W::u32 n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
      c[0] = n0;
      c[1] = lo1;
      c[2] = n2;
      c[3] = lo0;
    }
  }
}

/// philox4x32_rounds(x, k0, k1, 10) for G groups of counters whose words 1..3 are the same in every
/// lane (c1, c2, c3; only word 0, x[4h], differs), as in a stream's consecutive blocks: the same
/// bits with less work. Round 1's product c2 * m1 and round 2's c0 * m0 are scalars (their inputs
/// are lane-independent), and so is word 3 entering round 3: two of the twenty vector multiplies
/// and six xors per group go away (measured 7-10 % of a uniform fill on Zen 3, AVX2). Checked
/// against philox4x32_rounds by every SIMD backend's known-answer test (tests/kat/).
template <class W, unsigned G>
SOW_FORCEINLINE void philox4x32_10_uniform_words(typename W::u32* x, std::uint32_t c1, std::uint32_t c2,
                                                 std::uint32_t c3, std::uint32_t k0, std::uint32_t k1) {
  using u32 = typename W::u32;
  // Round 1: word 0 varies; c2 * m1 is one scalar product.
  std::uint32_t lo1, hi1;
  philox_word::mulhilo(c2, philox_m1, lo1, hi1);
  const std::uint32_t s0 = hi1 ^ c1 ^ k0, s1 = lo1;  // the new words 0 and 1: scalars
  for (unsigned h = 0; h < G; ++h) {
    u32* c = x + 4 * h;
    u32 lo0, hi0;
    W::mulhilo(c[0], philox_m0, lo0, hi0);
    c[2] = hi0 ^ (c3 ^ k1);
    c[3] = lo0;
  }
  // Round 2: word 0 is the scalar s0, so s0 * m0 is one scalar product too.
  k0 += philox_w0;
  k1 += philox_w1;
  std::uint32_t lo0s, hi0s;
  philox_word::mulhilo(s0, philox_m0, lo0s, hi0s);
  for (unsigned h = 0; h < G; ++h) {
    u32* c = x + 4 * h;
    u32 lo, hi;
    W::mulhilo(c[2], philox_m1, lo, hi);
    const u32 n2 = c[3] ^ (hi0s ^ k1);
    c[0] = hi ^ (s1 ^ k0);
    c[1] = lo;
    c[2] = n2;
  }
  // Round 3: word 3 is the scalar lo0s.
  k0 += philox_w0;
  k1 += philox_w1;
  for (unsigned h = 0; h < G; ++h) {
    u32* c = x + 4 * h;
    u32 lo0, hi0, lo, hi;
    W::mulhilo(c[0], philox_m0, lo0, hi0);
    W::mulhilo(c[2], philox_m1, lo, hi);
    const u32 n0 = hi ^ c[1] ^ k0;
    c[2] = hi0 ^ (lo0s ^ k1);
    c[0] = n0;
    c[1] = lo;
    c[3] = lo0;
  }
  // Rounds 4..10: philox4x32_rounds one round at a time, the key bumped before each.
  for (int r = 3; r < 10; ++r) {
    k0 += philox_w0;
    k1 += philox_w1;
    philox4x32_rounds<W, G>(x, k0, k1, 1);
  }
}
}  // namespace detail

/// Philox4x32 with `rounds` rounds (10 is the standard and what sow's streams use; 7 exists only to
/// check Random123's R=7 vectors).
SOW_HD SOW_FORCEINLINE philox4x32_ctr philox4x32(philox4x32_ctr c, philox4x32_key k, int rounds = 10) {
  detail::philox4x32_rounds<detail::philox_word>(c.v, k.v[0], k.v[1], rounds);
  return c;
}

}  // namespace sow
