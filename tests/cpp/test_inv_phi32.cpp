// Exhaustive check of stream format 3's float32 standard normal (docs/stream-format.md sections
// 4-5), run by tests/test_inv_phi32.py. With the scalar lane policy (the reference every SIMD
// kernel and the CUDA kernel are tested against bit for bit):
//   * every 32-bit word x: z(x) is non-decreasing in x, and z(~x) == -z(x) bit for bit;
//   * every distinct t the word map produces: |z - Phi^-1(t/2)| / |Phi^-1(t/2)| against sow's
//     float64 inverse CDF (AS241 PPND16, 6e-16 relative: tests/cpp/check_math.py), max reported;
//   * every float32 t in [0.75 * 2^-31, 1] (the table's whole domain, which trunc_normal reaches
//     with any p): monotone and the same error bound; below it (PPND7's tail, which of the
//     normal's words only 0 and ~0 reach) every 61st float.
// Prints the measured maxima and "ok" / "FAIL ..." lines; exit status 1 on any failure.
//   test_inv_phi32 <max_rel_err_words> <max_rel_err_table> <max_rel_err_tail> [threads]
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "sow/detail/math.hpp"
#include "sow/detail/scalar_lanes.hpp"
#include "sow/detail/transform.hpp"

namespace sd = sow::detail;
using SF = sd::scalar_lanes<float>;
using SD = sd::scalar_lanes<double>;

static std::uint32_t fbits(float f) { std::uint32_t b; std::memcpy(&b, &f, 4); return b; }
static float bits_f(std::uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }

static double rel_err(float t) {
  const double ref = sd::inv_phi_lower<SD>(static_cast<double>(t) * 0.5);  // t/2 exact
  const double z = sd::inv_phi_lower_t<SF>(t);
  if (ref == 0) return z == 0 ? 0.0 : 1.0;
  return std::fabs(z - ref) / std::fabs(ref);
}

template <class Fn>
static void parallel(unsigned threads, std::uint64_t n, Fn fn) {  // fn(begin, end, thread index)
  std::vector<std::thread> pool;
  for (unsigned k = 0; k < threads; ++k)
    pool.emplace_back([=] { fn(n * k / threads, n * (k + 1) / threads, k); });
  for (auto& th : pool) th.join();
}

int main(int argc, char** argv) {
  if (argc < 4) { std::fprintf(stderr, "usage: test_inv_phi32 <max_rel_err_words> <max_rel_err_table> <max_rel_err_tail> [threads]\n"); return 2; }
  const double bound = std::atof(argv[1]), table_bound = std::atof(argv[2]), tail_bound = std::atof(argv[3]);
  const unsigned threads = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 2;
  bool ok = true;

  // 1. The word map: t(y) = float(y) 2^-31 + 2^-32 with y = x & 0x7fffffff, or its complement
  // where x has the sign bit. Every x: y(~x) == y(x) (so ~x has the same t and, by the sign xor,
  // the negated z), and t is non-decreasing in y over all 2^31 y. Then z(x) is non-decreasing in
  // x iff z is non-decreasing over the distinct t (part 2 below 2^-16, part 3 from the table's
  // start; the two overlap).
  std::atomic<std::uint64_t> bad_map{0};
  auto t_of = [](std::uint32_t x) {
    const std::int32_t xi = static_cast<std::int32_t>(x);
    const std::int32_t y = (xi ^ (xi >> 31)) & 0x7fffffff;
    return static_cast<float>(y) * 0x1p-31f + 0x1p-32f;
  };
  parallel(threads, std::uint64_t{1} << 31, [&](std::uint64_t b, std::uint64_t e, unsigned) {
    std::uint64_t m = 0;
    float prev = b ? t_of(static_cast<std::uint32_t>(b - 1)) : 0.0f;
    for (std::uint64_t x = b; x < e; ++x) {
      const std::uint32_t w = static_cast<std::uint32_t>(x);
      const float t = t_of(w);
      m += (t < prev) + (fbits(t_of(~w)) != fbits(t));
      prev = t;
    }
    bad_map += m;
  });
  std::printf("word_map_failures %llu\n", static_cast<unsigned long long>(bad_map.load()));
  if (bad_map) { std::printf("FAIL word map\n"); ok = false; }

  // 2. Each distinct t of the word map, through std_normal itself at a word y that makes it:
  // z(y) == inv_phi_lower_t(t), z(~y) == -z(y) bit for bit; below 2^-16 (y < 2^15) also monotone
  // and accurate here (part 3 covers every float above). float(y) takes every integer below 2^24,
  // then every float32 up to 2^31.
  std::atomic<std::uint64_t> bad_sym{0};
  std::vector<double> worst(threads, 0.0);
  std::vector<float> worst_t(threads, 0.0f);
  const std::uint64_t n_small = std::uint64_t{1} << 24, n_big = fbits(0x1p31f) - fbits(0x1p24f);
  parallel(threads, n_small + n_big, [&](std::uint64_t b, std::uint64_t e, unsigned k) {
    std::uint64_t m = 0;
    for (std::uint64_t i = b; i < e; ++i) {
      const std::uint32_t y = i < n_small ? static_cast<std::uint32_t>(i)
                                          : static_cast<std::uint32_t>(bits_f(fbits(0x1p24f) + static_cast<std::uint32_t>(i - n_small)));
      const float t = t_of(y);
      const float z = sd::std_normal<SF>(y);
      m += (fbits(z) != fbits(sd::inv_phi_lower_t<SF>(t))) + (fbits(sd::std_normal<SF>(~y)) != (fbits(z) ^ 0x80000000u));
      if (y < (1u << 15)) {
        m += y && z < sd::std_normal<SF>(y - 1);
        const double r = rel_err(t);
        if (r > worst[k]) worst[k] = r, worst_t[k] = t;
      }
    }
    bad_sym += m;
  });
  double w_words = 0; float t_words = 0;
  for (unsigned k = 0; k < threads; ++k) if (worst[k] > w_words) w_words = worst[k], t_words = worst_t[k];
  std::printf("word_failures %llu\nz_at_word_0 %.9g z_at_word_ffffffff %.9g\nmax_rel_err_words_below_2^-16 %.4g at t=%a\n",
              static_cast<unsigned long long>(bad_sym.load()), sd::std_normal<SF>(0u), sd::std_normal<SF>(~0u), w_words, t_words);
  if (bad_sym || !(w_words <= bound)) { std::printf("FAIL words\n"); ok = false; }

  // 3. Every float32 t in [0.75 * 2^-31, 1], the table's domain: monotone and accurate
  // (trunc_normal may reach any p).
  std::fill(worst.begin(), worst.end(), 0.0);
  std::atomic<std::uint64_t> bad_t{0};
  const std::uint32_t t_lo = fbits(0x1.8p-32f), t_hi = fbits(1.0f);
  parallel(threads, t_hi - t_lo + 1, [&](std::uint64_t b, std::uint64_t e, unsigned k) {
    std::uint64_t m = 0;
    float prev = sd::inv_phi_lower_t<SF>(bits_f(static_cast<std::uint32_t>(t_lo + b - (b ? 1 : 0))));
    for (std::uint64_t i = b; i < e; ++i) {
      const float t = bits_f(static_cast<std::uint32_t>(t_lo + i));
      const float z = sd::inv_phi_lower_t<SF>(t);
      if (z < prev) ++m;
      prev = z;
      const double r = rel_err(t);
      if (r > worst[k]) worst[k] = r, worst_t[k] = t;
    }
    bad_t += m;
  });
  double w_table = 0; float t_table = 0;
  for (unsigned k = 0; k < threads; ++k) if (worst[k] > w_table) w_table = worst[k], t_table = worst_t[k];
  std::printf("table_steps_back %llu\nmax_rel_err_table %.4g at t=%a\n", static_cast<unsigned long long>(bad_t.load()),
              w_table, t_table);
  if (bad_t || !(w_table <= table_bound)) { std::printf("FAIL table domain\n"); ok = false; }

  // The step from the tail into the table over the words: y = 0 (t = 2^-32) is the tail's only
  // word, y = 1 (t = 0.75 * 2^-31) the table's first. (Floats strictly between, which only
  // trunc_normal reaches, are PPND7's and may lie above the table's first value by ~1e-6: the
  // format promises monotonicity in the word, and over the table's own domain.)
  if (!(sd::inv_phi_lower_t<SF>(t_of(0)) <= sd::inv_phi_lower_t<SF>(t_of(1)))) {
    std::printf("FAIL tail -> table step\n");
    ok = false;
  }

  // 4. The tail below 0.75 * 2^-31 down to 2^-124 (trunc_normal's smallest float32 t): every
  // 61st float.
  std::fill(worst.begin(), worst.end(), 0.0);
  const std::uint32_t s_lo = fbits(0x1p-124f), s_hi = t_lo;
  parallel(threads, (s_hi - s_lo) / 61, [&](std::uint64_t b, std::uint64_t e, unsigned k) {
    for (std::uint64_t i = b; i < e; ++i) {
      const float t = bits_f(static_cast<std::uint32_t>(s_lo + 61 * i));
      const double r = rel_err(t);
      if (r > worst[k]) worst[k] = r, worst_t[k] = t;
    }
  });
  double w_tail = 0; float t_tail = 0;
  for (unsigned k = 0; k < threads; ++k) if (worst[k] > w_tail) w_tail = worst[k], t_tail = worst_t[k];
  std::printf("max_rel_err_tail %.4g at t=%a\n", w_tail, t_tail);
  if (!(w_tail <= tail_bound)) { std::printf("FAIL tail\n"); ok = false; }

  std::printf(ok ? "ok\n" : "FAIL\n");
  return ok ? 0 : 1;
}
