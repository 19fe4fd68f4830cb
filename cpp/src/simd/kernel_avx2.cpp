// AVX2 + F16C kernel: 8 Philox blocks = 32 float32 elements per iteration.
// Compiled with -mavx2 -mfma -mf16c -ffp-contract=off (CMakeLists.txt): no multiply and add is ever
// fused by the compiler; the fused multiply-adds of the inverse CDF (stream format 3) are explicit.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernel.hpp"
#include "sow/detail/transform.hpp"

namespace sow::cpu::avx2 {
namespace {

struct V {
  static constexpr int W = 8;
  using u32v = std::uint32_t __attribute__((vector_size(32)));
  using i32v = std::int32_t __attribute__((vector_size(32)));
  using f32v = float __attribute__((vector_size(32)));
  using u64v = std::uint64_t __attribute__((vector_size(32)));
  using i64v = std::int64_t __attribute__((vector_size(32)));
  using f64v = double __attribute__((vector_size(32)));

  struct L32 {
    using scalar = float;
    using f = f32v;
    using i = i32v;
    using u = u32v;
    using mask = i32v;
    static f sqrt(f x) { return (f)_mm256_sqrt_ps((__m256)x); }
    static f select(mask m, f a, f b) { return m ? a : b; }
    static i select_i(mask m, i a, i b) { return m ? a : b; }
    static bool any(mask m) { return _mm256_movemask_ps((__m256)m) != 0; }
    static i as_int(f x) { return (i)x; }
    static f as_float(i x) { return (f)x; }
    static f to_float(i x) { return __builtin_convertvector(x, f); }
    static f splat(double c) { return f{} + static_cast<float>(c); }
    // Entry k mod 32: vpermps on each quarter (the low 3 bits of k), then two levels of blends on
    // bits 3 and 4. 7 instructions per read; vgatherdps measured 1.6x slower on the dev machine (Zen, AVX2).
    static f lookup32(const float* t, i k) {
      const __m256i ix = (__m256i)k;
      const __m256 b3 = (__m256)(k << 28), b4 = (__m256)(k << 27);  // blendv reads the sign bit
      const __m256 q0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t), ix);
      const __m256 q1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 8), ix);
      const __m256 q2 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 16), ix);
      const __m256 q3 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 24), ix);
      return (f)_mm256_blendv_ps(_mm256_blendv_ps(q0, q1, b3), _mm256_blendv_ps(q2, q3, b3), b4);
    }
    static f fma(f a, f b, f c) { return (f)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c); }
    // Horner with fused multiply-adds over the table (math.hpp's table_horner), reading each
    // coefficient with as few permutes as every lane's segment allows: where all 8 lanes have
    // q >= 24 (t >= 0.75 * 2^-7: 95 % of a normal fill's vectors) one vpermps per read; where all
    // have q >= 16, two and a blend; else lookup32. Measured on fresh words (transform and store,
    // one Zen 3 core): 17 cycles per 8 values against 35 for format 2's degree-5 table at two reads
    // per coefficient without fma. Without the two slower levels (wrong for 5 % of vectors) the
    // whole fill was 8 % faster: that is what the branch and the rare slow reads cost.
    template <class T>
    static SOW_FORCEINLINE f horner_table(const T& tab, i q, f r) {
      const __m256i ix = (__m256i)q;
      auto horner = [&](auto read) SOW_LAMBDA_INLINE {
        f a = read(tab.c[detail::inv_phi32_degree]);
        for (int j = detail::inv_phi32_degree - 1; j >= 0; --j) a = fma(r, a, read(tab.c[j]));
        return a;
      };
      if (_mm256_movemask_ps((__m256)(q - 24)) == 0)
        return horner([&](const float* t) SOW_LAMBDA_INLINE {
          return (f)_mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 24), ix);
        });
      if (_mm256_movemask_ps((__m256)(q - 16)) == 0) {
        const __m256 b3 = (__m256)(q << 28);  // blendv reads the sign bit: bit 3 of q
        return horner([&](const float* t) SOW_LAMBDA_INLINE {
          return (f)_mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 16), ix),
                                     _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 24), ix), b3);
        });
      }
      return horner([&](const float* t) SOW_LAMBDA_INLINE { return lookup32(t, q); });
    }
  };
  struct L64 {
    using scalar = double;
    using f = f64v;
    using i = i64v;
    using u = u64v;
    using mask = i64v;
    static f sqrt(f x) { return (f)_mm256_sqrt_pd((__m256d)x); }
    static f select(mask m, f a, f b) { return m ? a : b; }
    static i select_i(mask m, i a, i b) { return m ? a : b; }
    static bool any(mask m) { return _mm256_movemask_pd((__m256d)m) != 0; }
    static i as_int(f x) { return (i)x; }
    static f as_float(i x) { return (f)x; }
    // AVX2 has no int64->double instruction. For |x| < 2^53 (the policy's contract) both halves
    // convert exactly through the 2^52 magic constant and their sum is exact.
    static f to_float(i x) {
      const i hi = x >> 32;
      const i lo = x & 0xffffffffll;
      const f fh = (f)(hi + 0x4338000000000000ll) - 0x1.8p52;
      const f fl = (f)(lo | 0x4330000000000000ll) - 0x1p52;
      return fh * 0x1p32 + fl;
    }
    static f splat(double c) { return f{} + c; }
  };

  static u32v iota() { return u32v{0, 1, 2, 3, 4, 5, 6, 7}; }

  // Low halves from one vpmulld (one uop at 2 per cycle on Zen 3; the shift + blend it replaces
  // are two: 9 % of a Philox-only fill there), high halves from two vpmuludq merged by a blend.
  static SOW_FORCEINLINE void mulhilo(u32v a, std::uint32_t m, u32v& lo, u32v& hi) {
    const __m256i av = (__m256i)a, mv = _mm256_set1_epi32(static_cast<int>(m));
    const __m256i pe = _mm256_mul_epu32(av, mv);
    const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(av, 32), mv);
    lo = (u32v)_mm256_mullo_epi32(av, mv);
    hi = (u32v)_mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
  }

  static SOW_FORCEINLINE void transpose4(u32v c[4]) {
    const i32v lo32{0, 8, 1, 9, 2, 10, 3, 11};
    const i32v hi32{4, 12, 5, 13, 6, 14, 7, 15};
    const i64v lo64{0, 4, 1, 5};
    const i64v hi64{2, 6, 3, 7};
    const u64v a = (u64v)__builtin_shuffle(c[0], c[1], lo32), b = (u64v)__builtin_shuffle(c[0], c[1], hi32);
    const u64v e = (u64v)__builtin_shuffle(c[2], c[3], lo32), f = (u64v)__builtin_shuffle(c[2], c[3], hi32);
    c[0] = (u32v)__builtin_shuffle(a, e, lo64);
    c[1] = (u32v)__builtin_shuffle(a, e, hi64);
    c[2] = (u32v)__builtin_shuffle(b, f, lo64);
    c[3] = (u32v)__builtin_shuffle(b, f, hi64);
  }

  static void store2_f16(std::uint16_t* o, f32v a, f32v b) {
    const __m128i ha = _mm256_cvtps_ph((__m256)a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m128i hb = _mm256_cvtps_ph((__m256)b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    std::memcpy(o, &ha, sizeof ha);
    std::memcpy(o + W, &hb, sizeof hb);
  }
  // Integer round-to-nearest-even, one in-lane pack and a qword permute to restore the order.
  static void store2_bf16(std::uint16_t* o, f32v a, f32v b) {
    const u32v x = (u32v)a, y = (u32v)b;
    const __m256i ra = (__m256i)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
    const __m256i rb = (__m256i)((y + 0x7fffu + ((y >> 16) & 1u)) >> 16);
    const __m256i packed = _mm256_packus_epi32(ra, rb);  // per 128-bit lane: a0..a3 b0..b3
    const __m256i fixed = _mm256_permute4x64_epi64(packed, 0xD8);
    std::memcpy(o, &fixed, sizeof fixed);
  }
  static constexpr bool hw_bf16 = false;
  static void store2_bf16_hw(std::uint16_t* o, f32v a, f32v b) { store2_bf16(o, a, b); }
};

}  // namespace

#include "kernel_vector.inl"

}  // namespace sow::cpu::avx2
