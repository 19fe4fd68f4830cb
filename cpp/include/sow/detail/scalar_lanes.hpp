// The scalar lane policy: the instantiation used by the CPU fallback, by head/tail elements of the
// SIMD paths, and by CUDA kernels. SIMD policies (cpp/src/simd/) provide the same members for
// vectors; see docs/design.md.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "sow/config.hpp"

namespace sow::detail {

template <class F>
struct scalar_lanes;

template <>
struct scalar_lanes<float> {
  using scalar = float;  // every lane policy names its element type
  using f = float;
  using i = std::int32_t;
  using u = std::uint32_t;
  using mask = bool;
  static SOW_HD SOW_FORCEINLINE f sqrt(f x) {
#if defined(__CUDA_ARCH__)
    return __fsqrt_rn(x);
#else
    return __builtin_sqrtf(x);
#endif
  }
  static SOW_HD SOW_FORCEINLINE f select(mask m, f a, f b) { return m ? a : b; }
  static SOW_HD SOW_FORCEINLINE i select_i(mask m, i a, i b) { return m ? a : b; }
  static SOW_HD SOW_FORCEINLINE bool any(mask m) { return m; }
  static SOW_HD SOW_FORCEINLINE i as_int(f x) {
    i r;
    std::memcpy(&r, &x, sizeof r);
    return r;
  }
  static SOW_HD SOW_FORCEINLINE f as_float(i x) {
    f r;
    std::memcpy(&r, &x, sizeof r);
    return r;
  }
  // Round to nearest even (the IEEE default on every target we build for).
  static SOW_HD SOW_FORCEINLINE f to_float(i x) { return static_cast<f>(x); }
  static SOW_HD SOW_FORCEINLINE f splat(double c) { return static_cast<f>(c); }
  // a * b + c rounded once. Host: fmaf, which is correctly rounded in software where the CPU has
  // no FMA (this policy is compiled without -mfma), so every CPU gives the same bits.
  static SOW_HD SOW_FORCEINLINE f fma(f a, f b, f c) {
#if defined(__CUDA_ARCH__)
    return __fmaf_rn(a, b, c);
#else
    return __builtin_fmaf(a, b, c);
#endif
  }
  // Entry k mod 32 of a 32-entry table (vector policies: one permute over the same entries).
  static SOW_HD SOW_FORCEINLINE f lookup32(const float* table, i k) { return table[k & 31]; }
};

template <>
struct scalar_lanes<double> {
  using scalar = double;
  using f = double;
  using i = std::int64_t;
  using u = std::uint64_t;
  using mask = bool;
  static SOW_HD SOW_FORCEINLINE f sqrt(f x) {
#if defined(__CUDA_ARCH__)
    return __dsqrt_rn(x);
#else
    return __builtin_sqrt(x);
#endif
  }
  static SOW_HD SOW_FORCEINLINE f select(mask m, f a, f b) { return m ? a : b; }
  static SOW_HD SOW_FORCEINLINE i select_i(mask m, i a, i b) { return m ? a : b; }
  static SOW_HD SOW_FORCEINLINE bool any(mask m) { return m; }
  static SOW_HD SOW_FORCEINLINE i as_int(f x) {
    i r;
    std::memcpy(&r, &x, sizeof r);
    return r;
  }
  static SOW_HD SOW_FORCEINLINE f as_float(i x) {
    f r;
    std::memcpy(&r, &x, sizeof r);
    return r;
  }
  // Callers guarantee |x| < 2^53, so the conversion is exact on every backend (AVX2 has no
  // int64->double instruction and emulates it exactly in that range).
  static SOW_HD SOW_FORCEINLINE f to_float(i x) { return static_cast<f>(x); }
  static SOW_HD SOW_FORCEINLINE f splat(double c) { return c; }
};

}  // namespace sow::detail
