// The CPU engine: validate, collapse the shard into contiguous runs of global indices, split the
// runs across threads, and hand each run to the active SIMD kernel. Nothing here affects values:
// every element's value depends only on its global index (docs/stream-format.md).
#include "sow/fill.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.hpp"
#include "layout.hpp"
#include "thread_pool.hpp"
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

using detail::layout;
using detail::make_layout;

// Fills the flattened local elements [begin, end) (row-major over the shard).
void fill_range(const layout& L, const fill_target& t, const prepared_dist& d, const stream_id& s,
                run_fn kernel, std::uint64_t begin, std::uint64_t end) {
  const std::size_t item = itemsize(t.type);
  const bool contiguous = L.inner_stride == static_cast<std::int64_t>(item);
  // Elements staged per kernel call for strided rows, on the stack (32 KiB at most): the writing
  // phase allocates nothing, so it cannot fail half-way with std::bad_alloc.
  constexpr std::size_t chunk = 4096;
  alignas(64) unsigned char stage_buf[chunk * 8];
  unsigned char* const stage = stage_buf;
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
        kernel(cpu::run_args{&d, s, t.type, g + done, m, stage});
        unsigned char* dst = base + static_cast<std::int64_t>(done) * L.inner_stride;
        for (std::size_t k = 0; k < m; ++k, dst += L.inner_stride)
          std::memcpy(dst, stage + k * item, item);
      }
    }
    pos += n;
  }
}

}  // namespace

void fill(const fill_target& t, const dist& d, std::uint64_t seed, std::uint64_t key, int threads,
          std::uint32_t domain) {
  if (threads < 0) invalid("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
  const prepared_dist p = detail::prepare_for(d, t.type, domain);
  const layout L = make_layout(t);  // also: data non-null and aligned, no overlap (non-empty)
  const std::uint64_t total = L.rows * static_cast<std::uint64_t>(L.inner);
  if (total == 0) return;
  const run_fn kernel = cpu::active_kernel();
  const stream_id s{seed, key, domain};
  // Threads only where each gets enough work to amortize its share of a call: ~50 us to start a
  // thread when every call started its own (measured); a wake-up of a warm pool worker is cheaper,
  // but 2^16 elements (~30 us of kernel time) per thread keeps small fills on one thread.
  constexpr std::uint64_t min_per_thread = 1u << 16;
  const std::uint64_t nt = std::max<std::uint64_t>(
      1, std::min<std::uint64_t>(static_cast<std::uint64_t>(detail::resolve_threads(threads)), total / min_per_thread));
  if (nt == 1) {
    fill_range(L, t, p, s, kernel, 0, total);
    return;
  }
  // nt pieces, claimed by whichever pool thread is free (at most hardware_threads() threads run
  // them; fewer when workers are busy or could not be started). Split points rounded to multiples
  // of 64 elements so that every piece's runs start on whole Philox blocks where the rows allow it
  // (values never depend on this). total * k < 2^56 * 256 needs no more than 64 bits, but 128 keep
  // it obviously exact.
  auto split = [&](std::uint64_t k) {
    return k == nt ? total : static_cast<std::uint64_t>(static_cast<unsigned __int128>(total) * k / nt) / 64 * 64;
  };
  detail::parallel_for(static_cast<std::int64_t>(nt), static_cast<int>(nt), [&](std::int64_t k) {
    const auto u = static_cast<std::uint64_t>(k);
    fill_range(L, t, p, s, kernel, split(u), split(u + 1));
  });
}

void stream_words(std::uint64_t seed, std::uint64_t key, std::uint32_t domain, std::uint64_t start,
                  std::size_t count, std::uint32_t* out) {
  if (domain > 255) invalid("domain must be in [0, 255]");
  if (start > 4 * max_elements || count > 4 * max_elements - start) invalid("stream_words: range beyond the stream");
  cpu::active_words()(stream_id{seed, key, domain}, start, count, out);
}

void check_dist(const dist& d, dtype type, std::uint32_t domain, const dist_origin& origin) {
  (void)detail::prepare_for(d, type, domain, origin);
}

}  // namespace sow
