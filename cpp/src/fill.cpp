// The CPU engine: validate, collapse the shard into contiguous runs of global indices, split the
// runs across threads, and hand each run to the active SIMD kernel. Nothing here affects values:
// every element's value depends only on its global index (docs/stream-format.md).
#include "sow/fill.hpp"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.hpp"
#include "sow/detail/layout.hpp"
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

void fill_many(std::span<const fill_request> requests, int threads) {
  if (threads < 0) invalid("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
  struct job {
    const fill_request* r;
    prepared_dist p;
    layout L;
  };
  std::vector<job> jobs;
  jobs.reserve(requests.size());
  std::uint64_t total_bytes = 0;
  // A run of requests with one distribution (bit for bit), dtype and domain, as a plan of many
  // tensors of one spec makes, is prepared and range-checked once: that costs more than a small
  // tensor's layout.
  auto same_dist = [](const fill_request& a, const fill_request& b) {
    return a.d.kind == b.d.kind && a.target.type == b.target.type && a.domain == b.domain &&
           std::memcmp(&a.d.p0, &b.d.p0, sizeof(double)) == 0 && std::memcmp(&a.d.p1, &b.d.p1, sizeof(double)) == 0 &&
           std::memcmp(&a.d.p2, &b.d.p2, sizeof(double)) == 0 && std::memcmp(&a.d.p3, &b.d.p3, sizeof(double)) == 0;
  };
  prepared_dist last{};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const fill_request& r = requests[i];
    try {
      if (i == 0 || !same_dist(r, requests[i - 1])) last = detail::prepare_for(r.d, r.target.type, r.domain);
      job j{&r, last, make_layout(r.target)};
      total_bytes += j.L.total() * itemsize(r.target.type);
      if (j.L.total() != 0) jobs.push_back(std::move(j));
    } catch (const std::invalid_argument& e) {
      invalid("requests[" + std::to_string(i) + "]: " + e.what());
    }
  }
  if (jobs.empty()) return;
  // Pieces of about total/(4 * threads) bytes, at least 256 KiB (so a piece's kernel time dwarfs
  // its claim, a few tens of ns) and whole multiples of 64 elements; a small tensor is one piece.
  // Four pieces per thread let threads that finish early take over the remainder.
  const int nt = detail::resolve_threads(threads);
  const std::uint64_t piece_bytes = std::max<std::uint64_t>(256 << 10, total_bytes / (4 * static_cast<std::uint64_t>(nt)));
  struct piece {
    std::uint32_t job;
    std::uint64_t begin, end;
  };
  std::vector<piece> pieces;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const std::uint64_t n = jobs[j].L.total();
    const std::uint64_t per = std::max<std::uint64_t>(64, piece_bytes / itemsize(jobs[j].r->target.type) / 64 * 64);
    for (std::uint64_t b = 0; b < n; b += per)
      pieces.push_back({static_cast<std::uint32_t>(j), b, std::min(n, b + per)});
  }
  const run_fn kernel = cpu::active_kernel();
  auto run_piece = [&](std::int64_t k) {
    const piece& pc = pieces[static_cast<std::size_t>(k)];
    const job& j = jobs[pc.job];
    fill_range(j.L, j.r->target, j.p, stream_id{j.r->seed, j.r->key, j.r->domain}, kernel, pc.begin, pc.end);
  };
  if (nt == 1 || total_bytes < (std::uint64_t{1} << 18)) {
    for (std::size_t k = 0; k < pieces.size(); ++k) run_piece(static_cast<std::int64_t>(k));
    return;
  }
  detail::parallel_for(static_cast<std::int64_t>(pieces.size()), nt, run_piece);
}

void fill_elements(const fill_target& target, const dist& d, std::uint64_t seed, std::uint64_t key,
                   std::uint64_t first, std::uint64_t last, void* out, int threads) {
  if (threads < 0) invalid("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
  const prepared_dist p = detail::prepare_for(d, target.type, 0);
  // The elements as a C-contiguous tensor of target's shape whose element `first` is out[0]: only
  // elements in [first, last) are ever addressed.
  const std::size_t item = itemsize(target.type);
  std::vector<std::int64_t> strides(target.shape.size());
  std::int64_t acc = static_cast<std::int64_t>(item);
  for (std::size_t k = target.shape.size(); k-- > 0;) {
    strides[k] = acc;
    acc *= std::max<std::int64_t>(target.shape[k], 1);
  }
  fill_target t = target;
  t.strides = strides;
  t.data = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(out) - first * item);
  const layout L = make_layout(t, false);
  if (first > last || last > L.total()) invalid("fill_elements: [first, last) outside the tensor");
  if (first == last) return;
  if (out == nullptr) invalid("out: null data pointer");
  if (reinterpret_cast<std::uintptr_t>(out) % item != 0) invalid("out is not aligned to its item size");
  const run_fn kernel = cpu::active_kernel();
  const stream_id s{seed, key, 0};
  const std::uint64_t n = last - first;
  constexpr std::uint64_t min_per_thread = 1u << 16;
  const std::uint64_t nt = std::max<std::uint64_t>(
      1, std::min<std::uint64_t>(static_cast<std::uint64_t>(detail::resolve_threads(threads)), n / min_per_thread));
  auto split = [&](std::uint64_t k) { return k == nt ? last : first + (n * k / nt) / 64 * 64; };
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
