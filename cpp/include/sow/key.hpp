// String keys ("layers.3.mlp.w1") to 64-bit stream keys: FNV-1a 64 over the UTF-8 bytes. Chosen
// because it is tiny, byte-order independent and trivially reimplemented in any language; its weak
// avalanche does not matter since Philox mixes the key words fully.
#pragma once

#include <cstdint>
#include <string_view>

namespace sow {

constexpr std::uint64_t key_hash(std::string_view utf8) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : utf8) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace sow
