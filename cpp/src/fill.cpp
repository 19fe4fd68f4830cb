// The CPU engine: validate, collapse the shard into contiguous runs of global indices, split the
// runs across threads, and hand each run to the active SIMD kernel. Nothing here affects values:
// every element's value depends only on its global index (docs/stream-format.md).
#include "sow/fill.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dispatch.hpp"
#include "sow/detail/checked.hpp"

namespace sow {

dtype parse_dtype(std::string_view name) {
  if (name == "float32") return dtype::float32;
  if (name == "float64") return dtype::float64;
  if (name == "float16") return dtype::float16;
  if (name == "bfloat16") return dtype::bfloat16;
  throw std::invalid_argument("dtype must be one of float32, float64, float16, bfloat16; got '" + std::string(name) + "'");
}

namespace {

using detail::invalid;
using cpu::run_fn;

// A shard reduced to rows: `rows` runs of `inner` consecutive global indices each.
struct layout {
  std::vector<std::int64_t> outer_shape, outer_stride, outer_gstride;  // bytes / elements
  std::int64_t inner = 1, inner_stride = 0;                            // elements, bytes
  std::uint64_t g_base = 0;                                            // global index of element 0
  std::uint64_t rows = 1;
};

layout make_layout(const fill_target& t) {
  const std::size_t nd = t.shape.size();
  const std::int64_t item = static_cast<std::int64_t>(itemsize(t.type));
  if (t.strides.size() != nd) invalid("strides must have one entry per dimension");
  const bool sharded = !t.global_shape.empty() || !t.offsets.empty();
  if (sharded && (t.global_shape.size() != nd || t.offsets.size() != nd))
    invalid("global_shape and offsets must have one entry per dimension of the shard");
  std::vector<std::int64_t> gshape(nd), off(nd, 0);
  std::uint64_t total = 1, local = 1;
  for (std::size_t k = 0; k < nd; ++k) {
    const std::int64_t n = t.shape[k];
    if (n < 0) invalid("shape[" + std::to_string(k) + "] must be non-negative, got " + std::to_string(n));
    gshape[k] = sharded ? t.global_shape[k] : n;
    off[k] = sharded ? t.offsets[k] : 0;
    if (gshape[k] < 0) invalid("global_shape[" + std::to_string(k) + "] must be non-negative");
    if (off[k] < 0 || n > gshape[k] || off[k] > gshape[k] - n)
      invalid("shard: dimension " + std::to_string(k) + " [" + std::to_string(off[k]) + ", " +
              std::to_string(off[k] + n) + ") lies outside the global size " + std::to_string(gshape[k]));
    if (t.strides[k] % item != 0) invalid("strides must be multiples of the item size");
    total = detail::checked_mul(total, static_cast<std::uint64_t>(gshape[k]), "global shape");
    local = detail::checked_mul(local, static_cast<std::uint64_t>(n), "shape");
  }
  if (total > max_elements) invalid("global shape has more than 2^56 elements");
  layout L;
  L.rows = 0;
  if (local == 0) return L;
  // Row-major global strides (elements), then the base index of the shard's first element.
  std::vector<std::int64_t> gstride(nd, 1);
  for (std::size_t k = nd; k-- > 1;) gstride[k - 1] = gstride[k] * gshape[k];
  for (std::size_t k = 0; k < nd; ++k) L.g_base += static_cast<std::uint64_t>(off[k] * gstride[k]);
  // Merge dimensions from the right while both the memory and the global indices stay contiguous;
  // size-1 dimensions are dropped.
  std::vector<std::int64_t> sh, st, gs;
  for (std::size_t k = 0; k < nd; ++k)
    if (t.shape[k] != 1) {
      sh.push_back(t.shape[k]);
      st.push_back(t.strides[k]);
      gs.push_back(gstride[k]);
    }
  if (sh.empty()) {
    sh.push_back(1);
    st.push_back(item);
    gs.push_back(1);
  }
  while (sh.size() > 1) {
    const std::size_t a = sh.size() - 2, b = sh.size() - 1;
    if (gs[a] != gs[b] * sh[b] || st[a] != st[b] * sh[b]) break;
    sh[b] *= sh[a];
    sh.erase(sh.begin() + a);
    st.erase(st.begin() + a);
    gs.erase(gs.begin() + a);
  }
  L.inner = sh.back();
  L.inner_stride = st.back();
  sh.pop_back();
  st.pop_back();
  gs.pop_back();
  L.outer_shape = sh;
  L.outer_stride = st;
  L.outer_gstride = gs;
  L.rows = local / static_cast<std::uint64_t>(L.inner);
  return L;
}

// Fills the flattened local elements [begin, end) (row-major over the shard).
void fill_range(const layout& L, const fill_target& t, const prepared_dist& d, const stream_id& s,
                run_fn kernel, std::uint64_t begin, std::uint64_t end) {
  const std::size_t item = itemsize(t.type);
  const bool contiguous = L.inner_stride == static_cast<std::int64_t>(item);
  constexpr std::size_t chunk = 4096;  // elements staged per kernel call for strided rows
  std::vector<unsigned char> stage(contiguous ? 0 : chunk * item);
  const std::uint64_t inner = static_cast<std::uint64_t>(L.inner);
  std::uint64_t pos = begin;
  while (pos < end) {
    std::uint64_t row = pos / inner, col = pos % inner;
    const std::uint64_t n = std::min<std::uint64_t>(inner - col, end - pos);
    // Row index -> memory offset and global index.
    std::int64_t mem = 0;
    std::uint64_t g = L.g_base;
    for (std::size_t k = L.outer_shape.size(); k-- > 0;) {
      const std::uint64_t ext = static_cast<std::uint64_t>(L.outer_shape[k]);
      const std::int64_t idx = static_cast<std::int64_t>(row % ext);
      row /= ext;
      mem += idx * L.outer_stride[k];
      g += static_cast<std::uint64_t>(idx * L.outer_gstride[k]);
    }
    g += col;
    unsigned char* base = static_cast<unsigned char*>(t.data) + mem + static_cast<std::int64_t>(col) * L.inner_stride;
    if (contiguous) {
      kernel(cpu::run_args{&d, s, t.type, g, static_cast<std::size_t>(n), base});
    } else {
      for (std::uint64_t done = 0; done < n; done += chunk) {
        const std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, n - done));
        kernel(cpu::run_args{&d, s, t.type, g + done, m, stage.data()});
        unsigned char* dst = base + static_cast<std::int64_t>(done) * L.inner_stride;
        for (std::size_t k = 0; k < m; ++k, dst += L.inner_stride)
          std::memcpy(dst, stage.data() + k * item, item);
      }
    }
    pos += n;
  }
}

}  // namespace

void fill(const fill_target& t, const dist& d, std::uint64_t seed, std::uint64_t key, int threads,
          std::uint32_t domain) {
  if (threads < 0) invalid("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
  if (domain > 255) invalid("domain must be in [0, 255]");
  const prepared_dist p = prepare(d);
  if (t.type != dtype::float64 && p.kind != dist_kind::constant) {
    // Parameters that do not fit float32 would silently become inf in the float32 arithmetic.
    const double big = std::numeric_limits<float>::max();
    const auto& c = p.d;
    for (double v : {c.mid, c.half, c.mean, c.std})
      if (std::abs(v) > big) invalid("parameters exceed the float32 range; use dtype float64");
  }
  const layout L = make_layout(t);
  const std::uint64_t total = L.rows * static_cast<std::uint64_t>(L.inner);
  if (total == 0) return;
  if (t.data == nullptr) invalid("out: null data pointer");
  const run_fn kernel = cpu::active_kernel();
  const stream_id s{seed, key, domain};
  // Threads only where each gets enough work to amortize its start (~50 us measured).
  constexpr std::uint64_t min_per_thread = 1u << 16;
  std::uint64_t nt = threads == 0 ? static_cast<std::uint64_t>(hardware_threads()) : static_cast<std::uint64_t>(threads);
  nt = std::max<std::uint64_t>(1, std::min(nt, total / min_per_thread));
  if (nt == 1) {
    fill_range(L, t, p, s, kernel, 0, total);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  // Split points rounded to multiples of 64 elements so that every thread's runs start on whole
  // Philox blocks where the rows allow it (values never depend on this).
  auto split = [&](std::uint64_t k) { return k == nt ? total : (total * k / nt) / 64 * 64; };
  std::exception_ptr error;
  std::mutex error_mutex;
  for (std::uint64_t k = 1; k < nt; ++k)
    pool.emplace_back([&, k] {
      try {
        fill_range(L, t, p, s, kernel, split(k), split(k + 1));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        error = std::current_exception();
      }
    });
  fill_range(L, t, p, s, kernel, 0, split(1));
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

void stream_words(std::uint64_t seed, std::uint64_t key, std::uint32_t domain, std::uint64_t start,
                  std::size_t count, std::uint32_t* out) {
  if (domain > 255) invalid("domain must be in [0, 255]");
  if (start > 4 * max_elements || count > 4 * max_elements - start) invalid("stream_words: range beyond the stream");
  const stream_id s{seed, key, domain};
  std::uint64_t w = start;
  const std::uint64_t end = start + count;
  while (w < end) {
    const philox4x32_ctr blk = stream_block(s, w >> 2);
    for (unsigned j = static_cast<unsigned>(w & 3); j < 4 && w < end; ++j, ++w) *out++ = blk.v[j];
  }
}

}  // namespace sow
