// Portable math for the per-element algorithms: log and the lower half of the inverse normal CDF,
// templated over a lane policy L (see scalar_lanes.hpp and docs/design.md), plus host-side scalar
// double helpers (exp, normal CDF) for per-call constants.
//
// Rules that make every backend produce the same bits:
//   * only + - * / (each rounded once; builds use -ffp-contract=off / nvcc --fmad=false), fused
//     multiply-adds where the stream format says so (L::fma: one rounding on every backend), the
//     policy's correctly rounded sqrt, selects, bit casts and integer ops;
//   * no data-dependent control flow: every branch is evaluated and the result selected;
//   * constants enter through L::splat(double) (one rounding to the element type, everywhere).
// The policy must provide `using scalar = float;` or `double;` (the element type of L::f).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "sow/config.hpp"
#include "sow/detail/inv_phi32_table.hpp"

namespace sow::detail {

// Small helpers, in their own namespace so generic names cannot collide with other detail headers.
namespace math_impl {

template <class L>
inline constexpr bool is_f64 = sizeof(typename L::scalar) == 8;

// Element type of L::i; integer constants are combined with vectors as scalars of exactly this
// type (GCC rejects scalar->vector conversions that could truncate).
template <class L>
using iscalar_t = std::conditional_t<is_f64<L>, std::int64_t, std::int32_t>;

template <class L>
SOW_HD SOW_FORCEINLINE typename L::f kf(double c) {
  return L::splat(c);
}

template <class L>
SOW_HD SOW_FORCEINLINE typename L::i ki(long long c) {
  // A value-initialised L::i is zero in every lane; adding a scalar broadcasts it.
  return typename L::i{} + static_cast<iscalar_t<L>>(c);
}

// Horner: c0 + x*(c1 + x*(c2 + ...)). Fixed association, so every backend rounds identically.
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f horner(typename L::f, double c0) {
  return L::splat(c0);
}
template <class L, class... R>
SOW_HD SOW_FORCEINLINE typename L::f horner(typename L::f x, double c0, R... rest) {
  return L::splat(c0) + x * horner<L>(x, rest...);
}

}  // namespace math_impl

// ---------------------------------------------------------------------------------------------
// log(x) for finite x > 0 (subnormals included). x <= 0, inf and NaN give unspecified values.
// x = 2^k * m with m in [sqrt(1/2), sqrt(2)); with f = m - 1 (exact) and s = f / (2 + f),
// log(m) = 2 atanh(s) = f - hfsq + s*(hfsq + R),  hfsq = f*f/2,  R = sum_j 2/(2j+1) s^(2j).
// |s| <= 0.1716, so the Taylor series of R truncated at z^4 (float) / z^10 (double), z = s*s,
// leaves a relative error below 0.03 ulp; no fitted coefficients needed.
// ---------------------------------------------------------------------------------------------
// `normal_only`: the caller guarantees x >= the smallest normal number; the subnormal rescaling
// is then skipped (for such x it selects the unscaled value anyway, so the bits are the same).
template <class L, bool normal_only = false>
SOW_HD SOW_FORCEINLINE typename L::f log(typename L::f x) {
  using namespace math_impl;
  using F = typename L::f;
  using I = typename L::i;
  constexpr bool dbl = is_f64<L>;
  constexpr int mbits = dbl ? 52 : 23;
  constexpr long long mant_mask = (1LL << mbits) - 1;
  // Bit pattern of sqrt(1/2): subtracting it makes the exponent field roll over exactly at
  // mantissa sqrt(2), so the mantissa lands in [sqrt(1/2), sqrt(2)).
  constexpr long long sqrt_half = dbl ? 0x3fe6a09e667f3bcdLL : 0x3f3504f3LL;
  // ln2 split so that k*ln2_hi is exact for every k we can see (|k| < 2^8 float, < 2^11 double).
  constexpr double ln2_hi = dbl ? 0x1.62e42fefa38p-1 : 0x1.62e4p-1;
  constexpr double ln2_lo = dbl ? 5.497923018708371e-14 : 1.4286068203094173e-06;

  I k, ix;
  if constexpr (normal_only) {
    ix = L::as_int(x) - ki<L>(sqrt_half);
    k = ix >> mbits;  // arithmetic shift
  } else {
    // Subnormals: scale into the normal range (exact) and correct the exponent afterwards.
    const auto sub = x < kf<L>(dbl ? 0x1p-1022 : 0x1p-126);
    x = L::select(sub, x * kf<L>(dbl ? 0x1p52 : 0x1p23), x);
    ix = L::as_int(x) - ki<L>(sqrt_half);
    k = (ix >> mbits) - L::select_i(sub, ki<L>(mbits), ki<L>(0));
  }
  const F m = L::as_float((ix & ki<L>(mant_mask)) + ki<L>(sqrt_half));

  const F f = m - kf<L>(1.0);
  const F s = f / (kf<L>(2.0) + f);
  const F z = s * s;
  F poly;
  if constexpr (dbl) {
    poly = horner<L>(z, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15, 2.0 / 17,
                     2.0 / 19, 2.0 / 21);
  } else {
    poly = horner<L>(z, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9);
  }
  const F R = z * poly;
  const F hfsq = kf<L>(0.5) * f * f;
  const F dk = L::to_float(k);
  // Small terms first, the exact k*ln2_hi last: keeps the error near 0.5 ulp for k != 0.
  return dk * kf<L>(ln2_hi) - ((hfsq - (s * (hfsq + R) + dk * kf<L>(ln2_lo))) - f);
}

// ---------------------------------------------------------------------------------------------
// Phi^-1(p) for p in (0, 0.5] (result <= 0): Wichura's AS241 (Appl. Statist. 37, 1988),
// PPND16 coefficients for double, PPND7 for float: z = m * N(x) / D(x) with, per lane,
//   central (q = p - 1/2 >= -0.425): x = 0.180625 - q^2, m = q
//   tail, r = sqrt(-log p) <= 5:      x = r - 1.6,        m = -1
//   far tail:                         x = r - 5,          m = -1
// The coefficients are selected per lane and ONE rational function is evaluated: the same
// operations on the same operands as evaluating each branch and selecting (a zero leading
// coefficient pads the shorter float tail denominators exactly: d + x*0 == d), but one division
// instead of three, which measured 1.6x faster for float32 normals with AVX-512 on Zen 4.
// ---------------------------------------------------------------------------------------------
namespace math_impl {
template <class L, int N>
SOW_HD SOW_FORCEINLINE typename L::f horner3(typename L::f x, typename L::mask central, typename L::mask near,
                                             const double (&c)[N], const double (&t1)[N], const double (&t2)[N]) {
  auto coef = [&](int k) { return L::select(central, L::splat(c[k]), L::select(near, L::splat(t1[k]), L::splat(t2[k]))); };
  typename L::f acc = coef(N - 1);
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int k = N - 2; k >= 0; --k) acc = coef(k) + x * acc;
  return acc;
}

// Coefficient tables are literal types used through a local constexpr object (not static member
// arrays) so that host and device code (nvcc) can read them alike.
struct ppnd16 {
  double a[8] = {3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
                                  1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
                                  3.3430575583588128105e+4, 2.5090809287301226727e+3};
  double b[8] = {1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2,
                                  5.3941960214247511077e+3, 2.1213794301586595867e+4, 3.9307895800092710610e+4,
                                  2.8729085735721942674e+4, 5.2264952788528545610e+3};
  double c[8] = {1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
                                  3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
                                  2.27238449892691845833e-2, 7.74545014278341407640e-4};
  double d[8] = {1.0, 2.05319162663775882187e0, 1.67638483018380384940e0,
                                  6.89767334985100004550e-1, 1.48103976427480074590e-1, 1.51986665636164571966e-2,
                                  5.47593808499534494600e-4, 1.05075007164441684324e-9};
  double e[8] = {6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
                                  2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
                                  2.71155556874348757815e-5, 2.01033439929228813265e-7};
  double f[8] = {1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1,
                                  1.48753612908506148525e-2, 7.86869131145613259100e-4, 1.84631831751005468180e-5,
                                  1.42151175831644588870e-7, 2.04426310338993978564e-15};
};
struct ppnd7 {
  double a[4] = {3.3871327179e0, 5.0434271938e1, 1.5929113202e2, 5.9109374720e1};
  double b[4] = {1.0, 1.7895169469e1, 7.8757757664e1, 6.7187563600e1};
  double c[4] = {1.4234372777e0, 2.7568153900e0, 1.3067284816e0, 1.7023821103e-1};
  double d[4] = {1.0, 7.3700164250e-1, 1.2021132975e-1, 0.0};
  double e[4] = {6.6579051150e0, 3.0812263860e0, 4.2868294337e-1, 1.7337203997e-2};
  double f[4] = {1.0, 2.4197894225e-1, 1.2258202635e-2, 0.0};
};
// Horner on segment q of the float32 inverse CDF table with fused multiply-adds: a = c7[q], then
// a = fma(r, a, c_j[q]) for j = 6 .. 0 (stream format 3). A policy may provide horner_table itself
// (AVX2 reads 8 or 16 entries instead of 32 when every lane's segment allows): the same entries in
// the same order, so the same bits, only fewer instructions.
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f table_horner(const inv_phi32_coefs& tab, typename L::i q, typename L::f r) {
  if constexpr (requires { L::horner_table(tab, q, r); }) {
    return L::horner_table(tab, q, r);
  } else {
    typename L::f a = L::lookup32(tab.c[inv_phi32_degree], q);
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int j = inv_phi32_degree - 1; j >= 0; --j) a = L::fma(r, a, L::lookup32(tab.c[j], q));
    return a;
  }
}

template <class L, int N>
SOW_HD SOW_FORCEINLINE typename L::f horner2(typename L::f x, typename L::mask first, const double (&c1)[N],
                                             const double (&c2)[N]) {
  typename L::f acc = L::select(first, L::splat(c1[N - 1]), L::splat(c2[N - 1]));
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int k = N - 2; k >= 0; --k) acc = L::select(first, L::splat(c1[k]), L::splat(c2[k])) + x * acc;
  return acc;
}

}  // namespace math_impl

// float32 Phi^-1(t/2) from t16 = 2^16 t = 2^17 p, t in (0, 1] (stream format 3,
// docs/stream-format.md section 5; the normal transform makes t16 directly from its word, section
// 4, and the truncated normal from p, both exactly). Where t >= 0.75 * 2^-31 (every normal but the
// two words with |z| = 6.34): a degree-7 polynomial in r = (e - t) 2^16 >= 0 on one of 32 segments
// q, [0.75, 1.5) * 2^(q-31) cut at 1 (e the segment's end), picked by the exponent of t16 after
// adding half a mantissa (bits + 0x400000 carries from 1.5 on). No log, no division: 2 integer ops
// pick the segment, 5 make r, 8 table reads and 7 fused multiply-adds evaluate it. The segments
// straddle the binades so that the last one, next to z = 0 where a relative fit is hardest, is
// [0.75, 1]: there degree 7 reaches ~1e-7 where a whole binade needed degree 8. The scale 2^16 on
// r keeps every coefficient a normal float32 (2^-115 .. 2^99: inv_phi32_table.hpp). The table's c0
// are set so that |z| never steps back across a segment boundary (checked with every input by
// tests/cpp/test_inv_phi32.cpp, with monotonicity inside each segment). t = 1 and t just above 1
// (trunc_normal's q may round past 1/2) join the last segment, whose c0 = 0 makes z(1) = 0
// exactly. Smaller t (the normal's words 0 and ~0, trunc_normal's deep tails; p >= 2^-125 always,
// smaller tail masses take the float64 path) take AS241 PPND7's tail, evaluated only where some
// lane needs it.
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f inv_phi_lower_t16(typename L::f t16) {
  using namespace math_impl;
  using F = typename L::f;
  using I = typename L::i;
  static_assert(!is_f64<L>, "float32 only");
  const I up = L::as_int(t16) + ki<L>(0x400000);  // half a mantissa: carries from 1.5 on
  const I q = (up >> 23) - ki<L>(112);            // the segment: 0 .. 31 where t16 >= 0.75 * 2^-15
  // The segment's end: 1.5 * 2^(q - 15) in t16, from the carried exponent; 2^16 (t = 1) at most.
  F end = L::as_float((up & ki<L>(0x7f800000)) | ki<L>(0x400000));
  end = L::select(end < kf<L>(0x1p16), end, kf<L>(0x1p16));
  const F r = end - t16;  // exact (Sterbenz): end / 2 <= t16 <= end in the segment
  F z = -math_impl::table_horner<L>(inv_phi32_table(), q, r);
  const auto tail = t16 < kf<L>(0x1.8p-16);
  // Lanes that do not need the tail keep the table's value either way: this changes no bit,
  // only the cost.
  if (L::any(tail)) {
    const F rt = L::sqrt(-detail::log<L, true>(t16 * kf<L>(0x1p-17)));
    const auto near = rt <= kf<L>(5.0);
    const F x = L::select(near, rt - kf<L>(1.6), rt - kf<L>(5.0));
    constexpr ppnd7 c{};
    z = L::select(tail, -(horner2<L>(x, near, c.c, c.e) / horner2<L>(x, near, c.d, c.f)), z);
  }
  return z;
}

/// inv_phi_lower_t16 of t16 = 2^16 t (exact for every t the transforms give).
template <class L>
SOW_HD SOW_FORCEINLINE typename L::f inv_phi_lower_t(typename L::f t) {
  return inv_phi_lower_t16<L>(t * math_impl::kf<L>(0x1p16));
}

template <class L>
SOW_HD SOW_FORCEINLINE typename L::f inv_phi_lower(typename L::f p) {
  using namespace math_impl;
  using F = typename L::f;
  if constexpr (is_f64<L>) {
    const F q = p - kf<L>(0.5);
    const F r = L::sqrt(-detail::log<L>(p));  // p <= 0.5, so -log(p) > 0 in every lane
    const auto central = q >= kf<L>(-0.425);
    const auto near = r <= kf<L>(5.0);
    const F x = L::select(central, kf<L>(0.180625) - q * q, L::select(near, r - kf<L>(1.6), r - kf<L>(5.0)));
    const F m = L::select(central, q, kf<L>(-1.0));
    constexpr ppnd16 k{};
    return m * horner3<L>(x, central, near, k.a, k.c, k.e) / horner3<L>(x, central, near, k.b, k.d, k.f);
  } else {
    return inv_phi_lower_t16<L>(p * kf<L>(0x1p17));
  }
}

// ---------------------------------------------------------------------------------------------
// Host-side scalar double helpers (per-call constants such as Phi at truncation bounds).
// Speed is irrelevant here, accuracy is not: they work in double-double arithmetic (error-free
// transforms built from + - * only; no FMA assumed) and round once at the end.
// ---------------------------------------------------------------------------------------------
namespace dd {

struct num {
  double hi, lo;  // value hi + lo, |lo| <= ulp(hi)/2
};

SOW_HD inline num two_sum(double a, double b) {  // exact: a + b == hi + lo
  const double s = a + b, bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
SOW_HD inline num fast_two_sum(double a, double b) {  // exact when |a| >= |b|
  const double s = a + b;
  return {s, b - (s - a)};
}
SOW_HD inline num two_prod(double a, double b) {  // exact (Dekker), for |a|,|b| < 2^995
  const double ca = 134217729.0 * a, cb = 134217729.0 * b;  // 2^27 + 1 splits into 26+27 bits
  const double ah = ca - (ca - a), al = a - ah, bh = cb - (cb - b), bl = b - bh;
  const double p = a * b;
  return {p, ((ah * bh - p) + ah * bl + al * bh) + al * bl};
}
SOW_HD inline num neg(num a) { return {-a.hi, -a.lo}; }
SOW_HD inline num add(num a, num b) {
  num s = two_sum(a.hi, b.hi);
  const num t = two_sum(a.lo, b.lo);
  s = fast_two_sum(s.hi, s.lo + t.hi);
  return fast_two_sum(s.hi, s.lo + t.lo);
}
SOW_HD inline num mul(num a, num b) {
  const num p = two_prod(a.hi, b.hi);
  return fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}
SOW_HD inline num div(num a, num b) {  // three quotient digits: ~2^-104 relative
  const double q1 = a.hi / b.hi;
  num r = add(a, neg(mul(b, {q1, 0.0})));
  const double q2 = r.hi / b.hi;
  r = add(r, neg(mul(b, {q2, 0.0})));
  const double q3 = r.hi / b.hi;
  return add(fast_two_sum(q1, q2), {q3, 0.0});
}

SOW_HD inline double pow2(int k) {  // 2^k for -1022 <= k <= 1023, from its bit pattern
  const std::uint64_t bits = static_cast<std::uint64_t>(k + 1023) << 52;
  double r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
// v * 2^k with a single rounding for |v| in [2^-20, 4] and any k (two exact/one rounding steps).
SOW_HD inline double scale2(double v, int k) {
  k = k < -1300 ? -1300 : (k > 1300 ? 1300 : k);  // beyond these the result is 0 / inf anyway
  if (k < -1022) return v * pow2(k + 300) * pow2(-300);  // first product exact, second rounds
  if (k > 1023) return v * pow2(k - 300) * pow2(300);
  return v * pow2(k);
}

// exp(x) = m * 2^k with m in [~0.7, ~1.42], as double-double; |x| < ~2^30.
SOW_HD inline num exp_split(num x, int& k) {
  const num ln2{0.6931471805599453, 2.3190468138462996e-17};
  const double t = x.hi * 1.4426950408889634;
  const double kd = static_cast<double>(static_cast<long long>(t < 0 ? t - 0.5 : t + 0.5));
  const num r = add(x, neg(mul({kd, 0.0}, ln2)));  // |r| <= ~0.35
  num sum{1.0, 0.0}, term{1.0, 0.0};
  for (int n = 1; n <= 26; ++n) {  // 0.35^27/27! < 2^-140
    term = div(mul(term, r), {static_cast<double>(n), 0.0});
    sum = add(sum, term);
  }
  k = static_cast<int>(kd);
  return sum;
}

}  // namespace dd

// exp(x), <= ~0.5 ulp + a double rounding only for subnormal results; overflow -> inf, NaN -> NaN.
SOW_HD inline double exp_portable(double x) {
  if (!(x == x)) return x;
  if (x > 710.0) return 0x1p1023 * 2.0;  // inf
  if (x < -746.0) return 0.0;
  int k;
  const dd::num m = dd::exp_split({x, 0.0}, k);
  return dd::scale2(m.hi, k);  // m is normalised: m.hi is m rounded to double
}

// Standard normal CDF with full relative accuracy in the lower tail (x <= 0, down to the
// underflow near x = -38.5). Phi(x) = 1/2 + sign(x) phi(t) S(t) with t = |x| and the all-positive
// series S(t) = sum t^(2n+1)/(2n+1)!! for t < 3; for t >= 3 the Mills ratio continued fraction
// Q(t) = phi(t) / (t + 1/(t + 2/(t + 3/(t + ...)))), evaluated backward from a fixed depth.
SOW_HD inline double phi(double x) {
  if (!(x == x)) return x;
  if (x < -40.0) return 0.0;  // Phi(-40) ~ 4e-350: below half the smallest subnormal
  if (x > 9.0) return 1.0;    // 1 - Phi(9) ~ 1e-19 < 2^-54
  const double t = x < 0 ? -x : x;
  const dd::num t2 = dd::two_prod(t, t);  // exact t^2: exp(-t^2/2) must not see its rounding
  int k;
  // phi(t) = g * 2^k; g stays normal even where phi(t) itself would be subnormal.
  const dd::num g = dd::mul(dd::exp_split({-0.5 * t2.hi, -0.5 * t2.lo}, k),
                            {0.3989422804014327, -2.49232720227773e-17});  // 1/sqrt(2 pi)
  if (t < 3.0) {
    dd::num term{t, 0.0}, s{t, 0.0};
    for (int n = 1; n < 200; ++n) {  // ratio t^2/(2n+1): < 1e-35 relative well before n = 200
      term = dd::div(dd::mul(term, t2), {2.0 * n + 1.0, 0.0});
      s = dd::add(s, term);
    }
    const dd::num v = dd::mul(dd::mul(g, s), {dd::pow2(k), 0.0});  // k >= -7: exact
    return dd::add({0.5, 0.0}, x < 0 ? dd::neg(v) : v).hi;
  }
  dd::num f{t, 0.0};
  for (int n = 600; n >= 1; --n) f = dd::add({t, 0.0}, dd::div({static_cast<double>(n), 0.0}, f));
  const dd::num q = dd::div(g, f);  // Q(t) / 2^k
  if (x < 0) return dd::scale2(q.hi, k);
  return dd::add({1.0, 0.0}, dd::neg(dd::mul(q, {dd::pow2(k), 0.0}))).hi;  // t <= 9: k >= -59
}

// 1 - Phi(x), accurate (relative) for x >= 0.
SOW_HD inline double phi_upper(double x) { return phi(-x); }

}  // namespace sow::detail
