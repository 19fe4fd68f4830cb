// The four per-element distributions every sow initializer reduces to, and their validated,
// precomputed per-call constants (docs/stream-format.md section 5).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sow/config.hpp"
#include "sow/detail/math.hpp"

namespace sow {

enum class dist_kind : int { uniform = 0, normal = 1, trunc_normal = 2, constant = 3 };

/// A distribution and its parameters, as the user gives them.
///   uniform(low, high)            U(low, high), low < high
///   normal(mean, std)             N(mean, std^2), std >= 0
///   trunc_normal(mean, std, a, b) N(mean, std^2) truncated to [a, b] (absolute bounds), std > 0, a < b
///   constant(value)
struct dist {
  dist_kind kind = dist_kind::constant;
  double p0 = 0, p1 = 0, p2 = 0, p3 = 0;

  static dist uniform(double low, double high) { return {dist_kind::uniform, low, high, 0, 0}; }
  static dist normal(double mean, double std) { return {dist_kind::normal, mean, std, 0, 0}; }
  static dist trunc_normal(double mean, double std, double a, double b) {
    return {dist_kind::trunc_normal, mean, std, a, b};
  }
  static dist constant(double value) { return {dist_kind::constant, value, 0, 0, 0}; }
};

/// Where a distribution came from, for error messages: the initializer and the one parameter of
/// it the user gave that scales the values (xavier's `gain`, variance_scaling's `scale`, ...).
/// Empty (the default): the distribution's own parameters are named (uniform's a and b, normal's
/// mean and std, trunc_normal's mean, std, a and b, constant's val).
struct dist_origin {
  const char* initializer = nullptr;  // e.g. "xavier_normal"
  const char* param = nullptr;        // e.g. "gain"; nullptr: the initializer has none
  double value = 0;                   // that parameter's value as the user gave it
};

/// The largest distance, in standard deviations, from the mean to the nearer bound of a
/// trunc_normal interval lying entirely on one side of the mean: beyond it Phi of that bound,
/// computed in float64 by detail::phi, underflows to 0 and the interval is refused. It is the
/// double nearest to where sow's phi stops being positive (found by bisection over doubles;
/// tests/test_value_ranges.py checks that this distance is accepted and the next double refused).
inline constexpr double trunc_normal_max_sigmas = 38.485408335567335;

/// Per-call constants in one working precision T (float for float32/float16/bfloat16 outputs).
template <class T>
struct dist_consts {
  T mid, half;            // uniform: v = mid + half * s
  T mean, std;            // normal, trunc_normal
  T pa, qb, delta, sgn;   // trunc_normal: Phi(alpha), Phi(-beta), mass, -1 if mirrored else 1
  T lo, hi;               // trunc_normal: clamp bounds a, b
  T value;                // constant
};

struct prepared_dist {
  dist_kind kind;
  bool trunc_f32_in_f64;   // trunc_normal interval so deep in a tail that float32 underflows
  bool no_f32_subnormals;  // no float32 value can be subnormal (lets SIMD use DAZ conversions)
  dist_consts<float> f;
  dist_consts<double> d;
};

namespace detail {
[[noreturn]] inline void invalid(const std::string& what) { throw std::invalid_argument(what); }

/// Python's repr() of a float: the shortest digits that round-trip, fixed notation when the
/// decimal exponent is in (-4, 16], so C++ and Python messages print numbers alike.
inline std::string repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(res.ptr - buf));
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.remove_prefix(1);
  }
  const std::size_t e = s.find('e');
  const int exp10 = std::stoi(std::string(s.substr(e + 1)));
  std::string digits;
  for (std::size_t i = 0; i < e; ++i)
    if (s[i] != '.') digits += s[i];
  const int decpt = exp10 + 1;  // value = 0.digits x 10^decpt
  const int nd = static_cast<int>(digits.size());
  std::string out;
  if (-4 < decpt && decpt <= 16) {
    if (decpt <= 0) out = "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
    else if (decpt >= nd) out = digits + std::string(static_cast<std::size_t>(decpt - nd), '0') + ".0";
    else out = digits.substr(0, static_cast<std::size_t>(decpt)) + "." + digits.substr(static_cast<std::size_t>(decpt));
  } else {
    out = digits.substr(0, 1);
    if (nd > 1) out += "." + digits.substr(1);
    const int x = decpt - 1;
    out += x < 0 ? "e-" : "e+";
    const std::string xs = std::to_string(x < 0 ? -x : x);
    out += (xs.size() < 2 ? "0" : "") + xs;
  }
  return sign + out;
}

inline void require_finite(double v, const char* name) {
  if (!std::isfinite(v)) invalid(std::string(name) + " must be finite, got " + repr(v));
}
template <class T>
dist_consts<T> cast_consts(const dist_consts<double>& c) {
  return {T(c.mid), T(c.half), T(c.mean), T(c.std), T(c.pa), T(c.qb),
          T(c.delta), T(c.sgn), T(c.lo), T(c.hi), T(c.value)};
}
}  // namespace detail

/// Validates `d` (std::invalid_argument naming the parameter) and computes its constants.
inline prepared_dist prepare(const dist& d) {
  using detail::invalid;
  using detail::require_finite;
  dist_consts<double> c{};
  c.sgn = 1;
  bool deep = false;
  switch (d.kind) {
    case dist_kind::uniform: {
      require_finite(d.p0, "a");
      require_finite(d.p1, "b");
      if (!(d.p0 < d.p1)) invalid("uniform needs a < b, got a=" + detail::repr(d.p0) + ", b=" + detail::repr(d.p1));
      c.mid = d.p0 / 2 + d.p1 / 2;  // halves first: no overflow for any finite a, b
      c.half = d.p1 / 2 - d.p0 / 2;
      break;
    }
    case dist_kind::normal: {
      require_finite(d.p0, "mean");
      require_finite(d.p1, "std");
      if (d.p1 < 0) invalid("std must be non-negative, got " + detail::repr(d.p1));
      c.mean = d.p0;
      c.std = d.p1;
      break;
    }
    case dist_kind::trunc_normal: {
      require_finite(d.p0, "mean");
      require_finite(d.p1, "std");
      require_finite(d.p2, "a");
      require_finite(d.p3, "b");
      if (!(d.p1 > 0)) invalid("std must be positive for trunc_normal, got " + detail::repr(d.p1));
      if (!(d.p2 < d.p3)) invalid("trunc_normal needs a < b, got a=" + detail::repr(d.p2) + ", b=" + detail::repr(d.p3));
      c.mean = d.p0;
      c.std = d.p1;
      c.lo = d.p2;
      c.hi = d.p3;
      double alpha = (d.p2 - d.p0) / d.p1, beta = (d.p3 - d.p0) / d.p1;  // may be +-inf: fine for phi
      if (alpha + beta > 0) {  // mirror so the interval never lies mostly in the upper tail
        const double t = alpha;
        alpha = -beta;
        beta = -t;
        c.sgn = -1;
      }
      const double phi_beta = detail::phi(beta);
      c.pa = detail::phi(alpha);
      c.qb = detail::phi(-beta);
      c.delta = beta <= 0 ? phi_beta - c.pa : 1 - c.pa - c.qb;
      if (beta <= 0 && !(phi_beta > 0))
        invalid("trunc_normal: a=" + detail::repr(d.p2) + ", b=" + detail::repr(d.p3) + " lie on one side of mean=" +
                detail::repr(d.p0) + " with the nearer bound " + detail::repr(-beta) + " standard deviations (std=" +
                detail::repr(d.p1) + ") away; at most " + detail::repr(trunc_normal_max_sigmas) +
                " are supported (beyond, the interval's probability underflows float64)");
      deep = beta <= 0 && phi_beta < 0x1p-100;
      break;
    }
    case dist_kind::constant: {
      require_finite(d.p0, "val");
      c.value = d.p0;
      break;
    }
    default:
      invalid("unknown distribution kind");
  }
  // Every term is 0 or >= 2^-100 in magnitude (|s| and nonzero |z| are >= 2^-24), so every sum of
  // them is 0 or a multiple of an ulp >= 2^-123: never subnormal.
  auto big_or_zero = [](double v, double lim) { return v == 0 || std::abs(v) >= lim; };
  bool no_sub = false;
  switch (d.kind) {
    case dist_kind::uniform: no_sub = big_or_zero(c.mid, 0x1p-100) && std::abs(c.half) >= 0x1p-76; break;
    case dist_kind::normal: no_sub = big_or_zero(c.mean, 0x1p-100) && big_or_zero(c.std, 0x1p-76); break;
    case dist_kind::trunc_normal:
      no_sub = big_or_zero(c.mean, 0x1p-100) && c.std >= 0x1p-76 && big_or_zero(c.lo, 0x1p-100) &&
               big_or_zero(c.hi, 0x1p-100);
      break;
    case dist_kind::constant: no_sub = big_or_zero(c.value, 0x1p-100); break;
  }
  return {d.kind, deep, no_sub, detail::cast_consts<float>(c), c};
}

}  // namespace sow
