// The rule that no value a fill can produce overflows its output dtype (docs/stream-format.md
// section 5, "Value range"). It lives here once and runs from detail::prepare_for (layout.hpp),
// so the CPU engine, the CUDA launchers, sow::check_dist and (through the initializers) the C ABI
// refuse exactly the same calls; callers only supply the names. Installed under sow/detail/ (no
// API promise) with layout.hpp, which the CUDA launchers include.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "sow/detail/scalar_lanes.hpp"
#include "sow/detail/transform.hpp"
#include "sow/dist.hpp"
#include "sow/fill.hpp"
#include "sow/round.hpp"

namespace sow::detail {

inline const char* dtype_name(dtype t) {
  switch (t) {
    case dtype::float32: return "float32";
    case dtype::float64: return "float64";
    case dtype::float16: return "float16";
    case dtype::bfloat16: return "bfloat16";
  }
  return "?";
}

/// The largest finite value of `t`.
inline double dtype_max(dtype t) {
  switch (t) {
    case dtype::float64: return std::numeric_limits<double>::max();
    case dtype::float16: return 65504.0;
    case dtype::bfloat16: return 0x1.fep127;
    case dtype::float32: break;
  }
  return std::numeric_limits<float>::max();
}

/// Whether the working-precision value `v` (a float for every dtype but float64) is stored in
/// `t` as +-inf or NaN, with the rounding the kernels use (stream format section 6).
inline bool stores_non_finite(double v, dtype t) {
  if (!std::isfinite(v)) return true;
  switch (t) {
    case dtype::float64:
    case dtype::float32: return false;  // v is already a finite value of the working type
    case dtype::float16: return (to_float16_bits(static_cast<float>(v)) & 0x7c00u) == 0x7c00u;
    case dtype::bfloat16: return (to_bfloat16_bits(static_cast<float>(v)) & 0x7f80u) == 0x7f80u;
  }
  return true;
}

// Magnitudes for messages: five significant digits (enough to tell 65522 from float16's 65504),
// in long double where it has a wider range than double (x86): "reach 8.2924e+308", not "inf".
inline std::string short_num(long double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.5Lg", v);
  return buf;
}

// The two stream words at which a kind's value is smallest and largest, and the values there.
//
// Why the extreme values come from these words (checked exhaustively where the word space
// allows it, tests/test_value_ranges.py and the report of issue 9):
//   uniform: v = mid + half*s with s increasing in x >> 8 (x >> 11 for float64) and half >= 0;
//     each rounding is monotone, so v is non-decreasing in the word: words 0 and all ones.
//   normal: v = mean + std*z, non-decreasing in z (std >= 0, monotone roundings). float32 (stream
//     format 3): z is non-decreasing in the whole 32-bit word (checked over every word by
//     tests/cpp/test_inv_phi32.cpp), |z| <= 6.33795834 at words 0 and all ones, as for uniform.
//     float64: |z| is largest at the smallest tail probability p = 2^-54 (bits y = 0); the next
//     p is 3 times larger and moves |z| by far more than the transform's 6e-16 relative error,
//     so |z| <= 8.2923610758135951 at words 0 and the sign bit alone.
//   trunc_normal: v = clamp(mean + std*z(u), a', b') with z(u) the truncated inverse CDF,
//     increasing (decreasing when mirrored) in u, u from words 0 and all ones. In a narrow
//     interval consecutive u can move z by less than the inverse CDF's last-bit wobble, so an
//     inner word may beat an end by an ulp or two: where a bound itself does not fit the dtype,
//     the end value must fit with a relative margin of 2^-20 (8 float32 ulps) to spare. Where a
//     bound fits, the clamp keeps every value within it.
struct extremes {
  double lo, hi;            // smallest and largest value, working precision
  long double lo_r, hi_r;   // the same before rounding, for messages: base + scale * z
};

template <class T>
struct word_pair;
template <>
struct word_pair<float> {  // normal_hi: the word of the largest normal value
  static constexpr std::uint32_t zero = 0, ones = 0xffffffffu, normal_hi = ones;
};
template <>
struct word_pair<double> {
  static constexpr std::uint64_t zero = 0, ones = ~std::uint64_t{0}, normal_hi = std::uint64_t{1} << 63;
};

/// The value of `p` at stream word `x` in the working precision T, exactly as the scalar kernel
/// (simd/kernel_scalar.cpp) computes it, from the constants `c` (and `cd` for the float64 path of
/// deep float32 trunc_normal intervals).
template <class T>
double value_at(const prepared_dist& p, const dist_consts<T>& c, const dist_consts<double>& cd,
                typename scalar_lanes<T>::u x) {
  using L = scalar_lanes<T>;
  switch (p.kind) {
    case dist_kind::uniform: return uniform_value<L>(x, c);
    case dist_kind::normal: return normal_value<L>(x, c);
    case dist_kind::trunc_normal:
      if constexpr (sizeof(T) == 4)
        if (p.trunc_f32_in_f64)  // the same u, in float64, rounded once
          return static_cast<float>(trunc_normal_from_u<scalar_lanes<double>>(open_uniform<L>(x), cd));
      return trunc_normal_value<L>(x, c);
    case dist_kind::constant: break;
  }
  return c.value;
}

/// value_at for an output of dtype `type`: `word` is the element's 32-bit word, or for float64
/// its 64-bit pair word(2g) + 2^32 word(2g+1) (stream format section 3).
inline double working_value(const prepared_dist& p, dtype type, std::uint64_t word) {
  if (type == dtype::float64) return value_at<double>(p, p.d, p.d, word);
  return value_at<float>(p, p.f, p.d, static_cast<std::uint32_t>(word));
}

template <class T>
extremes end_values(const prepared_dist& p, const dist& d) {
  using W = word_pair<T>;
  const dist_consts<T>& c = [&]() -> const dist_consts<T>& {
    if constexpr (sizeof(T) == 8) return p.d; else return p.f;
  }();
  // The standardized values (mean 0, std 1, no clamp) give the unrounded reach for messages.
  dist_consts<T> unit = c;
  unit.mid = 0, unit.half = 1, unit.mean = 0, unit.std = 1;
  unit.lo = -std::numeric_limits<T>::infinity(), unit.hi = std::numeric_limits<T>::infinity();
  dist_consts<double> unit_d = p.d;
  unit_d.mean = 0, unit_d.std = 1, unit_d.lo = -HUGE_VAL, unit_d.hi = HUGE_VAL;
  const typename scalar_lanes<T>::u w0 = W::zero, w1 = p.kind == dist_kind::normal ? W::normal_hi : W::ones;
  double v0 = value_at<T>(p, c, p.d, w0), v1 = value_at<T>(p, c, p.d, w1);
  double z0 = value_at<T>(p, unit, unit_d, w0), z1 = value_at<T>(p, unit, unit_d, w1);
  if (z1 < z0) std::swap(z0, z1), std::swap(v0, v1);  // a mirrored trunc_normal decreases in u
  const bool uni = p.kind == dist_kind::uniform;
  const long double base = uni ? d.p0 / 2.0 + d.p1 / 2.0 : d.p0;
  const long double scale = uni ? d.p1 / 2.0 - d.p0 / 2.0 : d.p1;
  long double r0 = base + scale * z0, r1 = base + scale * z1;
  if (p.kind == dist_kind::trunc_normal) {
    r0 = std::fmin(std::fmax(r0, static_cast<long double>(d.p2)), static_cast<long double>(d.p3));
    r1 = std::fmin(std::fmax(r1, static_cast<long double>(d.p2)), static_cast<long double>(d.p3));
  }
  return {std::fmin(v0, v1), std::fmax(v0, v1), r0, r1};
}

/// Refuses `d` (prepared as `p`) when a value it can produce overflows `type`, or when a parameter
/// the float32 arithmetic of float32/float16/bfloat16 outputs uses does not fit float32. Names
/// `origin`'s parameter when given, else the distribution's own.
inline void check_value_range(const dist& d, const prepared_dist& p, dtype type, const dist_origin& origin) {
  const char* kind = d.kind == dist_kind::uniform ? "uniform"
                     : d.kind == dist_kind::normal ? "normal"
                     : d.kind == dist_kind::trunc_normal ? "trunc_normal" : "constant";
  const std::string who = origin.initializer ? origin.initializer : kind;
  const std::string tn = dtype_name(type);
  auto named = [&](const std::string& own) {
    return origin.param ? std::string(origin.param) + "=" + repr(origin.value) : own;
  };
  if (d.kind == dist_kind::constant) {
    // The value rounded to the working precision, then (16-bit formats) from float32.
    const double v = type == dtype::float64 ? d.p0 : static_cast<double>(static_cast<float>(d.p0));
    if (stores_non_finite(v, type)) invalid("val " + repr(d.p0) + " overflows " + tn);  // as Python's constant
    return;
  }
  const bool f32 = type != dtype::float64;
  if (f32 && !(d.kind == dist_kind::trunc_normal && p.trunc_f32_in_f64)) {
    // The float32 arithmetic needs its parameters as finite floats (trunc_normal's bounds only
    // clamp: an infinite one clamps nothing, and the values are checked below).
    auto fits = [](double v) { return std::isfinite(static_cast<float>(v)); };
    std::string bad;
    auto add = [&](const char* name, double v) {
      if (!fits(v)) bad += (bad.empty() ? "" : ", ") + std::string(name) + "=" + repr(v);
    };
    if (d.kind == dist_kind::uniform) {
      if (!fits(p.d.mid) || !fits(p.d.half)) {
        add("a", d.p0);
        add("b", d.p1);
        if (bad.empty()) bad = "a=" + repr(d.p0) + ", b=" + repr(d.p1);
      }
    } else {
      add("mean", d.p0);
      add("std", d.p1);
    }
    if (!bad.empty()) {
      const bool plural = bad.find(',') != std::string::npos;
      const std::string why = origin.param ? named("") + " gives " + bad + ", which" : bad;
      invalid(who + ": " + why + (plural ? " exceed" : " exceeds") + " the float32 range, the working precision of " +
              tn + " outputs; use dtype float64");
    }
  }
  const extremes e = f32 ? end_values<float>(p, d) : end_values<double>(p, d);
  auto side_overflows = [&](double v, double bound) {
    if (stores_non_finite(v, type)) return true;
    if (d.kind != dist_kind::trunc_normal) return false;  // exact: see end_values
    const double b = f32 ? static_cast<double>(static_cast<float>(bound)) : bound;
    if (!stores_non_finite(b, type)) return false;  // the clamp keeps every value within it
    const double wide = f32 ? static_cast<double>(static_cast<float>(v) * (1.0f + 0x1p-20f)) : v * (1.0 + 0x1p-20);
    return stores_non_finite(wide, type);
  };
  const bool low = side_overflows(e.lo, d.kind == dist_kind::trunc_normal ? d.p2 : 0.0);
  const bool high = side_overflows(e.hi, d.kind == dist_kind::trunc_normal ? d.p3 : 0.0);
  if (!low && !high) return;
  std::string own;
  switch (d.kind) {
    case dist_kind::uniform:
      own = low && high ? "a=" + repr(d.p0) + ", b=" + repr(d.p1) : low ? "a=" + repr(d.p0) : "b=" + repr(d.p1);
      break;
    case dist_kind::normal: own = (d.p0 != 0 ? "mean=" + repr(d.p0) + ", " : std::string()) + "std=" + repr(d.p1); break;
    default:
      own = (low && high ? "a=" + repr(d.p2) + ", b=" + repr(d.p3) : low ? "a=" + repr(d.p2) : "b=" + repr(d.p3)) +
            " with " + (d.p0 != 0 ? "mean=" + repr(d.p0) + ", " : std::string()) + "std=" + repr(d.p1);
      break;
  }
  const std::string reach = low && high ? short_num(e.lo_r) + " and " + short_num(e.hi_r)
                            : low       ? short_num(e.lo_r)
                                        : short_num(e.hi_r);
  const std::string names = named(own);
  const bool plural = names.find(',') != std::string::npos || names.find(" with ") != std::string::npos;
  invalid(who + ": " + names + (plural ? " make" : " makes") + " values reach " + reach + ", which overflows " + tn +
          " (largest finite value " + repr(dtype_max(type)) + ")");
}

}  // namespace sow::detail
