// Stewart's Householder reflectors (docs/stream-format.md section 8): the per-column arithmetic,
// written once for the CPU (cpp/src/orthogonal.cpp) and the GPU (cuda/orthogonal.cu) so both
// build bit-identical reflectors from the same Gaussian column.
//
// The sum of squares has a fixed order that both backends can follow at speed: element i of
// x[0..len) goes to partial sum i mod 8 (each partial sum accumulated in increasing i), and the
// eight partials are combined pairwise. The CPU runs the eight chains interleaved in one loop (one
// AVX-512 vector of doubles); the GPU runs them on eight lanes of a warp.
#pragma once

#include <cstdint>

#include "sow/config.hpp"
#include "sow/detail/scalar_lanes.hpp"

namespace sow::detail {

inline constexpr int sum_lanes = 8;

/// Partial sum `lane` (0..7): sum of x[i]^2 over i = lane, lane + 8, ... < len, in that order, in
/// float64.
template <class T>
SOW_HD SOW_FORCEINLINE double sum_squares_lane(const T* x, std::int64_t len, int lane) {
  double acc = 0;
  for (std::int64_t i = lane; i < len; i += sum_lanes) {
    const double v = static_cast<double>(x[i]);
    acc += v * v;
  }
  return acc;
}

SOW_HD SOW_FORCEINLINE double combine_sum_lanes(const double (&acc)[sum_lanes]) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/// The eight partial sums of sum_squares_lane, interleaved in one pass (the same bits).
template <class T>
inline double sum_squares(const T* x, std::int64_t len) {
  double acc[sum_lanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + sum_lanes <= len; i += sum_lanes)
    for (int j = 0; j < sum_lanes; ++j) {
      const double v = static_cast<double>(x[i + j]);
      acc[j] += v * v;
    }
  for (int j = 0; i < len; ++i, ++j) {
    const double v = static_cast<double>(x[i]);
    acc[j] += v * v;
  }
  return combine_sum_lanes(acc);
}

/// The reflector H = I - tau v v^T (v[0] = 1) that maps x = (alpha, x[1:]) to beta e_1, LAPACK
/// larfg's convention, from alpha and s = sum of x[1:]^2: v[1:] = x[1:] * scale. `sign` is
/// sign(beta) (+1 for beta >= 0), the Haar correction of column k (Mezzadri 2006).
struct householder {
  double tau, scale;
  double sign;
  bool identity;  // s == 0: H = I, v not scaled (always the last column of a square matrix)
};

SOW_HD SOW_FORCEINLINE householder make_householder(double alpha, double s) {
  householder h;
  double beta;
  if (s == 0) {
    h.tau = 0;
    h.scale = 1;
    h.identity = true;
    beta = alpha;
  } else {
    const double norm = scalar_lanes<double>::sqrt(alpha * alpha + s);
    beta = alpha >= 0 ? -norm : norm;
    h.tau = (beta - alpha) / beta;
    h.scale = 1.0 / (alpha - beta);
    h.identity = false;
  }
  h.sign = beta >= 0 ? 1.0 : -1.0;
  return h;
}

}  // namespace sow::detail
