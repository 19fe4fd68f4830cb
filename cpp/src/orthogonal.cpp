// Haar-random orthogonal matrices on the CPU: Gaussian matrix from sow::fill, Householder vectors
// sampled directly (Stewart 1980), Q formed by orgqr's blocked algorithm on LAPACK's larft/larfb
// (parallel over fixed column panels, OpenBLAS single-threaded), Haar signs and gain applied while
// storing into the caller's (any-strided) output. See docs/orthogonal.md for the choice and the
// measurements behind it.
#include "sow/orthogonal.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "plan_backend.hpp"
#include "sow/detail/layout.hpp"
#include "thread_pool.hpp"
#include "sow/detail/householder.hpp"
#include "sow/round.hpp"

// LAPACK symbols carry a prefix in some distributions: scipy-openblas32 exports scipy_slarfb_ etc.
#ifndef SOW_LAPACK_PREFIX
#define SOW_LAPACK_PREFIX
#endif
#define SOW_CAT2(a, b) a##b
#define SOW_CAT(a, b) SOW_CAT2(a, b)
#define SOW_LAPACK(name) SOW_CAT(SOW_LAPACK_PREFIX, name)

extern "C" {
void SOW_LAPACK(slarft_)(const char* direct, const char* storev, const int* n, const int* k, const float* v,
                         const int* ldv, const float* tau, float* t, const int* ldt, std::size_t, std::size_t);
void SOW_LAPACK(dlarft_)(const char* direct, const char* storev, const int* n, const int* k, const double* v,
                         const int* ldv, const double* tau, double* t, const int* ldt, std::size_t, std::size_t);
void SOW_LAPACK(slarfb_)(const char* side, const char* trans, const char* direct, const char* storev, const int* m,
                         const int* n, const int* k, const float* v, const int* ldv, const float* t, const int* ldt,
                         float* c, const int* ldc, float* work, const int* ldwork, std::size_t, std::size_t,
                         std::size_t, std::size_t);
void SOW_LAPACK(dlarfb_)(const char* side, const char* trans, const char* direct, const char* storev, const int* m,
                         const int* n, const int* k, const double* v, const int* ldv, const double* t, const int* ldt,
                         double* c, const int* ldc, double* work, const int* ldwork, std::size_t, std::size_t,
                         std::size_t, std::size_t);
#if SOW_LAPACK_OPENBLAS
void SOW_LAPACK(openblas_set_num_threads)(int n);
int SOW_LAPACK(openblas_get_num_threads)(void);
char* SOW_LAPACK(openblas_get_config)(void);
#endif
}

namespace sow {

namespace {

using detail::invalid;

template <class T>
void larft(int n, int k, const T* v, int ldv, const T* tau, T* t, int ldt) {
  if constexpr (sizeof(T) == 4)
    SOW_LAPACK(slarft_)("F", "C", &n, &k, v, &ldv, tau, t, &ldt, 1, 1);
  else
    SOW_LAPACK(dlarft_)("F", "C", &n, &k, v, &ldv, tau, t, &ldt, 1, 1);
}

// C := (I - V T V^T) C for the m x n matrix C (ldc), V m x k unit lower trapezoidal (ldv).
template <class T>
void larfb(int m, int n, int k, const T* v, int ldv, const T* t, int ldt, T* c, int ldc, T* work, int ldwork) {
  if constexpr (sizeof(T) == 4)
    SOW_LAPACK(slarfb_)("L", "N", "F", "C", &m, &n, &k, v, &ldv, t, &ldt, c, &ldc, work, &ldwork, 1, 1, 1, 1);
  else
    SOW_LAPACK(dlarfb_)("L", "N", "F", "C", &m, &n, &k, v, &ldv, t, &ldt, c, &ldc, work, &ldwork, 1, 1, 1, 1);
}

// OpenBLAS's thread count is process-wide: every orthogonal call sets it (and restores the previous
// value) under one lock, so concurrent calls never see each other's setting.
std::mutex& lapack_mutex() {
  static std::mutex m;
  return m;
}

struct lapack_threads {
#if SOW_LAPACK_OPENBLAS
  int saved;
  explicit lapack_threads(int n) : saved(SOW_LAPACK(openblas_get_num_threads)()) {
    SOW_LAPACK(openblas_set_num_threads)(n);
  }
  ~lapack_threads() { SOW_LAPACK(openblas_set_num_threads)(saved); }
#else
  explicit lapack_threads(int) {}
#endif
};

int resolve_threads(int threads) {
  if (threads < 0) invalid("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
  return detail::resolve_threads(threads);
}

// Runs f(i) for i in [0, count) on up to `threads` threads of the library's pool, items handed out
// in chunks of `chunk`.
template <class F>
void parallel_for(std::int64_t count, int threads, std::int64_t chunk, F&& f) {
  const std::int64_t nchunks = (count + chunk - 1) / chunk;
  detail::parallel_for(nchunks, threads, [&](std::int64_t c) {
    const std::int64_t end = std::min(count, (c + 1) * chunk);
    for (std::int64_t i = c * chunk; i < end; ++i) f(i);
  });
}

// Forms Q = H_1 ... H_n [I; 0] (m x n, column-major, lda = m) in place from the Householder vectors
// in the strict lower part of `a` and `tau`: LAPACK orgqr's blocked algorithm (blocks of kNb
// reflectors, last block first), but with every update split into column panels of a fixed width
// kPanel that run in parallel on our threads while OpenBLAS itself runs single-threaded. The
// split depends only on (m, n), never on the thread count, so neither do the bits (OpenBLAS's own
// threaded gemm does change them: docs/orthogonal.md). A block's own columns are formed as one
// more panel ([I; 0] times the block reflector, from a copy of V), so all the work is level 3.
constexpr std::int64_t kNb = 64;
constexpr std::int64_t kPanel = 128;

// form_q's scratch, allocated once per call before anything is written: with blocks > 1, block 0
// is already stored when block 1 is formed, so an allocation there could fail after a write.
template <class T>
struct form_q_scratch {
  std::vector<T> tmat, vcopy, work;
  form_q_scratch(std::int64_t m, std::int64_t n)
      : tmat(static_cast<std::size_t>((n + kNb - 1) / kNb * kNb * kNb)),
        vcopy(static_cast<std::size_t>(m) * static_cast<std::size_t>(std::min(kNb, n))),
        work(static_cast<std::size_t>((n + kPanel) * kNb)) {}
};

template <class T>
void form_q(T* a, std::int64_t m, std::int64_t n, const T* tau, int threads, form_q_scratch<T>& scratch) {
  const std::int64_t nb = kNb, panel = kPanel;
  const std::int64_t nblk = (n + nb - 1) / nb;
  // Triangular factors of every block: they depend only on V and tau, so all at once, in parallel.
  std::vector<T>& tmat = scratch.tmat;
  parallel_for(nblk, threads, 1, [&](std::int64_t b) {
    const std::int64_t jb = b * nb, w = std::min(nb, n - jb);
    larft<T>(static_cast<int>(m - jb), static_cast<int>(w), a + jb * m + jb, static_cast<int>(m), tau + jb,
             tmat.data() + b * nb * nb, static_cast<int>(nb));
  });
  std::vector<T>& vcopy = scratch.vcopy;
  std::vector<T>& work = scratch.work;
  for (std::int64_t b = nblk - 1; b >= 0; --b) {
    const std::int64_t jb = b * nb, w = std::min(nb, n - jb), rows = m - jb;
    // V (rows x w) out of the way, then the block's own columns become [0; I; 0].
    for (std::int64_t j = 0; j < w; ++j) {
      T* col = a + (jb + j) * m;
      std::memcpy(vcopy.data() + j * rows, col + jb, static_cast<std::size_t>(rows) * sizeof(T));
      std::fill(col, col + m, T(0));
      col[jb + j] = T(1);
    }
    // Panel 0: the block's own w columns; then kPanel-wide panels of the columns after it.
    const std::int64_t rest = n - jb - w;
    const std::int64_t npanels = 1 + (rest + panel - 1) / panel;
    const T* t = tmat.data() + b * nb * nb;
    parallel_for(npanels, threads, 1, [&](std::int64_t p) {
      const std::int64_t c0 = p == 0 ? jb : jb + w + (p - 1) * panel;
      const std::int64_t pw = p == 0 ? w : std::min(panel, n - c0);
      larfb<T>(static_cast<int>(rows), static_cast<int>(pw), static_cast<int>(w), vcopy.data(), static_cast<int>(rows),
               t, static_cast<int>(nb), a + c0 * m + jb, static_cast<int>(m), work.data() + (c0 - jb) * nb,
               static_cast<int>(pw));
    });
  }
}

// Output element writers: the working-precision value v (already scaled) to the output dtype.
template <class T>
SOW_FORCEINLINE void store_one(unsigned char* dst, dtype type, T v) {
  switch (type) {
    case dtype::float32: {
      const float f = static_cast<float>(v);
      std::memcpy(dst, &f, 4);
      break;
    }
    case dtype::float64: {
      const double d = static_cast<double>(v);
      std::memcpy(dst, &d, 8);
      break;
    }
    case dtype::float16: {
      const std::uint16_t h = to_float16_bits(static_cast<float>(v));
      std::memcpy(dst, &h, 2);
      break;
    }
    case dtype::bfloat16: {
      const std::uint16_t h = to_bfloat16_bits(static_cast<float>(v));
      std::memcpy(dst, &h, 2);
      break;
    }
  }
}

// Writes block b: output element (b*block_rows + i, j) = a[i*rs + j*cs] * scale[tall ? j : i],
// in square tiles so that both the column-major scratch and the output are walked in cache-sized
// pieces. col_off[j] is the byte offset of flattened column j in the output.
template <class T>
void store_block(const orthogonal_plan& p, std::int64_t b, const T* a, const T* scale, unsigned char* base,
                 std::int64_t row_stride, const std::vector<std::int64_t>& col_off, int threads) {
  const std::int64_t R = p.block_rows, C = p.cols;
  const std::int64_t rs = p.tall ? 1 : p.m, cs = p.tall ? p.m : 1;
  constexpr std::int64_t tile = 64;
  const std::int64_t tr = (R + tile - 1) / tile, tc = (C + tile - 1) / tile;
  unsigned char* block_base = base + b * R * row_stride;
  const dtype type = p.type;
  const bool tall = p.tall;
  parallel_for(tr * tc, threads, 16, [&](std::int64_t t) {
    const std::int64_t i0 = (t / tc) * tile, j0 = (t % tc) * tile;
    const std::int64_t i1 = std::min(R, i0 + tile), j1 = std::min(C, j0 + tile);
    for (std::int64_t i = i0; i < i1; ++i) {
      unsigned char* row = block_base + i * row_stride;
      const T* src = a + i * rs;
      if (tall) {
        for (std::int64_t j = j0; j < j1; ++j) store_one<T>(row + col_off[j], type, src[j * cs] * scale[j]);
      } else {
        const T s = scale[i];
        for (std::int64_t j = j0; j < j1; ++j) store_one<T>(row + col_off[j], type, src[j * cs] * s);
      }
    }
  });
}

template <class T>
void run(const orthogonal_plan& p, const fill_target& target, std::uint64_t seed, std::uint64_t key, int threads) {
  const std::int64_t m = p.m, n = p.n;
  const std::size_t mn = static_cast<std::size_t>(m) * static_cast<std::size_t>(n);
  std::vector<T> a(mn), tau(static_cast<std::size_t>(n)), sign(static_cast<std::size_t>(n)), scale(static_cast<std::size_t>(n));
  form_q_scratch<T> scratch(m, n);

  const std::vector<std::int64_t> col_off = column_offsets(target);
  unsigned char* base = static_cast<unsigned char*>(target.data);
  const std::int64_t row_stride = target.strides[0];
  const T g = static_cast<T>(p.gain);

  // Small problems: starting threads costs more than it saves (measured: 256 x 256 runs in ~0.9 ms).
  const int work_threads = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(n) < 0x1p25 ? 1 : threads;
  for (std::int64_t b = 0; b < p.blocks; ++b) {
    block_view v;
    block_fill_target(p, b, a.data(), v);
    fill(v.target, dist::normal(0.0, 1.0), seed, key, threads, 0);
    stewart_reflectors<T>(a.data(), m, n, tau.data(), sign.data(), work_threads);
    {
      std::lock_guard<std::mutex> lock(lapack_mutex());
      lapack_threads single(1);  // OpenBLAS single-threaded; form_q parallelizes (see there)
      form_q<T>(a.data(), m, n, tau.data(), work_threads, scratch);
    }
    for (std::int64_t k = 0; k < n; ++k) scale[static_cast<std::size_t>(k)] = sign[static_cast<std::size_t>(k)] * g;
    store_block<T>(p, b, a.data(), scale.data(), base, row_stride, col_off, work_threads);
  }
}

}  // namespace

template <class T>
void stewart_reflectors(T* a, std::int64_t m, std::int64_t n, T* tau, T* sign, int threads) {
  const int nt = resolve_threads(threads);
  // Columns get shorter with k: hand them out in small chunks.
  parallel_for(n, nt, 8, [&](std::int64_t k) {
    T* x = a + k * m + k;  // x[0] = a[k, k], length m - k
    const std::int64_t len = m - k;
    const detail::householder h =
        detail::make_householder(static_cast<double>(x[0]), len > 1 ? detail::sum_squares(x + 1, len - 1) : 0.0);
    tau[k] = static_cast<T>(h.tau);
    if (!h.identity)
      for (std::int64_t i = 1; i < len; ++i) x[i] = static_cast<T>(static_cast<double>(x[i]) * h.scale);
    sign[k] = static_cast<T>(h.sign);
  });
}

template void stewart_reflectors<float>(float*, std::int64_t, std::int64_t, float*, float*, int);
template void stewart_reflectors<double>(double*, std::int64_t, std::int64_t, double*, double*, int);

void orthogonal(const fill_target& target, double gain, std::uint64_t seed, std::uint64_t key, std::int64_t blocks,
                int threads) {
  const int nt = resolve_threads(threads);
  const orthogonal_plan p = plan_orthogonal(target, gain, blocks);
  if (p.work == dtype::float64)
    run<double>(p, target, seed, key, nt);
  else
    run<float>(p, target, seed, key, nt);
}

// JAX's delta_orthogonal: its own entry point (not a wrapper around a zero fill) so that nothing is
// written before orthogonal's scratch is allocated: the centre tap is written by orthogonal (which
// allocates everything before its first store), then the other taps are zeroed by plain stores,
// which allocate nothing. A failed allocation therefore leaves `target` untouched.
void delta_orthogonal(const fill_target& target, double scale, std::uint64_t seed, std::uint64_t key, int threads) {
  const fill_target tap = delta_orthogonal_tap(target, scale);
  resolve_threads(threads);
  const std::vector<fill_target> zeros = delta_orthogonal_zeros(target);  // allocated before any write
  // all checks passed
  orthogonal(tap, scale, seed, key, 1, threads);
  const std::size_t item = itemsize(target.type);
  for (const fill_target& pl : zeros) {
    unsigned char* plane = static_cast<unsigned char*>(pl.data);
    for (std::int64_t i = 0; i < pl.shape[0]; ++i)
      for (std::int64_t j = 0; j < pl.shape[1]; ++j) std::memset(plane + i * pl.strides[0] + j * pl.strides[1], 0, item);
  }
}

std::string lapack_info() {
#if SOW_LAPACK_OPENBLAS
  const char* c = SOW_LAPACK(openblas_get_config)();
  return c ? std::string(c) : std::string("OpenBLAS");
#else
  return "LAPACK";
#endif
}

namespace {
// Plans (sow/plan.hpp) reach orthogonal through this registration, made when this file is linked.
const bool registered = [] {
  detail::set_orthogonal_backend({
      [](const fill_target& t, double gain, std::uint64_t seed, std::uint64_t key, std::int64_t blocks, int threads) {
        orthogonal(t, gain, seed, key, blocks, threads);
      },
      [](const fill_target& t, double scale, std::uint64_t seed, std::uint64_t key, int threads) {
        delta_orthogonal(t, scale, seed, key, threads);
      }});
  return true;
}();
}  // namespace

}  // namespace sow
