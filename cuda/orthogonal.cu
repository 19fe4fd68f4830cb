// Orthogonal initialization on CUDA (sow::orthogonal_cuda in sow/cuda.hpp): the CPU algorithm of
// cpp/src/orthogonal.cpp (docs/orthogonal.md) with the same plan, the same Gaussian values and
// bit-identical Householder vectors, and Q formed by cuSOLVER's xORGQR instead of our blocked
// OpenBLAS driver. Per block, four steps on the caller's stream:
//   1. gauss_kernel      the lower trapezoid of the tall m x n matrix A (column-major, lda = m) from
//                        stream (seed, key, 0), zeros above the diagonal (section 8 never uses
//                        them; zeroed so that xORGQR sees no stale pool memory whatever it reads);
//   2. householder_kernel Stewart's reflectors in place, tau, and sign(beta_k) * gain per column
//                        (sow/detail/householder.hpp, the CPU's arithmetic);
//   3. xORGQR            Q = H_0 ... H_{n-1} [I; 0] in place;
//   4. store_kernel      column k times its scale, transposed for wide blocks, converted to the
//                        output dtype, written through the output's strides.
// Scratch is stream-ordered (cudaMallocAsync) and reused by every block.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cusolver.hpp"
#include "sow/detail/layout.hpp"
#include "runtime.cuh"
#include "sow/cuda.hpp"
#include "sow/detail/householder.hpp"
#include "sow/orthogonal.hpp"
#include "sow/stream.hpp"
#include "values.cuh"

namespace sow {
namespace cuda_impl {
namespace {

constexpr int normal_kind = int(dist_kind::normal);

// Which block element A(r, c) is, and so its global index in the (rows, cols) view.
struct problem {
  std::int64_t m, n;     // A is m x n, m >= n
  std::int64_t cols;     // columns of the global view
  std::int64_t row0;     // global row of the block's row 0
  bool tall;             // A = block (tall) or block^T (wide)
};

__device__ __forceinline__ std::uint64_t global_index(const problem& p, std::int64_t r, std::int64_t c) {
  const std::int64_t i = p.tall ? r : c, j = p.tall ? c : r;
  return std::uint64_t(p.row0 + i) * std::uint64_t(p.cols) + std::uint64_t(j);
}

// Step 1. CTAs over columns (x) and row chunks (y, so thin matrices still fill the device),
// threads along the column: coalesced stores. Each thread generates its element's own Philox
// block; the redundant Philox work (x4 for float32) is small next to the inverse CDF, and the
// stores stay coalesced whatever the orientation.
template <class W>
__global__ void __launch_bounds__(kThreads) gauss_kernel(W* a, const problem p, const stream_id s, const dev_dist d) {
  const std::int64_t rstep = std::int64_t(gridDim.y) * blockDim.x;
  for (std::int64_t c = blockIdx.x; c < p.n; c += gridDim.x) {
    W* col = a + c * p.m;
    for (std::int64_t r = std::int64_t(blockIdx.y) * blockDim.x + threadIdx.x; r < p.m; r += rstep) {
      if (r < c) {
        col[r] = W(0);
        continue;
      }
      const std::uint64_t g = global_index(p, r, c);
      if constexpr (sizeof(W) == 4) {
        col[r] = value32<normal_kind>(d, stream_word(s, g));
      } else {
        const philox4x32_ctr blk = stream_block(s, g >> 1);
        const unsigned h = unsigned(g & 1) * 2;
        col[r] = value64<normal_kind>(d, blk.v[h] | (std::uint64_t{blk.v[h + 1]} << 32));
      }
    }
  }
}

// Step 2. Eight lanes per column (four columns per warp): lane j accumulates the partial sum j of
// sow/detail/householder.hpp, the eight are exchanged by shuffles and every lane combines them in
// the CPU's order, so all lanes hold the CPU's reflector; then the lanes scale v together.
template <class W>
__global__ void __launch_bounds__(kThreads)
    householder_kernel(W* a, std::int64_t m, std::int64_t n, W* tau, W* scale, W gain) {
  constexpr int L = detail::sum_lanes;
  const int lane = threadIdx.x % 32, sub = lane % L, group = lane / L;
  const std::int64_t warps = std::int64_t(gridDim.x) * (blockDim.x / 32);
  for (std::int64_t w = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32; w * (32 / L) < n; w += warps) {
    const std::int64_t k = w * (32 / L) + group;
    const bool active = k < n;
    W* x = a + (active ? k * m + k : 0);  // x[0] = A[k, k], length m - k
    const std::int64_t len = active ? m - k : 0;
    const double part = len > 1 ? detail::sum_squares_lane(x + 1, len - 1, sub) : 0.0;
    double acc[L];
#pragma unroll
    for (int t = 0; t < L; ++t) acc[t] = __shfl_sync(0xffffffffu, part, group * L + t);
    if (!active) continue;
    const detail::householder h = detail::make_householder(static_cast<double>(x[0]), detail::combine_sum_lanes(acc));
    if (!h.identity)
      for (std::int64_t i = 1 + sub; i < len; i += L) x[i] = static_cast<W>(static_cast<double>(x[i]) * h.scale);
    if (sub == 0) {
      tau[k] = static_cast<W>(h.tau);
      scale[k] = static_cast<W>(h.sign) * gain;  // the CPU's sign[k] * g, in W
    }
  }
}

// Step 4. 32 x 32 tiles of the (block_rows, cols) block through shared memory: read along A's
// columns (coalesced in the column-major scratch), write along the output's rows.
struct store_args {
  char* out;                          // element (row0, 0) of the output
  std::int64_t row_stride;            // bytes
  const std::int64_t* col_off;        // bytes, one per column
  std::int64_t rows, cols, m;         // block rows, columns, lda
  bool tall;
};

constexpr int kTile = 32, kTileRows = 8;

template <int DT, class W>
__global__ void __launch_bounds__(kTile* kTileRows) store_kernel(const W* a, const W* scale, const store_args s) {
  using O = out_t<DT>;
  __shared__ W tile[kTile][kTile + 1];
  const std::uint64_t tr = std::uint64_t(s.rows + kTile - 1) / kTile, tc = std::uint64_t(s.cols + kTile - 1) / kTile;
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (std::uint64_t t = blockIdx.x; t < tr * tc; t += gridDim.x) {
    const std::int64_t i0 = std::int64_t(t / tc) * kTile, j0 = std::int64_t(t % tc) * kTile;
    // Load: block element (i, j) is A(i, j) (tall) or A(j, i) (wide); tx runs down A's column.
#pragma unroll
    for (int q = 0; q < kTile; q += kTileRows) {
      const std::int64_t il = s.tall ? tx : ty + q, jl = s.tall ? ty + q : tx;
      const std::int64_t i = i0 + il, j = j0 + jl;
      if (i < s.rows && j < s.cols) {
        const W v = s.tall ? a[i + j * s.m] : a[j + i * s.m];
        tile[il][jl] = v * scale[s.tall ? j : i];
      }
    }
    __syncthreads();
    // Store: tx runs along the output row.
#pragma unroll
    for (int q = 0; q < kTile; q += kTileRows) {
      const std::int64_t i = i0 + ty + q, j = j0 + tx;
      if (i < s.rows && j < s.cols)
        *reinterpret_cast<typename O::T*>(s.out + i * s.row_stride + s.col_off[j]) = O::conv(tile[ty + q][tx]);
    }
    __syncthreads();
  }
}

// Byte offsets of the output's columns (sow::column_offsets), computed on the device: uploading
// them from pageable memory would make the host wait for the stream's earlier work.
constexpr int kMaxColDims = 24;
struct col_dims {
  int nd;  // dimensions 1.. of the output with size > 1, outermost first
  std::int64_t shape[kMaxColDims], stride[kMaxColDims];
};

__global__ void __launch_bounds__(kThreads) column_offsets_kernel(std::int64_t* off, std::int64_t cols, const col_dims d) {
  const std::int64_t step = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t j = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < cols; j += step) {
    std::int64_t q = j, o = 0;
    for (int k = d.nd - 1; k >= 0; --k) {
      const std::int64_t idx = q % d.shape[k];
      q /= d.shape[k];
      o += idx * d.stride[k];
    }
    off[j] = o;
  }
}

template <class W>
void run(const orthogonal_plan& p, const fill_target& target, std::uint64_t seed, std::uint64_t key,
         cudaStream_t st) {
  const cusolver_lib& lib = cusolver();  // a missing cuSOLVER throws before anything is enqueued
  const cusolver_api::handle h = cusolver_handle();
  cusolver_check(lib.set_stream(h, reinterpret_cast<cusolver_api::stream>(st)), "cusolverDnSetStream");
  const int m = int(p.m), n = int(p.n);
  const device_buffer a(std::size_t(p.m) * std::size_t(p.n) * sizeof(W), st);
  const device_buffer vecs(2 * std::size_t(p.n) * sizeof(W) + sizeof(int), st);  // tau, scale, info
  W* A = a.as<W>();
  W* tau = vecs.as<W>();
  W* scale = tau + p.n;
  int* info = reinterpret_cast<int*>(scale + p.n);
  int lwork = 0;
  if constexpr (sizeof(W) == 4)
    cusolver_check(lib.sorgqr_buffer_size(h, m, n, n, A, m, tau, &lwork), "cusolverDnSorgqr_bufferSize");
  else
    cusolver_check(lib.dorgqr_buffer_size(h, m, n, n, A, m, tau, &lwork), "cusolverDnDorgqr_bufferSize");
  const device_buffer ws(std::size_t(lwork > 0 ? lwork : 1) * sizeof(W), st);
  W* work = ws.as<W>();
  const device_buffer offs(std::size_t(p.cols) * sizeof(std::int64_t), st);
  col_dims cd{};
  for (std::size_t k = 1; k < target.shape.size(); ++k)
    if (target.shape[k] > 1 && cd.nd < kMaxColDims) {
      cd.shape[cd.nd] = target.shape[k];
      cd.stride[cd.nd] = target.strides[k];
      ++cd.nd;
    } else if (target.shape[k] > 1) {
      cd.nd = kMaxColDims + 1;  // more dimensions than the kernel takes
    }
  if (cd.nd <= kMaxColDims) {
    column_offsets_kernel<<<grid_for(std::uint64_t(p.cols)), kThreads, 0, st>>>(offs.as<std::int64_t>(), p.cols, cd);
    SOW_CUDA_CHECK(cudaGetLastError());
  } else {  // over 24 non-trivial column dimensions: computed on the host, uploaded
    const std::vector<std::int64_t> col_off = column_offsets(target);
    SOW_CUDA_CHECK(cudaMemcpyAsync(offs.dev, col_off.data(), col_off.size() * sizeof(std::int64_t),
                                   cudaMemcpyHostToDevice, st));
  }
  const std::size_t mn = std::size_t(p.m) * std::size_t(p.n);

  const dev_dist d = to_dev(detail::prepare_for(dist::normal(0.0, 1.0), p.work, 0));
  const W gain = static_cast<W>(p.gain);
  store_args sa{};
  sa.row_stride = target.strides[0];
  sa.col_off = offs.as<const std::int64_t>();
  sa.rows = p.block_rows;
  sa.cols = p.cols;
  sa.m = p.m;
  sa.tall = p.tall;
  const std::uint64_t tiles = std::uint64_t((p.block_rows + kTile - 1) / kTile) * std::uint64_t((p.cols + kTile - 1) / kTile);
  const unsigned store_grid = grid_for(tiles * kTile * kTileRows);
  // Gaussian: about grid_for(mn) CTAs, split between columns and row chunks.
  const std::int64_t gauss_ctas = grid_for(mn);
  const std::int64_t gx = std::min<std::int64_t>(p.n, gauss_ctas);
  const std::int64_t gy = std::max<std::int64_t>(
      1, std::min<std::int64_t>({(p.m + kThreads - 1) / kThreads, (gauss_ctas + gx - 1) / gx, 65535}));
  const dim3 gauss_grid{unsigned(gx), unsigned(gy)};
  const unsigned hh_grid = grid_for(std::uint64_t((p.n + 3) / 4) * 32);

  for (std::int64_t b = 0; b < p.blocks; ++b) {
    const problem pr{p.m, p.n, p.cols, b * p.block_rows, p.tall};
    gauss_kernel<W><<<gauss_grid, kThreads, 0, st>>>(A, pr, stream_id{seed, key, 0}, d);
    SOW_CUDA_CHECK(cudaGetLastError());
    householder_kernel<W><<<hh_grid, kThreads, 0, st>>>(A, p.m, p.n, tau, scale, gain);
    SOW_CUDA_CHECK(cudaGetLastError());
    if constexpr (sizeof(W) == 4)
      cusolver_check(lib.sorgqr(h, m, n, n, A, m, tau, work, lwork, info), "cusolverDnSorgqr");
    else
      cusolver_check(lib.dorgqr(h, m, n, n, A, m, tau, work, lwork, info), "cusolverDnDorgqr");
    sa.out = static_cast<char*>(target.data) + b * p.block_rows * target.strides[0];
    const dim3 block(kTile, kTileRows);
    if constexpr (sizeof(W) == 8) {
      store_kernel<int(dtype::float64), W><<<store_grid, block, 0, st>>>(A, scale, sa);
    } else if (p.type == dtype::float32) {
      store_kernel<int(dtype::float32), W><<<store_grid, block, 0, st>>>(A, scale, sa);
    } else if (p.type == dtype::float16) {
      store_kernel<int(dtype::float16), W><<<store_grid, block, 0, st>>>(A, scale, sa);
    } else {
      store_kernel<int(dtype::bfloat16), W><<<store_grid, block, 0, st>>>(A, scale, sa);
    }
    SOW_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace
}  // namespace cuda_impl

void orthogonal_cuda(const fill_target& target, double gain, std::uint64_t seed, std::uint64_t key,
                     std::int64_t blocks, void* stream) {
  using namespace cuda_impl;
  const orthogonal_plan p = plan_orthogonal(target, gain, blocks);  // validation first, as on the CPU
  require_device();
  check_pointer(target.data, "out");
  if (p.work == dtype::float64)
    run<double>(p, target, seed, key, as_stream(stream));
  else
    run<float>(p, target, seed, key, as_stream(stream));
}

}  // namespace sow
