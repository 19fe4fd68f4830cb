// Size arithmetic that refuses to overflow.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sow::detail {

inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw std::invalid_argument(std::string(what) + ": element count overflows 64 bits");
  return r;
}

}  // namespace sow::detail
