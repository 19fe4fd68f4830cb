// AVX-512 (F, BW, DQ, VL) kernel: 16 Philox blocks = 64 float32 elements per iteration.
// Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -ffp-contract=off (CMakeLists.txt), and
// a second time as kernel_avx512bf16.cpp with SOW_KERNEL_BF16=1 and -mavx512bf16 for CPUs that
// convert to bfloat16 in hardware.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernel.hpp"
#include "sow/detail/transform.hpp"

#ifndef SOW_KERNEL_BF16
#define SOW_KERNEL_BF16 0
#define SOW_KERNEL_NS avx512
#endif

namespace sow::cpu::SOW_KERNEL_NS {
namespace {

struct V {
  static constexpr int W = 16;
  using u32v = std::uint32_t __attribute__((vector_size(64)));
  using i32v = std::int32_t __attribute__((vector_size(64)));
  using f32v = float __attribute__((vector_size(64)));
  using u64v = std::uint64_t __attribute__((vector_size(64)));
  using i64v = std::int64_t __attribute__((vector_size(64)));
  using f64v = double __attribute__((vector_size(64)));

  struct L32 {
    using scalar = float;
    using f = f32v;
    using i = i32v;
    using u = u32v;
    using mask = i32v;
    static f sqrt(f x) { return (f)_mm512_sqrt_ps((__m512)x); }
    static f select(mask m, f a, f b) { return m ? a : b; }
    static i select_i(mask m, i a, i b) { return m ? a : b; }
    static bool any(mask m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
    static i as_int(f x) { return (i)x; }
    static f as_float(i x) { return (f)x; }
    static f to_float(i x) { return __builtin_convertvector(x, f); }
    static f splat(double c) { return f{} + static_cast<float>(c); }
    // vpermi2ps: entry k mod 32 of the two registers holding the table (hoisted out of the loop).
    static f lookup32(const float* t, i k) {
      return (f)_mm512_permutex2var_ps(_mm512_loadu_ps(t), (__m512i)k, _mm512_loadu_ps(t + 16));
    }
    static f fma(f a, f b, f c) { return (f)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c); }
  };
  struct L64 {
    using scalar = double;
    using f = f64v;
    using i = i64v;
    using u = u64v;
    using mask = i64v;
    static f sqrt(f x) { return (f)_mm512_sqrt_pd((__m512d)x); }
    static f select(mask m, f a, f b) { return m ? a : b; }
    static i select_i(mask m, i a, i b) { return m ? a : b; }
    static bool any(mask m) { return _mm512_test_epi64_mask((__m512i)m, (__m512i)m) != 0; }
    static i as_int(f x) { return (i)x; }
    static f as_float(i x) { return (f)x; }
    static f to_float(i x) { return __builtin_convertvector(x, f); }  // vcvtqq2pd (AVX512DQ)
    static f splat(double c) { return f{} + c; }
  };

  static u32v iota() { return u32v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; }

  // 32x32->64 products of all 16 lanes: low halves from one vpmulld; high halves of the even
  // lanes from one vpmuludq, of the odd lanes from another, merged by one masked dword shuffle.
  // 5 instructions instead of 7 (shift + blend version): Philox is the bottleneck of every fill.
  static SOW_FORCEINLINE void mulhilo(u32v a, std::uint32_t m, u32v& lo, u32v& hi) {
    const __m512i av = (__m512i)a, mv = _mm512_set1_epi32(static_cast<int>(m));
    const __m512i pe = _mm512_mul_epu32(av, mv);
    const __m512i po = _mm512_mul_epu32(_mm512_shuffle_epi32(av, _MM_PERM_CDAB), mv);
    lo = (u32v)_mm512_mullo_epi32(av, mv);
    hi = (u32v)_mm512_mask_shuffle_epi32(po, 0x5555, pe, _MM_PERM_CDAB);
  }

  static SOW_FORCEINLINE void transpose4(u32v c[4]) {
    using i64m = std::int64_t __attribute__((vector_size(64)));
    const i32v lo32{0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
    const i32v hi32{8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const i64m lo64{0, 8, 1, 9, 2, 10, 3, 11};
    const i64m hi64{4, 12, 5, 13, 6, 14, 7, 15};
    const u64v a = (u64v)__builtin_shuffle(c[0], c[1], lo32), b = (u64v)__builtin_shuffle(c[0], c[1], hi32);
    const u64v e = (u64v)__builtin_shuffle(c[2], c[3], lo32), f = (u64v)__builtin_shuffle(c[2], c[3], hi32);
    c[0] = (u32v)__builtin_shuffle(a, e, lo64);
    c[1] = (u32v)__builtin_shuffle(a, e, hi64);
    c[2] = (u32v)__builtin_shuffle(b, f, lo64);
    c[3] = (u32v)__builtin_shuffle(b, f, hi64);
  }

  static void store2_f16(std::uint16_t* o, f32v a, f32v b) {
    const __m256i ha = _mm512_cvtps_ph((__m512)a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i hb = _mm512_cvtps_ph((__m512)b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    std::memcpy(o, &ha, sizeof ha);
    std::memcpy(o + W, &hb, sizeof hb);
  }
  // Integer round-to-nearest-even (not vcvtne2ps2bf16, which flushes subnormals), then one
  // in-lane pack and a qword permute: measured faster than two vpmovdw on Zen 4.
  static void store2_bf16(std::uint16_t* o, f32v a, f32v b) {
    const u32v x = (u32v)a, y = (u32v)b;
    const __m512i ra = (__m512i)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
    const __m512i rb = (__m512i)((y + 0x7fffu + ((y >> 16) & 1u)) >> 16);
    const __m512i packed = _mm512_packus_epi32(ra, rb);  // per 128-bit lane: a0..a3 b0..b3
    const __m512i fixed = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), packed);
    std::memcpy(o, &fixed, sizeof fixed);
  }
#if SOW_KERNEL_BF16
  // vcvtne2ps2bf16 rounds to nearest even like the integer path but treats subnormal inputs as
  // zero, so it is used only when prepared_dist::no_f32_subnormals proves none can occur. It
  // replaces 12 instructions per 32 values; Philox leaves little else to save in a bf16 fill.
  static constexpr bool hw_bf16 = true;
  static void store2_bf16_hw(std::uint16_t* o, f32v a, f32v b) {
    const __m512bh h = _mm512_cvtne2ps_pbh((__m512)b, (__m512)a);
    std::memcpy(o, &h, sizeof h);
  }
#else
  static constexpr bool hw_bf16 = false;
  static void store2_bf16_hw(std::uint16_t* o, f32v a, f32v b) { store2_bf16(o, a, b); }
#endif
};

}  // namespace

#include "kernel_vector.inl"

}  // namespace sow::cpu::SOW_KERNEL_NS
