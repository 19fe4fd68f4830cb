// Standalone harness for sow/detail/math.hpp (driven by tests/cpp/check_math.py).
//
//   test_math eval <fn> <in.bin> <out.bin>   fn: logf invf (float32 in/out), logd invd exp phi phiu
//                                            (float64 in/out); raw little-endian arrays
//   test_math vec <n>                        (AVX-512 builds) vector policy vs scalar, bit for bit,
//                                            on n random inputs per function
//   test_math exhaustive                     (AVX-512 builds) every positive float: logf and
//                                            inv_phi_lower<float> vector == scalar; logf max ulp
//                                            error against libm's double log
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sow/detail/math.hpp"
#include "sow/detail/scalar_lanes.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace sd = sow::detail;
using SF = sd::scalar_lanes<float>;
using SD = sd::scalar_lanes<double>;

template <class T>
static std::vector<T> read_all(const char* path) {
  std::FILE* fp = std::fopen(path, "rb");
  if (!fp) { std::perror(path); std::exit(2); }
  std::fseek(fp, 0, SEEK_END);
  const long n = std::ftell(fp) / static_cast<long>(sizeof(T));
  std::fseek(fp, 0, SEEK_SET);
  std::vector<T> v(static_cast<size_t>(n));
  if (std::fread(v.data(), sizeof(T), v.size(), fp) != v.size()) { std::perror("read"); std::exit(2); }
  std::fclose(fp);
  return v;
}

template <class T>
static void write_all(const char* path, const std::vector<T>& v) {
  std::FILE* fp = std::fopen(path, "wb");
  if (!fp || std::fwrite(v.data(), sizeof(T), v.size(), fp) != v.size()) { std::perror(path); std::exit(2); }
  std::fclose(fp);
}

template <class T, class Fn>
static void eval_file(const char* in, const char* out, Fn fn) {
  std::vector<T> x = read_all<T>(in);
  for (T& v : x) v = fn(v);
  write_all(out, x);
}

static int eval(const std::string& fn, const char* in, const char* out) {
  if (fn == "logf") eval_file<float>(in, out, [](float v) { return sd::log<SF>(v); });
  else if (fn == "invf") eval_file<float>(in, out, [](float v) { return sd::inv_phi_lower<SF>(v); });
  else if (fn == "logd") eval_file<double>(in, out, [](double v) { return sd::log<SD>(v); });
  else if (fn == "invd") eval_file<double>(in, out, [](double v) { return sd::inv_phi_lower<SD>(v); });
  else if (fn == "exp") eval_file<double>(in, out, [](double v) { return sd::exp_portable(v); });
  else if (fn == "phi") eval_file<double>(in, out, [](double v) { return sd::phi(v); });
  else if (fn == "phiu") eval_file<double>(in, out, [](double v) { return sd::phi_upper(v); });
  else { std::fprintf(stderr, "unknown fn %s\n", fn.c_str()); return 2; }
  return 0;
}

#if defined(__AVX512F__)
// Minimal GCC-vector lane policies, as the SIMD kernels would define them.
typedef float v16f __attribute__((vector_size(64)));
typedef std::int32_t v16i __attribute__((vector_size(64)));
typedef std::uint32_t v16u __attribute__((vector_size(64)));
typedef double v8d __attribute__((vector_size(64)));
typedef std::int64_t v8l __attribute__((vector_size(64)));
typedef std::uint64_t v8u __attribute__((vector_size(64)));

struct vec_f32 {
  using scalar = float;
  using f = v16f;
  using i = v16i;
  using u = v16u;
  using mask = v16i;  // what a comparison of two v16f yields
  static f sqrt(f x) { return (f)_mm512_maskz_sqrt_ps(0xFFFF, (__m512)x); }
  static f select(mask m, f a, f b) { return m ? a : b; }  // GCC vector ?: (C++ only)
  static i select_i(mask m, i a, i b) { return m ? a : b; }
  static bool any(mask m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
  static i as_int(f x) { return (i)x; }  // same-size vector cast = bit cast
  static f as_float(i x) { return (f)x; }
  static f to_float(i x) { return __builtin_convertvector(x, f); }
  static f splat(double c) { return (f)_mm512_set1_ps(static_cast<float>(c)); }
  static f lookup32(const float* t, i k) {
    return (f)_mm512_permutex2var_ps(_mm512_loadu_ps(t), (__m512i)k, _mm512_loadu_ps(t + 16));
  }
  static f fma(f a, f b, f c) { return (f)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c); }
};

struct vec_f64 {
  using scalar = double;
  using f = v8d;
  using i = v8l;
  using u = v8u;
  using mask = v8l;
  static f sqrt(f x) { return (f)_mm512_maskz_sqrt_pd(0xFF, (__m512d)x); }
  static f select(mask m, f a, f b) { return m ? a : b; }
  static i select_i(mask m, i a, i b) { return m ? a : b; }
  static bool any(mask m) { return _mm512_test_epi64_mask((__m512i)m, (__m512i)m) != 0; }
  static i as_int(f x) { return (i)x; }
  static f as_float(i x) { return (f)x; }
  static f to_float(i x) { return __builtin_convertvector(x, f); }  // vcvtqq2pd (AVX-512DQ)
  static f splat(double c) { return (f)_mm512_set1_pd(c); }
};

static std::uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static std::uint64_t rnd() {  // splitmix64
  std::uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static float bits_f(std::uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }
static double bits_d(std::uint64_t b) { double f; std::memcpy(&f, &b, 8); return f; }
static std::uint32_t fbits(float f) { std::uint32_t b; std::memcpy(&b, &f, 4); return b; }
static std::uint64_t dbits(double f) { std::uint64_t b; std::memcpy(&b, &f, 8); return b; }

// Compare vector and scalar results on x (size a multiple of the lane count); returns mismatches.
template <class V, class S, class T, class FnV, class FnS>
static long long compare(const std::vector<T>& x, FnV fv, FnS fs, const char* name) {
  constexpr int W = 64 / sizeof(T);
  long long bad = 0;
  for (size_t j = 0; j + W <= x.size(); j += W) {
    typename V::f v;
    std::memcpy(&v, &x[j], 64);
    v = fv(v);
    T out[W];
    std::memcpy(out, &v, 64);
    for (int l = 0; l < W; ++l) {
      const T ref = fs(x[j + l]);
      if (std::memcmp(&ref, &out[l], sizeof(T)) != 0 && bad++ < 5)
        std::printf("  %s mismatch x=%a vec=%a scalar=%a\n", name, (double)x[j + l], (double)out[l],
                    (double)ref);
    }
  }
  std::printf("%-28s %12zu inputs  %lld mismatches\n", name, x.size(), bad);
  return bad;
}

static int vec(long long n) {
  n = (n + 15) / 16 * 16;
  std::vector<float> lf, pf;
  std::vector<double> ld, pd;
  const std::uint32_t half_f = fbits(0.5f);
  const std::uint64_t half_d = dbits(0.5);
  for (long long j = 0; j < n; ++j) {
    const std::uint64_t r = rnd();
    // log: any positive finite (uniform over bit patterns: every binade, subnormals included).
    lf.push_back(bits_f(1 + static_cast<std::uint32_t>(r % 0x7f7fffffu)));
    ld.push_back(bits_d(1 + (r >> 1) % 0x7fefffffffffffffull));
    // inv_phi: half uniform over bit patterns in (0, 0.5], half uniform in value.
    if (j & 1) {
      pf.push_back(bits_f(1 + static_cast<std::uint32_t>(r % half_f)));
      pd.push_back(bits_d(1 + (r >> 1) % half_d));
    } else {
      pf.push_back(static_cast<float>((r >> 40) + 1) * 0x1p-25f);  // (0, 0.5]
      pd.push_back(static_cast<double>((r >> 11) + 1) * 0x1p-54);
    }
  }
  long long bad = 0;
  bad += compare<vec_f32, SF>(lf, [](v16f v) { return sd::log<vec_f32>(v); },
                              [](float s) { return sd::log<SF>(s); }, "log<float> x16");
  bad += compare<vec_f64, SD>(ld, [](v8d v) { return sd::log<vec_f64>(v); },
                              [](double s) { return sd::log<SD>(s); }, "log<double> x8");
  bad += compare<vec_f32, SF>(pf, [](v16f v) { return sd::inv_phi_lower<vec_f32>(v); },
                              [](float s) { return sd::inv_phi_lower<SF>(s); }, "inv_phi_lower<float> x16");
  bad += compare<vec_f64, SD>(pd, [](v8d v) { return sd::inv_phi_lower<vec_f64>(v); },
                              [](double s) { return sd::inv_phi_lower<SD>(s); }, "inv_phi_lower<double> x8");
  std::printf("VEC_TOTAL_MISMATCHES %lld\n", bad);
  return bad ? 1 : 0;
}

static int exhaustive() {
  long long bad_log = 0, bad_inv = 0;
  double max_ulp = 0, worst = 0;
  const std::uint32_t top = 0x7f800000u, half = fbits(0.5f);
  for (std::uint32_t b = 1; b < top; b += 16) {
    alignas(64) float in[16], out_l[16], out_p[16];
    for (int l = 0; l < 16; ++l) in[l] = bits_f(b + l < top ? b + l : 1);
    v16f v;
    std::memcpy(&v, in, 64);
    const v16f vl = sd::log<vec_f32>(v), vp = sd::inv_phi_lower<vec_f32>(v);
    std::memcpy(out_l, &vl, 64);
    std::memcpy(out_p, &vp, 64);
    for (int l = 0; l < 16; ++l) {
      const float s = sd::log<SF>(in[l]);
      if (fbits(s) != fbits(out_l[l])) ++bad_log;
      if (b + l <= half && fbits(sd::inv_phi_lower<SF>(in[l])) != fbits(out_p[l])) ++bad_inv;
      const double ref = std::log(static_cast<double>(in[l]));
      const float rf = static_cast<float>(ref);
      const double ulp = rf == 0.0f ? 0x1p-149 : std::fabs(static_cast<double>(std::nextafter(rf, 2 * rf)) - rf);
      const double e = std::fabs(static_cast<double>(s) - ref) / ulp;
      if (e > max_ulp) { max_ulp = e; worst = in[l]; }
    }
  }
  std::printf("exhaustive log<float>: vec/scalar mismatches %lld, max err %.3f ulp at x=%a\n", bad_log,
              max_ulp, worst);
  std::printf("exhaustive inv_phi_lower<float> (0,0.5]: vec/scalar mismatches %lld\n", bad_inv);
  std::printf("EXH_LOGF_MAX_ULP %.6f\nEXH_MISMATCHES %lld\n", max_ulp, bad_log + bad_inv);
  return (bad_log + bad_inv) ? 1 : 0;
}
#endif

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "eval") return eval(argv[2], argv[3], argv[4]);
#if defined(__AVX512F__)
  if (argc >= 3 && std::string(argv[1]) == "vec") return vec(std::atoll(argv[2]));
  if (argc >= 2 && std::string(argv[1]) == "exhaustive") return exhaustive();
#endif
  std::fprintf(stderr, "usage: test_math eval <fn> <in> <out> | vec <n> | exhaustive\n");
  return 2;
}
