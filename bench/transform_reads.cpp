// What one coefficient read of the float32 inverse normal CDF costs on this core (issue 15).
//
// Stream format 3 evaluates a degree-7 polynomial per value whose 8 coefficients are read from a
// table by segment (docs/stream-format.md section 5), so the instruction that does the read sets the
// transform's speed. This times that Horner loop (two vectors in flight, as the kernels run it)
// with each way of reading, on fresh segment indices and arguments every iteration, one thread:
//
//   none         coefficients as constants: the loop's floor
//   vpermps8     one 8-entry lane-crossing permute (AVX2's fast path for 95 % of vectors)
//   vpermilps4   one 4-entry in-lane permute (what a table of 4 segments would allow)
//   2vpermilps   two 4-entry in-lane permutes and a blend (8 entries without crossing lanes)
//   vpermps16    one 16-entry permute of a zmm            (AVX-512 only)
//   vpermi2ps32  one 32-entry two-table permute of a zmm  (AVX-512 only; format 3's premise)
//
// Build and run (no sow needed):
//   g++ -O2 -std=c++20 bench/transform_reads.cpp -o /tmp/transform_reads && /tmp/transform_reads
// Numbers are ns per 8 values (per 16 for the zmm rows: both are "per 32 bytes of output"), the
// fastest of 9 rounds in which the variants take turns; results and their reading in bench/RESULTS.md.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace {

constexpr long iters = 2'000'000;
alignas(64) float table[8][32];  // [coefficient][segment]

template <class Fn>
double ns(Fn fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters * 1e9;
}

// The variants take turns, 9 rounds, and each keeps its fastest: the machine's noise (other
// tenants) then hits every variant alike.
template <int N, class Fn>
void rounds(double (&best)[N], Fn one_round) {
  for (double& b : best) b = 1e30;
  for (int r = 0; r < 9; ++r) {
    double t[N];
    one_round(t);
    for (int k = 0; k < N; ++k) best[k] = std::min(best[k], t[k]);
  }
}

// Two Horner chains of degree 7 per iteration; `read(j, q)` gives coefficient j of each lane's
// segment. The asm barriers make q and r opaque (fresh per iteration) without loads or stores.
#pragma GCC push_options
#pragma GCC target("avx2,fma")
template <class Read>
double horner_avx2() {
  return ns([&] {
    __m256i q0 = _mm256_setr_epi32(24, 25, 26, 27, 28, 29, 30, 31), q1 = _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24);
    __m256 r0 = _mm256_set1_ps(0.25f), r1 = _mm256_set1_ps(0.5f), sum = _mm256_setzero_ps();
    for (long n = 0; n < iters; ++n) {
      asm volatile("" : "+x"(q0), "+x"(q1), "+x"(r0), "+x"(r1));
      __m256 a0 = Read::read(7, q0), a1 = Read::read(7, q1);
      for (int j = 6; j >= 0; --j) {
        a0 = _mm256_fmadd_ps(r0, a0, Read::read(j, q0));
        a1 = _mm256_fmadd_ps(r1, a1, Read::read(j, q1));
      }
      sum = _mm256_add_ps(sum, _mm256_add_ps(a0, a1));
    }
    asm volatile("" : : "x"(sum));
  }) / 2;
}

#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
template <class Read>
double horner_avx512() {
  return ns([&] {
    __m512i q0 = _mm512_set_epi32(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16);
    __m512i q1 = _mm512_set_epi32(16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    __m512 r0 = _mm512_set1_ps(0.25f), r1 = _mm512_set1_ps(0.5f), sum = _mm512_setzero_ps();
    for (long n = 0; n < iters; ++n) {
      asm volatile("" : "+v"(q0), "+v"(q1), "+v"(r0), "+v"(r1));
      __m512 a0 = Read::read(7, q0), a1 = Read::read(7, q1);
      for (int j = 6; j >= 0; --j) {
        a0 = _mm512_fmadd_ps(r0, a0, Read::read(j, q0));
        a1 = _mm512_fmadd_ps(r1, a1, Read::read(j, q1));
      }
      sum = _mm512_add_ps(sum, _mm512_add_ps(a0, a1));
    }
    asm volatile("" : : "v"(sum));
  }) / 2;
}

#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
struct none8 {
  static __m256 read(int j, __m256i) { return _mm256_load_ps(&table[j][24]); }
};
struct vpermps8 {
  static __m256 read(int j, __m256i q) { return _mm256_permutevar8x32_ps(_mm256_load_ps(&table[j][24]), q); }
};
struct vpermilps4 {
  static __m256 read(int j, __m256i q) {
    return _mm256_permutevar_ps(_mm256_broadcast_ps(reinterpret_cast<const __m128*>(&table[j][28])), q);
  }
};
struct two_vpermilps {
  static __m256 read(int j, __m256i q) {
    const __m256 lo = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(&table[j][24]));
    const __m256 hi = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(&table[j][28]));
    return _mm256_blendv_ps(_mm256_permutevar_ps(lo, q), _mm256_permutevar_ps(hi, q),
                            _mm256_castsi256_ps(_mm256_slli_epi32(q, 29)));
  }
};

void run_avx2() {
  double b[4];
  rounds(b, [](double (&t)[4]) {
    t[0] = horner_avx2<none8>(), t[1] = horner_avx2<vpermps8>();
    t[2] = horner_avx2<vpermilps4>(), t[3] = horner_avx2<two_vpermilps>();
  });
  const double none = b[0], p8 = b[1], p4 = b[2], p44 = b[3];
  std::printf("AVX2, ns per 8 values (degree 7, 2 chains):\n");
  std::printf("  none        %6.3f\n  vpermps8    %6.3f  (+%.3f per read)\n", none, p8, (p8 - none) / 8);
  std::printf("  vpermilps4  %6.3f  (+%.3f per read)\n  2vpermilps  %6.3f  (+%.3f per read)\n", p4,
              (p4 - none) / 8, p44, (p44 - none) / 8);
}

#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
struct none16 {
  static __m512 read(int j, __m512i) { return _mm512_load_ps(&table[j][16]); }
};
struct vpermps16 {
  static __m512 read(int j, __m512i q) {
    const __m512 t = _mm512_load_ps(&table[j][16]);
    return _mm512_mask_permutexvar_ps(t, 0xffff, q, t);
  }
};
struct vpermi2ps32 {
  static __m512 read(int j, __m512i q) {
    return _mm512_permutex2var_ps(_mm512_load_ps(&table[j][0]), q, _mm512_load_ps(&table[j][16]));
  }
};

void run_avx512() {
  double b[3];
  rounds(b, [](double (&t)[3]) {
    t[0] = horner_avx512<none16>(), t[1] = horner_avx512<vpermps16>(), t[2] = horner_avx512<vpermi2ps32>();
  });
  const double none = b[0], p16 = b[1], p32 = b[2];
  std::printf("AVX-512, ns per 16 values (degree 7, 2 chains):\n");
  std::printf("  none        %6.3f\n  vpermps16   %6.3f  (+%.3f per read)\n", none, p16, (p16 - none) / 8);
  std::printf("  vpermi2ps32 %6.3f  (+%.3f per read)\n", p32, (p32 - none) / 8);
}

#pragma GCC pop_options

}  // namespace

int main() {
  for (int j = 0; j < 8; ++j)
    for (int s = 0; s < 32; ++s) table[j][s] = 1.0f / static_cast<float>(1 + j + s);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) run_avx2();
  else std::printf("no AVX2 + FMA\n");
  if (__builtin_cpu_supports("avx512f")) run_avx512();
  else std::printf("no AVX-512 on this CPU\n");
}
