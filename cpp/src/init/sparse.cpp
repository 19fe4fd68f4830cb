// sparse's zero pattern (stream-format.md §7) and sparse_ (sow/init.hpp): the thresholds of a
// shard's columns, then the values, then the zeros.
//
// Column c's threshold is its k-th smallest pair `word << 32 | row` (k = ceil(sparsity * rows)):
// an element is zero iff its pair is <= the threshold. The threshold is found by one streaming
// pass over the column's words that counts the words below a narrow window around the expected
// k-th word and keeps the pairs inside it (window_for); when the window misses (about 1e-13 per
// column), by an exact radix selection of at most three more passes (exact_threshold). Memory is
// O(1) per column plus the window's pairs, ~16·sqrt(k·(rows-k)/rows) + 200 pairs per column,
// held for at most 256 columns (and at most 32 MiB) at once. The earlier selection kept
// min(k, rows-k+1) pairs per column and ran nth_element on every chunk, O(rows·k) near 2^24
// zeros per column; this one is O(rows) per column whatever k is.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "dispatch.hpp"
#include "sow/detail/layout.hpp"
#include "sow/init.hpp"
#include "sow/stream.hpp"
#include "sparse_pending.hpp"
#include "target.hpp"
#include "value_checks.hpp"

namespace sow {

using namespace init_impl;  // the value checks, run and the target checks

namespace {

constexpr std::uint32_t mask_domain = static_cast<std::uint32_t>(domain::sparse_mask);
constexpr std::uint64_t word_stage = detail::sparse_stage_words;  // words per read: 256 KiB, stays in L2
constexpr std::uint64_t pair_budget = std::uint64_t{1} << 22;  // window pairs held at once: 32 MiB
constexpr std::uint64_t max_block = 256;                       // columns per window pass

// Words of domain 1 for rows [ra, ra + n) x columns [cb, cb + w) of a (rows, cols) matrix, into a
// staging buffer allocated by the constructor: word (ra + i, cb + j) is at read(...)[i * stride(w) + j].
// The ranges are inside the (rows, cols) matrix, so the words kernel is called directly (once
// per row for narrow blocks: stream_words' checks and dispatch cost ~10% there).
class word_reader {
 public:
  word_reader(std::uint64_t seed, std::uint64_t key, std::uint64_t cols, std::uint64_t max_w)
      : s_{seed, key, mask_domain}, cols_(cols), words_(cpu::active_words()),
        own_(static_cast<std::size_t>(std::max(word_stage, max_w))), buf_(own_.data()) {}
  // Through the caller's `stage` of at least max(word_stage, max_w) words: allocates nothing.
  word_reader(std::uint64_t seed, std::uint64_t key, std::uint64_t cols, std::span<std::uint32_t> stage)
      : s_{seed, key, mask_domain}, cols_(cols), words_(cpu::active_words()), buf_(stage.data()) {}
  // Moves keep buf_ valid (a moved vector keeps its storage); a copy would not.
  word_reader(word_reader&&) = default;
  word_reader(const word_reader&) = delete;
  // Whole rows in one run when the words between two blocks are few. Measured per row (2^18 rows,
  // AVX-512): a run costs ~8 ns + 0.35 ns per word; one call per row ~12 ns + 2.7 ns per word
  // below 128 words (too short for the SIMD body, scalar Philox) and ~1.45 ns per word above.
  bool flat(std::uint64_t w) const { return cols_ - w <= (w < 128 ? 4 * w + 8 : 16); }
  std::uint64_t stride(std::uint64_t w) const { return flat(w) ? cols_ : w; }
  std::uint64_t rows_per_read(std::uint64_t w) const { return std::max<std::uint64_t>(1, word_stage / stride(w)); }
  // n <= rows_per_read(w), w <= max_w: at most max(word_stage, max_w) words.
  const std::uint32_t* read(std::uint64_t ra, std::uint64_t n, std::uint64_t cb, std::uint64_t w) {
    if (flat(w)) {
      words_(s_, ra * cols_ + cb, static_cast<std::size_t>((n - 1) * cols_ + w), buf_);
    } else {
      for (std::uint64_t i = 0; i < n; ++i)
        words_(s_, (ra + i) * cols_ + cb, static_cast<std::size_t>(w), buf_ + i * w);
    }
    return buf_;
  }

 private:
  stream_id s_;
  std::uint64_t cols_;
  cpu::words_fn words_;
  std::vector<std::uint32_t> own_;
  std::uint32_t* buf_;
};

struct sparse_matrix {
  std::uint64_t rows, cols, k;  // k = zeros per column, 1 <= k <= rows for the selection
  std::uint64_t seed, key;
};

// Words [lo, hi] around the k-th smallest of `rows` uniform words, and the pairs kept per column.
struct window {
  std::uint32_t lo = 0, hi = 0;
  std::uint64_t cap = 0;
};

// With s = sigmas and h = s·sqrt(k(rows-k)/rows) + s² + 1 rows, the window is the words whose
// expected rank is within h of k. It misses only when the number of words below one of its edges
// is ~s standard deviations off its mean: by Chernoff's bound < 1e-13 per column for s = 8, which
// the exact passes then handle. cap bounds the pairs kept (the window's expected count plus s
// standard deviations); more than cap words in the window also falls back to the exact passes.
window window_for(std::uint64_t rows, std::uint64_t k, double sigmas, std::int64_t cap_override) {
  const double n = static_cast<double>(rows), kk = static_cast<double>(k);
  const double h = sigmas * std::sqrt(kk * (n - kk) / n) + sigmas * sigmas + 1.0;
  const double per_row = 4294967296.0 / n;  // expected words per row
  const double a = std::floor((kk - h) * per_row), b = std::ceil((kk + h) * per_row);
  constexpr double top = 4294967295.0;
  window win;
  win.lo = a <= 0 ? 0u : static_cast<std::uint32_t>(std::min(a, top));
  win.hi = b >= top ? 0xffffffffu : static_cast<std::uint32_t>(std::max(b, static_cast<double>(win.lo)));
  const double expect = (static_cast<double>(win.hi) - win.lo + 1.0) / per_row;
  const double cap = std::ceil(expect + sigmas * std::sqrt(expect) + sigmas * sigmas + 16.0);
  win.cap = static_cast<std::uint64_t>(std::min(n, cap_override >= 0 ? static_cast<double>(cap_override) : cap));
  return win;
}

// The exact k-th pair of column c, given that it is among the `in` pairs with words in [lo, hi]
// and that `lt` pairs lie below lo. Each histogram pass (at most 2^16 buckets) shrinks [lo, hi]
// by 2^16, so a 32-bit range is one word after at most two; then one pass either collects the
// range's pairs (when at most cap, into scratch) and selects, or, for one word shared by more than
// cap rows, finds the row of the (k - lt)-th of them. At most three passes over the column.
std::uint64_t exact_threshold(const sparse_matrix& m, std::uint64_t c, std::uint32_t lo, std::uint32_t hi,
                              std::uint64_t lt, std::uint64_t in, std::uint64_t cap, std::uint64_t* scratch,
                              word_reader& rd, std::vector<std::uint64_t>& hist) {
  // f(row, word) for every row of the column, in row order, until f returns false.
  auto scan = [&](auto&& f) {
    const std::uint64_t per = rd.rows_per_read(1), st = rd.stride(1);
    for (std::uint64_t ra = 0; ra < m.rows; ra += per) {
      const std::uint64_t n = std::min(per, m.rows - ra);
      const std::uint32_t* p = rd.read(ra, n, c, 1);
      for (std::uint64_t i = 0; i < n; ++i)
        if (!f(ra + i, p[i * st])) return;
    }
  };
  for (;;) {
    const std::uint64_t need = m.k - lt;  // 1 <= need <= in
    if (in <= cap) {
      std::uint64_t got = 0;
      scan([&](std::uint64_t r, std::uint32_t x) {
        if (x >= lo && x <= hi) scratch[got++] = std::uint64_t{x} << 32 | r;
        return true;
      });
      std::nth_element(scratch, scratch + (need - 1), scratch + got);
      return scratch[need - 1];
    }
    if (lo == hi) {
      std::uint64_t seen = 0, row = 0;
      scan([&](std::uint64_t r, std::uint32_t x) {
        if (x == lo && ++seen == need) {
          row = r;
          return false;
        }
        return true;
      });
      return std::uint64_t{lo} << 32 | row;
    }
    const std::uint64_t width = std::uint64_t{hi} - lo + 1;
    const int bits = std::bit_width(width - 1);
    const int shift = bits > 16 ? bits - 16 : 0;
    hist.assign(static_cast<std::size_t>(((width - 1) >> shift) + 1), 0);
    scan([&](std::uint64_t, std::uint32_t x) {
      if (x >= lo && x <= hi) ++hist[(x - lo) >> shift];
      return true;
    });
    std::uint64_t below = 0, b = 0;
    while (below + hist[b] < need) below += hist[b++];
    lt += below;
    in = hist[b];
    const std::uint64_t new_lo = std::uint64_t{lo} + (b << shift);
    hi = static_cast<std::uint32_t>(std::min<std::uint64_t>(hi, new_lo + ((std::uint64_t{1} << shift) - 1)));
    lo = static_cast<std::uint32_t>(new_lo);
  }
}

// Thresholds of columns [c0, c0 + nc) (m.k >= 1). Columns are taken in blocks of w so that the
// words of a row block are generated in one run and the window pairs of the block fit the budget.
std::vector<std::uint64_t> thresholds_of(const sparse_matrix& m, std::uint64_t c0, std::uint64_t nc,
                                         const detail::sparse_selection& sel) {
  std::vector<std::uint64_t> thr(static_cast<std::size_t>(nc));
  if (nc == 0) return thr;
  const window win = window_for(m.rows, m.k, sel.sigmas, sel.cap);
  const std::uint32_t span = win.hi - win.lo;
  const std::uint64_t w_max = std::clamp<std::uint64_t>(pair_budget / std::max<std::uint64_t>(win.cap, 1), 1,
                                                        std::min(nc, max_block));
  std::vector<std::uint64_t> pool(static_cast<std::size_t>(w_max * win.cap)), below(w_max), inside(w_max), hist;
  word_reader rd(m.seed, m.key, m.cols, w_max);
  std::optional<word_reader> column_rd;  // the exact passes read one column; made on first use
  for (std::uint64_t cb = c0; cb < c0 + nc; cb += w_max) {
    const std::uint64_t w = std::min(w_max, c0 + nc - cb);
    std::fill(below.begin(), below.end(), 0);
    std::fill(inside.begin(), inside.end(), 0);
    const std::uint64_t per = rd.rows_per_read(w), st = rd.stride(w);
    for (std::uint64_t ra = 0; ra < m.rows; ra += per) {
      const std::uint64_t n = std::min(per, m.rows - ra);
      const std::uint32_t* p = rd.read(ra, n, cb, w);
      if (w == 1) {
        // One column: its counters stay in registers (1.2x faster than the loop below).
        std::uint64_t lt = 0, in = inside[0];
        for (std::uint64_t i = 0; i < n; ++i) {
          const std::uint32_t x = p[i * st];
          lt += x < win.lo;
          if (static_cast<std::uint32_t>(x - win.lo) <= span) {
            if (in < win.cap) pool[in] = std::uint64_t{x} << 32 | (ra + i);
            ++in;
          }
        }
        below[0] += lt;
        inside[0] = in;
        continue;
      }
      // Row by row: the staged words are read in order (column by column measured 1.3-1.5x
      // slower for 64- and 256-column blocks). Chunk counts in uint32 cannot alias the pairs.
      std::array<std::uint32_t, max_block> lt{};
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint32_t* row = p + i * st;
        for (std::uint64_t j = 0; j < w; ++j) {
          const std::uint32_t x = row[j];
          lt[j] += x < win.lo;
          if (static_cast<std::uint32_t>(x - win.lo) <= span) {
            const std::uint64_t q = inside[j]++;
            if (q < win.cap) pool[j * win.cap + q] = std::uint64_t{x} << 32 | (ra + i);
          }
        }
      }
      for (std::uint64_t j = 0; j < w; ++j) below[j] += lt[j];
    }
    for (std::uint64_t j = 0; j < w; ++j) {
      std::uint64_t* mine = pool.data() + j * win.cap;
      const std::uint64_t lt = below[j], in = inside[j];
      std::uint64_t& t = thr[static_cast<std::size_t>(cb - c0 + j)];
      if (m.k > lt && m.k - lt <= in && in <= win.cap) {
        std::nth_element(mine, mine + (m.k - lt - 1), mine + in);
        t = mine[m.k - lt - 1];
        continue;
      }
      if (!column_rd) column_rd.emplace(m.seed, m.key, m.cols, 1);
      if (m.k <= lt)  // below the window (then lo > 0)
        t = exact_threshold(m, cb + j, 0, win.lo - 1, 0, lt, win.cap, mine, *column_rd, hist);
      else if (m.k > lt + in)  // above it (then hi < 2^32 - 1)
        t = exact_threshold(m, cb + j, win.hi + 1, 0xffffffffu, lt + in, m.rows - lt - in, win.cap, mine, *column_rd, hist);
      else  // inside, but more than cap pairs
        t = exact_threshold(m, cb + j, win.lo, win.hi, lt, in, win.cap, mine, *column_rd, hist);
    }
  }
  return thr;
}

// A validated 2-D shard of a sparse matrix.
struct sparse_shard {
  sparse_matrix m;
  std::uint64_t r0, c0, nr, nc;
  std::int64_t s0, s1;  // byte strides
};

// The checks of sparse_dist's pattern half, plus the shard (as the engine checks it).
sparse_shard check_sparse_shard(const tensor_ref& out, double sparsity, std::uint64_t seed, std::uint64_t key) {
  check_global(out);
  const auto& g = out.global();
  if (g.size() != 2) fail("Only tensors with 2 dimensions are supported (shape " + py_tuple(g) + ")");
  real_min(sparsity, "sparsity", 0.0, true);
  if (!(sparsity < 1.0)) fail("sparsity must be in [0, 1), got " + py_repr(sparsity));
  if (static_cast<std::uint64_t>(g[0]) > (std::uint64_t{1} << 32))
    fail("sparse supports at most 2**32 rows, got shape " + py_tuple(g));
  const std::vector<std::int64_t> strides = check_target(out);
  sparse_shard s;
  s.m.rows = static_cast<std::uint64_t>(g[0]);
  s.m.cols = static_cast<std::uint64_t>(g[1]);
  s.m.k = static_cast<std::uint64_t>(std::ceil(sparsity * static_cast<double>(s.m.rows)));
  s.m.seed = seed;
  s.m.key = key;
  s.r0 = static_cast<std::uint64_t>(offset_of(out, 0));
  s.c0 = static_cast<std::uint64_t>(offset_of(out, 1));
  s.nr = static_cast<std::uint64_t>(out.shape[0]);
  s.nc = static_cast<std::uint64_t>(out.shape[1]);
  s.s0 = strides[0];
  s.s1 = strides[1];
  return s;
}

// Everything the zero writes need, allocated before anything is written: the thresholds of the
// shard's columns and (unless a caller's buffer is used, `stage`) the staging buffer of its words.
struct sparse_zeros {
  std::vector<std::uint64_t> thr;
  std::optional<word_reader> rd;
  std::uint64_t block = 0;  // columns per read, <= word_stage
};

sparse_zeros prepare_zeros(const sparse_shard& s, const detail::sparse_selection& sel, bool stage = true) {
  sparse_zeros z;
  if (s.m.k == 0 || s.nr == 0 || s.nc == 0) return z;
  z.thr = thresholds_of(s.m, s.c0, s.nc, sel);
  z.block = std::min(s.nc, word_stage);
  if (stage) z.rd.emplace(s.m.seed, s.m.key, s.m.cols, z.block);
  return z;
}

template <std::size_t Item>
void write_zeros_of(const tensor_ref& out, const sparse_shard& s, sparse_zeros& z) {
  unsigned char* data = static_cast<unsigned char*>(out.data);
  for (std::uint64_t cb = s.c0; cb < s.c0 + s.nc; cb += z.block) {
    const std::uint64_t w = std::min(z.block, s.c0 + s.nc - cb);
    const std::uint64_t per = z.rd->rows_per_read(w), st = z.rd->stride(w);
    const std::uint64_t* t = z.thr.data() + (cb - s.c0);
    for (std::uint64_t ra = s.r0; ra < s.r0 + s.nr; ra += per) {
      const std::uint64_t n = std::min(per, s.r0 + s.nr - ra);
      const std::uint32_t* p = z.rd->read(ra, n, cb, w);
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t r = ra + i;
        const std::uint32_t* row = p + i * st;
        unsigned char* base = data + static_cast<std::int64_t>(r - s.r0) * s.s0 + static_cast<std::int64_t>(cb - s.c0) * s.s1;
        for (std::uint64_t j = 0; j < w; ++j)
          if ((std::uint64_t{row[j]} << 32 | r) <= t[j]) std::memset(base + static_cast<std::int64_t>(j) * s.s1, 0, Item);
      }
    }
  }
}

// Zero bits are +0.0 in every float format.
void write_zeros(const tensor_ref& out, const sparse_shard& s, sparse_zeros& z) {
  if (z.thr.empty()) return;
  switch (itemsize(out.type)) {
    case 2: return write_zeros_of<2>(out, s, z);
    case 4: return write_zeros_of<4>(out, s, z);
    default: return write_zeros_of<8>(out, s, z);
  }
}

}  // namespace

std::vector<std::uint64_t> sparse_thresholds(std::span<const std::int64_t> global_shape, std::int64_t c0,
                                             std::int64_t nc, double sparsity, std::uint64_t seed, std::uint64_t key) {
  return detail::sparse_thresholds(global_shape, c0, nc, sparsity, seed, key, {});
}

namespace detail {

std::vector<std::uint64_t> sparse_thresholds(std::span<const std::int64_t> g, std::int64_t c0, std::int64_t nc,
                                             double sparsity, std::uint64_t seed, std::uint64_t key,
                                             const sparse_selection& sel) {
  if (g.size() != 2) fail("Only tensors with 2 dimensions are supported (shape " + py_tuple(g) + ")");
  check_shape(g);
  real_min(sparsity, "sparsity", 0.0, true);
  if (!(sparsity < 1.0)) fail("sparsity must be in [0, 1), got " + py_repr(sparsity));
  if (static_cast<std::uint64_t>(g[0]) > (std::uint64_t{1} << 32))
    fail("sparse supports at most 2**32 rows, got shape " + py_tuple(g));
  if (c0 < 0 || nc < 0 || c0 > g[1] || nc > g[1] - c0)
    fail("columns c0=" + std::to_string(c0) + ", nc=" + std::to_string(nc) + " lie outside the global shape " +
         py_tuple(g));
  if (!(sel.sigmas >= 0 && sel.sigmas <= 64)) fail("sigmas must be in [0, 64]");
  const sparse_matrix m{static_cast<std::uint64_t>(g[0]), static_cast<std::uint64_t>(g[1]),
                        static_cast<std::uint64_t>(std::ceil(sparsity * static_cast<double>(g[0]))), seed, key};
  // all checks passed
  if (m.k == 0) return {};
  return thresholds_of(m, static_cast<std::uint64_t>(c0), static_cast<std::uint64_t>(nc), sel);
}

}  // namespace detail

void apply_sparse_zero_pattern(const tensor_ref& out, double sparsity, std::uint64_t seed, std::uint64_t key) {
  const sparse_shard s = check_sparse_shard(out, sparsity, seed, key);
  // all checks passed
  sparse_zeros z = prepare_zeros(s, {});
  write_zeros(out, s, z);
}

namespace {
dist checked_sparse(const tensor_ref& out, double sparsity, double std) {
  check_global(out);
  const dist d = for_type(sparse_dist(out.global(), sparsity, std), out.type, "sparse", "std", std);
  detail::prepare_for(d, out.type, 0);  // the engine's parameter checks
  return d;
}
}  // namespace

void check_sparse(const tensor_ref& out, double sparsity, double std) {
  checked_sparse(out, sparsity, std);
  check_sparse_shard(out, sparsity, 0, 0);
}

void sparse_(const tensor_ref& out, const rng& r, double sparsity, double std) {
  const dist d = checked_sparse(out, sparsity, std);
  if (r.threads < 0) fail("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(r.threads));
  const sparse_shard s = check_sparse_shard(out, sparsity, r.seed.value, r.key.value);
  // all checks passed
  sparse_zeros z = prepare_zeros(s, {});  // every allocation before the first write
  run(out, d, r.seed.value, r.key.value, r.threads);
  write_zeros(out, s, z);
}

namespace detail {

struct sparse_pending::state {
  tensor_ref out;
  dist d;
  sparse_shard s;
  sparse_zeros z;
};

sparse_pending::sparse_pending(const tensor_ref& out, std::uint64_t seed, std::uint64_t key, double sparsity,
                               double std) {
  const dist d = checked_sparse(out, sparsity, std);
  const sparse_shard s = check_sparse_shard(out, sparsity, seed, key);
  // all checks passed
  s_ = std::make_unique<state>(state{out, d, s, prepare_zeros(s, {}, false)});
}

sparse_pending::sparse_pending(sparse_pending&&) noexcept = default;
sparse_pending& sparse_pending::operator=(sparse_pending&&) noexcept = default;
sparse_pending::~sparse_pending() = default;

const dist& sparse_pending::values() const { return s_->d; }

bool sparse_pending::has_zeros() const { return !s_->z.thr.empty(); }

void sparse_pending::write_zeros(std::span<std::uint32_t> stage) {
  if (!has_zeros()) return;
  if (stage.size() < word_stage) invalid("sparse: the staging buffer holds fewer than 2**16 words");
  sparse_zeros& z = s_->z;
  z.rd.emplace(s_->s.m.seed, s_->s.m.key, s_->s.m.cols, stage);
  sow::write_zeros(s_->out, s_->s, z);
}

}  // namespace detail

}  // namespace sow
