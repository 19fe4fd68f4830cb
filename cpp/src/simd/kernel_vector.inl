// The SIMD kernel body shared by every vector instruction set. Included inside
// namespace sow::cpu::<isa> by kernel_<isa>.cpp after that file defines `struct V`:
//   W                         32-bit lanes per vector
//   u32v, f32v, u64v, f64v    GCC vector types (W, W, W/2, W/2 lanes)
//   L32, L64                  lane policies (docs/design.md) over f32v / f64v
//   mulhilo(a, m, lo, hi)     32x32->64-bit products of all lanes
//   transpose4(u32v c[4])     block-major words -> stream order (c[k] lane m = word 4b + kW + m)
//   iota()                    0, 1, ..., W-1
//   store2_f16 / store2_bf16  round 2W floats and store them
// Only templates over these ISA-local types and always-inline functions are used here; unaligned
// heads and tails go to scalar::run, so no out-of-line code is shared with the baseline.

namespace {

#include "multi_lanes.inl"

// Philox's word policy (philox.hpp) for this ISA: one counter per 32-bit lane.
struct philox_lanes {
  using u32 = V::u32v;
  static SOW_FORCEINLINE void mulhilo(u32 a, std::uint32_t m, u32& lo, u32& hi) { V::mulhilo(a, m, lo, hi); }
};

// Two independent groups of W blocks per iteration: Philox is a chain of dependent multiplies,
// and interleaving two chains measured 1.3x faster than one on the 2-core Zen 4 dev machine.
constexpr unsigned groups = 2;

// Philox4x32-10 of blocks b .. b + groups * W - 1 of stream s (lane l of group h is block
// b + hW + l), in stream order: c[4h + k] lane m = word 4(b + hW) + kW + m. The counters and the
// rounds are stream.hpp's and philox.hpp's templates over vector words.
SOW_FORCEINLINE void stream_blocks(const stream_id& s, std::uint64_t b, typename V::u32v c[4 * groups]) {
  const typename V::u32v iota = V::iota();
  const philox4x32_key k = stream_philox_key(s);
  const std::uint32_t lo = static_cast<std::uint32_t>(b);
  if (lo <= 0xffffffffu - (groups * V::W - 1)) {
    // No block's low word wraps, so counter words 1..3 are the same in every lane: the cheaper
    // rounds of philox.hpp, same bits.
    std::uint32_t w[4];
    stream_counter_words<std::uint32_t>(s, lo, static_cast<std::uint32_t>(b >> 32), w);
    for (unsigned h = 0; h < groups; ++h) c[4 * h] = (lo + h * V::W) + iota;
    detail::philox4x32_10_uniform_words<philox_lanes, groups>(c, w[1], w[2], w[3], k.v[0], k.v[1]);
  } else {
    for (unsigned h = 0; h < groups; ++h) {
      const std::uint64_t bh = b + h * V::W;
      const std::uint32_t lh = static_cast<std::uint32_t>(bh);
      const typename V::u32v block_lo = lh + iota;
      const typename V::u32v carry = (typename V::u32v)(block_lo < lh);  // all ones where lo wrapped
      const typename V::u32v block_hi = (typename V::u32v{} + static_cast<std::uint32_t>(bh >> 32)) - carry;
      stream_counter_words(s, block_lo, block_hi, c + 4 * h);
    }
    detail::philox4x32_rounds<philox_lanes, groups>(c, k.v[0], k.v[1], 10);
  }
  for (unsigned h = 0; h < groups; ++h) V::transpose4(c + 4 * h);
}

template <class O>
struct kernel {
  static constexpr bool f64 = std::is_same_v<O, double>;
  using L1 = std::conditional_t<f64, V::L64, V::L32>;
  using L = multi_lanes<L1, 4>;  // the four stream-ordered vectors of one group of W blocks
  // The float32 normal transforms (the inverse CDF table of section 5) run two chains at a time:
  // with four, the table reads and their temporaries spill on AVX2's 16 registers. Format 3 on
  // one Zen 3 core, whole float32 normal fills: 2.00 ns per element with 2 chains, 2.26 with 1,
  // 3.05 with 4 (format 2's transform alone had measured 1.63 / 1.78 / 2.71). Not measured on
  // AVX-512 hardware, which has 32 registers.
  using L2 = multi_lanes<L1, 2>;
  template <class Fn>
  static SOW_FORCEINLINE typename L::f in_pairs(const typename L::u& x, Fn fn) {
    typename L::f out;
    for (int h = 0; h < 2; ++h) {
      typename L2::u xh;
      xh.v[0] = x.v[2 * h], xh.v[1] = x.v[2 * h + 1];
      const typename L2::f z = fn(xh);
      out.v[2 * h] = z.v[0], out.v[2 * h + 1] = z.v[1];
    }
    return out;
  }
  static constexpr unsigned epb = f64 ? 2 : 4;                    // elements per Philox block
  static constexpr unsigned per_iter = 4 * V::W / (f64 ? 2 : 1);  // elements per W blocks

  template <class Tag, class Elem>
  static void body(const run_args& a, std::uint64_t g, std::uint64_t end, Elem elem) {
    auto* out = static_cast<typename Tag::T*>(a.out) + (g - a.g0);
    const stream_id s = a.stream;  // a local copy: the stores through `out` cannot alias it
    constexpr unsigned n_per_vec = V::W / (f64 ? 2 : 1);
    for (std::uint64_t b = g / epb; g < end; g += groups * per_iter, b += groups * V::W, out += groups * per_iter) {
      typename V::u32v c[4 * groups];
      stream_blocks(s, b, c);
      for (unsigned h = 0; h < groups; ++h) {
        typename L::u x;
        for (int k = 0; k < 4; ++k) x.v[k] = (typename L1::u)c[4 * h + k];
        const typename L::f v = elem(x);
        Tag::store2(out + 4 * h * n_per_vec, v.v[0], v.v[1]);
        Tag::store2(out + (4 * h + 2) * n_per_vec, v.v[2], v.v[3]);
      }
    }
  }

  template <class Tag, class Elem>
  static void split(const run_args& a, Elem elem) {
    const std::uint64_t end = a.g0 + a.n;
    std::uint64_t body_begin = (a.g0 + epb - 1) / epb * epb;
    if (body_begin > end) body_begin = end;
    const std::uint64_t body_end = body_begin + (end - body_begin) / (groups * per_iter) * (groups * per_iter);
    auto part = [&](std::uint64_t from, std::uint64_t to) {
      if (from >= to) return;
      run_args r = a;
      r.g0 = from;
      r.n = static_cast<std::size_t>(to - from);
      r.out = static_cast<typename Tag::T*>(a.out) + (from - a.g0);
      scalar::run(r);
    };
    part(a.g0, body_begin);
    if (body_begin < body_end) body<Tag>(a, body_begin, body_end, elem);
    part(body_end, end);
  }

  template <class Tag>
  static void run_dist(const run_args& a) {
    const prepared_dist& d = *a.d;
    const auto& c = [&]() -> const auto& {
      if constexpr (f64) return d.d; else return d.f;
    }();
    switch (d.kind) {
      case dist_kind::constant:
        return scalar::run(a);
      case dist_kind::uniform:
        return split<Tag>(a, [&](typename L::u x) SOW_LAMBDA_INLINE { return detail::uniform_value<L>(x, c); });
      case dist_kind::normal:
        if constexpr (!f64)
          return split<Tag>(a, [&](typename L::u x) SOW_LAMBDA_INLINE {
            return in_pairs(x, [&](const typename L2::u& xh) SOW_LAMBDA_INLINE { return detail::normal_value<L2>(xh, c); });
          });
        return split<Tag>(a, [&](typename L::u x) SOW_LAMBDA_INLINE { return detail::normal_value<L>(x, c); });
      case dist_kind::trunc_normal:
        if (!f64 && d.trunc_f32_in_f64) return scalar::run(a);  // rare; exactness over speed
        if constexpr (!f64)
          return split<Tag>(a, [&](typename L::u x) SOW_LAMBDA_INLINE {
            return in_pairs(x, [&](const typename L2::u& xh) SOW_LAMBDA_INLINE { return detail::trunc_normal_value<L2>(xh, c); });
          });
        return split<Tag>(a, [&](typename L::u x) SOW_LAMBDA_INLINE { return detail::trunc_normal_value<L>(x, c); });
    }
  }
};

// Each tag stores two consecutive vectors of values (16-bit formats pack a pair into one vector).
struct tag_f32 {
  using T = float;
  static void store2(T* o, V::f32v a, V::f32v b) {
    std::memcpy(o, &a, sizeof a);
    std::memcpy(o + V::W, &b, sizeof b);
  }
};
struct tag_f64 {
  using T = double;
  static void store2(T* o, V::f64v a, V::f64v b) {
    std::memcpy(o, &a, sizeof a);
    std::memcpy(o + V::W / 2, &b, sizeof b);
  }
};
struct tag_f16 {
  using T = std::uint16_t;
  static void store2(T* o, V::f32v a, V::f32v b) { V::store2_f16(o, a, b); }
};
struct tag_bf16 {
  using T = std::uint16_t;
  static void store2(T* o, V::f32v a, V::f32v b) { V::store2_bf16(o, a, b); }
};
struct tag_bf16_hw {
  using T = std::uint16_t;
  static void store2(T* o, V::f32v a, V::f32v b) { V::store2_bf16_hw(o, a, b); }
};

// Raw words of whole groups: blocks [b, b + n_blocks), n_blocks a multiple of 2W, in stream order.
void word_blocks(const stream_id& stream, std::uint64_t b, std::uint64_t n_blocks, std::uint32_t* out) {
  const stream_id s = stream;  // a local copy: the stores through `out` cannot alias it
  for (const std::uint64_t end = b + n_blocks; b < end; b += groups * V::W, out += 4 * groups * V::W) {
    typename V::u32v c[4 * groups];
    stream_blocks(s, b, c);
    std::memcpy(out, c, sizeof c);
  }
}

}  // namespace

void words(const stream_id& s, std::uint64_t first, std::size_t n, std::uint32_t* out) {
  constexpr std::uint64_t per = 2 * V::W;  // blocks per iteration of word_blocks
  const std::uint64_t end = first + n;
  std::uint64_t body = (first + 3) / 4 * 4;  // first whole block
  if (body > end) body = end;
  const std::uint64_t n_blocks = (end - body) / 4 / per * per;
  scalar::words(s, first, static_cast<std::size_t>(body - first), out);
  if (n_blocks) word_blocks(s, body / 4, n_blocks, out + (body - first));
  const std::uint64_t tail = body + 4 * n_blocks;
  scalar::words(s, tail, static_cast<std::size_t>(end - tail), out + (tail - first));
}

void run(const run_args& a) {
  switch (a.type) {
    case dtype::float32: return kernel<float>::run_dist<tag_f32>(a);
    case dtype::float64: return kernel<double>::run_dist<tag_f64>(a);
    case dtype::float16: return kernel<float>::run_dist<tag_f16>(a);
    case dtype::bfloat16:
      if (V::hw_bf16 && a.d->no_f32_subnormals) return kernel<float>::run_dist<tag_bf16_hw>(a);
      return kernel<float>::run_dist<tag_bf16>(a);
  }
}
