// Stream layout (docs/stream-format.md section 2, unchanged since stream format 1): which Philox
// counter and key produce block b of the stream (seed, key, domain).
#pragma once

#include <cstdint>

#include "sow/config.hpp"
#include "sow/philox.hpp"

namespace sow {

/// The largest number of elements a tensor may have: block indices are 56-bit (the top 8 bits of
/// counter word 1 carry the domain), and float64 elements take half a block each.
inline constexpr std::uint64_t max_elements = std::uint64_t{1} << 56;

/// Domains separate independent uses of one (seed, key): element values and sparse's zero pattern.
enum class domain : std::uint32_t { values = 0, sparse_mask = 1 };

struct stream_id {
  std::uint64_t seed;
  std::uint64_t key;
  std::uint32_t domain;  // 0..255
};

SOW_HD SOW_FORCEINLINE philox4x32_key stream_philox_key(const stream_id& s) {
  return {{static_cast<std::uint32_t>(s.seed), static_cast<std::uint32_t>(s.seed >> 32)}};
}

/// The counter words of the block whose 64-bit index is block_hi:block_lo (block_hi < 2^24), as
/// scalar words or as vectors of them (one block per lane: the SIMD kernels use this layout too).
template <class U>
SOW_HD SOW_FORCEINLINE void stream_counter_words(const stream_id& s, U block_lo, U block_hi, U c[4]) {
  c[0] = block_lo;
  c[1] = block_hi | (s.domain << 24);
  c[2] = U{} + static_cast<std::uint32_t>(s.key);
  c[3] = U{} + static_cast<std::uint32_t>(s.key >> 32);
}

SOW_HD SOW_FORCEINLINE philox4x32_ctr stream_counter(const stream_id& s, std::uint64_t block) {
  philox4x32_ctr c;
  stream_counter_words<std::uint32_t>(s, static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                                      c.v);
  return c;
}

/// Block `block` of the stream: words 4*block .. 4*block+3.
SOW_HD SOW_FORCEINLINE philox4x32_ctr stream_block(const stream_id& s, std::uint64_t block) {
  return philox4x32(stream_counter(s, block), stream_philox_key(s));
}

/// Word `w` of the stream.
SOW_HD SOW_FORCEINLINE std::uint32_t stream_word(const stream_id& s, std::uint64_t w) {
  return stream_block(s, w >> 2).v[w & 3];
}

}  // namespace sow
