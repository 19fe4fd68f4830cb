// Device-side values and output formats shared by the CUDA kernels (fill.cu, orthogonal.cu): the
// CPU engine's per-element functions (sow/detail/transform.hpp) with the scalar lane policy, so
// every kernel writes exactly the CPU's bits.
#pragma once

#include <cstdint>

#include "sow/detail/layout.hpp"
#include "sow/detail/scalar_lanes.hpp"
#include "sow/detail/transform.hpp"
#include "sow/dist.hpp"
#include "sow/round.hpp"

namespace sow::cuda_impl {

using L32 = detail::scalar_lanes<float>;
using L64 = detail::scalar_lanes<double>;

// Per-call distribution constants, as the device sees them.
struct dev_dist {
  int kind;  // dist_kind
  int deep;  // trunc_normal in float32 evaluated in float64 (stream format section 5)
  dist_consts<float> f;
  dist_consts<double> d;
};

inline dev_dist to_dev(const prepared_dist& p) {
  return {static_cast<int>(p.kind), p.trunc_f32_in_f64 ? 1 : 0, p.f, p.d};
}

// ---------------------------------------------------------------------------------------------
// Values: identical expressions to cpp/src/simd/kernel_scalar.cpp.

template <int KIND>
__device__ __forceinline__ float value32(const dev_dist& d, std::uint32_t x) {
  if constexpr (KIND == int(dist_kind::uniform)) {
    return detail::uniform_value<L32>(x, d.f);
  } else if constexpr (KIND == int(dist_kind::normal)) {
    return detail::normal_value<L32>(x, d.f);
  } else if constexpr (KIND == int(dist_kind::trunc_normal)) {
    if (d.deep) {
      const double u = detail::open_uniform<L32>(x);
      return static_cast<float>(detail::trunc_normal_from_u<L64>(u, d.d));
    }
    return detail::trunc_normal_value<L32>(x, d.f);
  } else {
    return d.f.value;
  }
}

template <int KIND>
__device__ __forceinline__ double value64(const dev_dist& d, std::uint64_t x) {
  if constexpr (KIND == int(dist_kind::uniform)) {
    return detail::uniform_value<L64>(x, d.d);
  } else if constexpr (KIND == int(dist_kind::normal)) {
    return detail::normal_value<L64>(x, d.d);
  } else if constexpr (KIND == int(dist_kind::trunc_normal)) {
    return detail::trunc_normal_value<L64>(x, d.d);
  } else {
    return d.d.value;
  }
}

__device__ __forceinline__ std::uint64_t umax(std::uint64_t a, std::uint64_t b) { return a > b ? a : b; }
__device__ __forceinline__ std::uint64_t umin(std::uint64_t a, std::uint64_t b) { return a < b ? a : b; }

// Output formats (stream format section 6).
template <int DT>
struct out_t;
template <>
struct out_t<int(dtype::float32)> {
  using T = float;
  static constexpr int epb = 4;
  static __device__ __forceinline__ T conv(float v) { return v; }
};
template <>
struct out_t<int(dtype::float16)> {
  using T = std::uint16_t;
  static constexpr int epb = 4;
  static __device__ __forceinline__ T conv(float v) { return to_float16_bits(v); }
};
template <>
struct out_t<int(dtype::bfloat16)> {
  using T = std::uint16_t;
  static constexpr int epb = 4;
  static __device__ __forceinline__ T conv(float v) { return to_bfloat16_bits(v); }
};
template <>
struct out_t<int(dtype::float64)> {
  using T = double;
  static constexpr int epb = 2;
  static __device__ __forceinline__ T conv(double v) { return v; }
};

}  // namespace sow::cuda_impl
