// The portable kernel: scalar lane policy, one Philox block per 4 (float64: 2) elements. It is the
// reference every SIMD kernel is tested against, and it writes the SIMD kernels' unaligned heads
// and tails, so that no inline function is ever compiled with wider -m flags than the baseline.
#include <cstring>

#include "kernel.hpp"
#include "sow/detail/scalar_lanes.hpp"
#include "sow/detail/transform.hpp"
#include "sow/round.hpp"

namespace sow::cpu::scalar {
namespace {

using L32 = detail::scalar_lanes<float>;
using L64 = detail::scalar_lanes<double>;

// Output conversions: float32 values are rounded for the 16-bit formats (stream format section 6).
struct out_f32 { using T = float; static T conv(float v) { return v; } };
struct out_f64 { using T = double; static T conv(double v) { return v; } };
struct out_f16 { using T = std::uint16_t; static T conv(float v) { return to_float16_bits(v); } };
struct out_bf16 { using T = std::uint16_t; static T conv(float v) { return to_bfloat16_bits(v); } };

// Calls elem(word) for every element of the run, computing each Philox block once.
template <class O, bool F64, class Elem>
void walk(const run_args& a, Elem elem) {
  auto* o = static_cast<typename O::T*>(a.out);
  std::uint64_t g = a.g0;
  const std::uint64_t end = a.g0 + a.n;
  constexpr unsigned epb = F64 ? 2 : 4;  // elements per block
  while (g < end) {
    const philox4x32_ctr blk = stream_block(a.stream, g / epb);
    for (unsigned j = static_cast<unsigned>(g % epb); j < epb && g < end; ++j, ++g) {
      if constexpr (F64) {
        const std::uint64_t x = blk.v[2 * j] | (std::uint64_t{blk.v[2 * j + 1]} << 32);
        *o++ = O::conv(elem(x));
      } else {
        *o++ = O::conv(elem(blk.v[j]));
      }
    }
  }
}

template <class O, bool F64>
void run_typed(const run_args& a) {
  const prepared_dist& d = *a.d;
  using L = std::conditional_t<F64, L64, L32>;
  const auto& c = [&]() -> const auto& {
    if constexpr (F64) return d.d; else return d.f;
  }();
  auto* o = static_cast<typename O::T*>(a.out);
  switch (d.kind) {
    case dist_kind::constant: {
      const auto v = O::conv(c.value);
      for (std::size_t k = 0; k < a.n; ++k) o[k] = v;
      return;
    }
    case dist_kind::uniform:
      return walk<O, F64>(a, [&](typename L::u x) { return detail::uniform_value<L>(x, c); });
    case dist_kind::normal:
      return walk<O, F64>(a, [&](typename L::u x) { return detail::normal_value<L>(x, c); });
    case dist_kind::trunc_normal:
      if constexpr (!F64) {
        if (d.trunc_f32_in_f64) {  // the same u, exact in float64, then rounded (stream format 5)
          return walk<O, F64>(a, [&](std::uint32_t x) {
            const double u = detail::open_uniform<L32>(x);
            return static_cast<float>(detail::trunc_normal_from_u<L64>(u, d.d));
          });
        }
      }
      return walk<O, F64>(a, [&](typename L::u x) { return detail::trunc_normal_value<L>(x, c); });
  }
}

}  // namespace

void words(const stream_id& s, std::uint64_t first, std::size_t n, std::uint32_t* out) {
  std::uint64_t w = first;
  const std::uint64_t end = first + n;
  while (w < end) {
    const philox4x32_ctr blk = stream_block(s, w >> 2);
    for (unsigned j = static_cast<unsigned>(w & 3); j < 4 && w < end; ++j, ++w) *out++ = blk.v[j];
  }
}

void run(const run_args& a) {
  switch (a.type) {
    case dtype::float32: return run_typed<out_f32, false>(a);
    case dtype::float64: return run_typed<out_f64, true>(a);
    case dtype::float16: return run_typed<out_f16, false>(a);
    case dtype::bfloat16: return run_typed<out_bf16, false>(a);
  }
}

}  // namespace sow::cpu::scalar
