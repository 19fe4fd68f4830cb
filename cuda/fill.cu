// CUDA launchers and kernels (sow/cuda.hpp). The per-element algorithms are the host/device headers
// the CPU engine uses (sow/stream.hpp, sow/detail/transform.hpp, sow/round.hpp) instantiated with
// the scalar lane policy, and validation is the CPU engine's (sow/detail/layout.hpp), so the GPU
// writes exactly the bits the CPU writes. Built with --fmad=false -prec-div=true -prec-sqrt=true
// -ftz=false (cuda/CMakeLists.txt): every + - * / is one IEEE round-to-nearest-even operation.
//
// Work decomposition: one thread per Philox block (4 float32/float16/bfloat16 elements or 2
// float64), grid-stride loop. A shard is a set of `rows` runs of `inner` consecutive global indices
// (layout.hpp); work item w is block w % bpr of row w / bpr. Nothing here affects values.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sow/detail/layout.hpp"
#include "runtime.cuh"
#include "sow/cuda.hpp"
#include "sow/init.hpp"
#include "sow/stream.hpp"
#include "values.cuh"

namespace sow {
namespace cuda_impl {

constexpr int kMaxOuter = 24;  // dimensions left after merging, besides the innermost

std::uint64_t epb_of(dtype t) { return t == dtype::float64 ? 2 : 4; }

// Writes the elements g in [lo, hi) of Philox block b (lo, hi inside the block) to p (element lo)
// with byte stride `es`. Full blocks of contiguous, aligned memory use one vector store.
template <int DT, int KIND>
__device__ __forceinline__ void write_block(const dev_dist& d, const stream_id& s, std::uint64_t b,
                                            std::uint64_t lo, std::uint64_t hi, char* p, std::int64_t es) {
  using O = out_t<DT>;
  using T = typename O::T;
  constexpr int epb = O::epb;
  T v[epb];
  if constexpr (KIND == int(dist_kind::constant)) {
    const T c = DT == int(dtype::float64) ? O::conv(d.d.value) : O::conv(d.f.value);
#pragma unroll
    for (int j = 0; j < epb; ++j) v[j] = c;
  } else {
    const philox4x32_ctr blk = stream_block(s, b);
    if constexpr (DT == int(dtype::float64)) {
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const std::uint64_t x = blk.v[2 * j] | (std::uint64_t{blk.v[2 * j + 1]} << 32);
        v[j] = O::conv(value64<KIND>(d, x));
      }
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = O::conv(value32<KIND>(d, blk.v[j]));
    }
  }
  const std::uint64_t first = b * epb;
  if (lo == first && hi == first + epb && es == std::int64_t(sizeof(T)) &&
      (reinterpret_cast<std::uintptr_t>(p) % (epb * sizeof(T))) == 0) {
    if constexpr (DT == int(dtype::float32)) {
      *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    } else if constexpr (DT == int(dtype::float64)) {
      *reinterpret_cast<double2*>(p) = make_double2(v[0], v[1]);
    } else {
      *reinterpret_cast<uint2*>(p) = make_uint2(std::uint32_t(v[0]) | (std::uint32_t(v[1]) << 16),
                                                std::uint32_t(v[2]) | (std::uint32_t(v[3]) << 16));
    }
    return;
  }
#pragma unroll
  for (int j = 0; j < epb; ++j) {
    const std::uint64_t g = first + j;
    if (g >= lo && g < hi) *reinterpret_cast<T*>(p + std::int64_t(g - lo) * es) = v[j];
  }
}

// ---------------------------------------------------------------------------------------------
// One (sharded, strided) tensor.

struct fill_args {
  char* data;  // element (0, ..., 0) of the shard
  stream_id s;
  dev_dist d;
  std::uint64_t g_base, rows, inner, bpr, work;
  std::int64_t inner_stride;
  int nouter;
  std::int64_t outer_shape[kMaxOuter], outer_stride[kMaxOuter], outer_gstride[kMaxOuter];
};

template <int DT, int KIND, bool ONE_ROW>
__global__ void __launch_bounds__(kThreads) fill_kernel(const fill_args a) {
  constexpr std::uint64_t epb = out_t<DT>::epb;
  const std::uint64_t step = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t w = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; w < a.work; w += step) {
    std::uint64_t row = 0, jb = w;
    std::int64_t mem = 0;
    std::uint64_t g_row = a.g_base;
    if constexpr (!ONE_ROW) {
      row = w / a.bpr;
      jb = w - row * a.bpr;
      for (int k = a.nouter - 1; k >= 0; --k) {
        const std::uint64_t ext = std::uint64_t(a.outer_shape[k]);
        const std::uint64_t q = row / ext;
        const std::int64_t idx = std::int64_t(row - q * ext);
        row = q;
        mem += idx * a.outer_stride[k];
        g_row += std::uint64_t(idx * a.outer_gstride[k]);
      }
    }
    const std::uint64_t b = g_row / epb + jb;
    const std::uint64_t lo = umax(b * epb, g_row), hi = umin(b * epb + epb, g_row + a.inner);
    if (lo >= hi) continue;
    char* p = a.data + mem + std::int64_t(lo - g_row) * a.inner_stride;
    write_block<DT, KIND>(a.d, a.s, b, lo, hi, p, a.inner_stride);
  }
}

// ---------------------------------------------------------------------------------------------
// Many contiguous tensors in one launch: thread w finds its tensor by binary search over the
// prefix sums of the tensors' block counts.

struct batch_desc {
  char* data;                // element g0
  std::uint64_t g0, n;       // global index of the first element, element count
  std::uint64_t work_begin;  // prefix sum of block counts
  std::uint64_t key;
  std::uint32_t domain;
  int dtype;
  dev_dist d;
};

template <int DT>
__device__ __noinline__ void batch_item(const batch_desc& t, std::uint64_t seed, std::uint64_t jb) {
  constexpr std::uint64_t epb = out_t<DT>::epb;
  const stream_id s{seed, t.key, t.domain};
  const std::uint64_t b = t.g0 / epb + jb;
  const std::uint64_t lo = umax(b * epb, t.g0), hi = umin(b * epb + epb, t.g0 + t.n);
  if (lo >= hi) return;
  char* p = t.data + std::int64_t(lo - t.g0) * std::int64_t(sizeof(typename out_t<DT>::T));
  const std::int64_t es = sizeof(typename out_t<DT>::T);
  switch (t.d.kind) {
    case int(dist_kind::uniform): return write_block<DT, int(dist_kind::uniform)>(t.d, s, b, lo, hi, p, es);
    case int(dist_kind::normal): return write_block<DT, int(dist_kind::normal)>(t.d, s, b, lo, hi, p, es);
    case int(dist_kind::trunc_normal):
      return write_block<DT, int(dist_kind::trunc_normal)>(t.d, s, b, lo, hi, p, es);
    default: return write_block<DT, int(dist_kind::constant)>(t.d, s, b, lo, hi, p, es);
  }
}

__global__ void __launch_bounds__(kThreads)
    batch_kernel(const batch_desc* __restrict__ descs, int count, std::uint64_t work, std::uint64_t seed) {
  const std::uint64_t step = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t w = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; w < work; w += step) {
    int lo = 0, hi = count - 1;  // largest i with work_begin <= w
    while (lo < hi) {
      const int mid = (lo + hi + 1) >> 1;
      if (descs[mid].work_begin <= w) lo = mid; else hi = mid - 1;
    }
    const batch_desc& t = descs[lo];
    const std::uint64_t jb = w - t.work_begin;
    switch (t.dtype) {
      case int(dtype::float32): batch_item<int(dtype::float32)>(t, seed, jb); break;
      case int(dtype::float64): batch_item<int(dtype::float64)>(t, seed, jb); break;
      case int(dtype::float16): batch_item<int(dtype::float16)>(t, seed, jb); break;
      default: batch_item<int(dtype::bfloat16)>(t, seed, jb); break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// eye/dirac ones and the sparse zero-pattern keys.

template <class T>
__global__ void scatter_kernel(char* data, const std::int64_t* __restrict__ offs, std::uint64_t n, T v) {
  const std::uint64_t step = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    *reinterpret_cast<T*>(data + offs[i]) = v;
}

__global__ void sparse_keys_kernel(std::uint64_t* out, std::uint64_t rows, std::uint64_t cols, std::uint64_t c0,
                                   std::uint64_t nc, std::uint64_t seed, std::uint64_t key) {
  const stream_id s{seed, key, static_cast<std::uint32_t>(domain::sparse_mask)};
  const std::uint64_t n = rows * nc, step = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const std::uint64_t c = i / rows, r = i - c * rows;
    const std::uint32_t word = stream_word(s, r * cols + c0 + c);
    out[i] = (std::uint64_t{word} << 32) | r;
  }
}

// Sparse's zeros (stream-format.md §7) after its values: element (r, c) of the shard becomes +0.0
// (zero bits in every format) iff word(r * cols + c) << 32 | r <= thr[c - c0], the thresholds
// having been computed on the host (sow::sparse_thresholds). One thread per element; T is the
// unsigned integer of the element's size.
struct sparse_zero_args {
  char* data;  // element (0, 0) of the shard
  std::int64_t s0, s1;
  std::uint64_t r0, nr, c0, nc, cols;
  const std::uint64_t* thr;
  stream_id s;
};

template <class T>
__global__ void __launch_bounds__(kThreads) sparse_zero_kernel(const sparse_zero_args a) {
  const std::uint64_t n = a.nr * a.nc, step = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const std::uint64_t i_r = i / a.nc, i_c = i - i_r * a.nc, r = a.r0 + i_r;
    const std::uint32_t word = stream_word(a.s, r * a.cols + a.c0 + i_c);
    if (((std::uint64_t{word} << 32) | r) <= a.thr[i_c])
      *reinterpret_cast<T*>(a.data + std::int64_t(i_r) * a.s0 + std::int64_t(i_c) * a.s1) = T(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Host side.

// A validated single-tensor launch, ready to enqueue.
struct planned {
  fill_args a;
  dtype type;
  bool empty;
};

planned plan(const fill_target& t, const dist& d, std::uint64_t seed, std::uint64_t key, std::uint32_t domain) {
  const prepared_dist p = detail::prepare_for(d, t.type, domain);
  const detail::layout L = detail::make_layout(t);
  planned r{};
  r.type = t.type;
  r.empty = L.total() == 0;
  if (r.empty) return r;
  if (t.data == nullptr) detail::invalid("out: null data pointer");
  if (L.outer_shape.size() > std::size_t(kMaxOuter))
    detail::invalid("fill_cuda: the output's strides leave more than " + std::to_string(kMaxOuter) +
                    " non-mergeable dimensions; make it contiguous first");
  fill_args& a = r.a;
  a.data = static_cast<char*>(t.data);
  a.s = stream_id{seed, key, domain};
  a.d = to_dev(p);
  a.g_base = L.g_base;
  a.rows = L.rows;
  a.inner = std::uint64_t(L.inner);
  a.inner_stride = L.inner_stride;
  a.nouter = int(L.outer_shape.size());
  for (int k = 0; k < a.nouter; ++k) {
    a.outer_shape[k] = L.outer_shape[k];
    a.outer_stride[k] = L.outer_stride[k];
    a.outer_gstride[k] = L.outer_gstride[k];
  }
  const std::uint64_t epb = epb_of(t.type);
  if (L.rows == 1) {
    a.bpr = (L.g_base % epb + a.inner + epb - 1) / epb;  // exact
  } else {
    a.bpr = (a.inner + 2 * epb - 2) / epb;  // the most blocks a row can touch, whatever its start
  }
  a.work = a.rows * a.bpr;
  return r;
}

template <int DT, int KIND>
void launch_kind(const fill_args& a, cudaStream_t st) {
  const unsigned grid = grid_for(a.work);
  if (a.rows == 1)
    fill_kernel<DT, KIND, true><<<grid, kThreads, 0, st>>>(a);
  else
    fill_kernel<DT, KIND, false><<<grid, kThreads, 0, st>>>(a);
}

template <int DT>
void launch_dtype(const fill_args& a, cudaStream_t st) {
  switch (a.d.kind) {
    case int(dist_kind::uniform): return launch_kind<DT, int(dist_kind::uniform)>(a, st);
    case int(dist_kind::normal): return launch_kind<DT, int(dist_kind::normal)>(a, st);
    case int(dist_kind::trunc_normal): return launch_kind<DT, int(dist_kind::trunc_normal)>(a, st);
    default: return launch_kind<DT, int(dist_kind::constant)>(a, st);
  }
}

void launch(const planned& r, cudaStream_t st) {
  if (r.empty) return;
  switch (r.type) {
    case dtype::float32: launch_dtype<int(dtype::float32)>(r.a, st); break;
    case dtype::float64: launch_dtype<int(dtype::float64)>(r.a, st); break;
    case dtype::float16: launch_dtype<int(dtype::float16)>(r.a, st); break;
    case dtype::bfloat16: launch_dtype<int(dtype::bfloat16)>(r.a, st); break;
  }
  SOW_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda_impl

using namespace cuda_impl;

int cuda_device_count() noexcept {
  try {
    return devices().count;
  } catch (...) {
    return 0;
  }
}

const char* cuda_unavailable_reason() noexcept {
  const device_info& i = devices();
  if (i.count > 0) return "";
  return i.error != cudaSuccess ? cudaGetErrorString(i.error) : "no CUDA device found";
}

int cuda_current_device() {
  require_device();
  return current_device();
}

void cuda_set_device(int device) {
  require_device();
  SOW_CUDA_CHECK(cudaSetDevice(device));
}

void fill_cuda(const fill_target& target, const dist& d, std::uint64_t seed, std::uint64_t key, void* stream,
               std::uint32_t domain) {
  const planned r = plan(target, d, seed, key, domain);  // validation first, as sow::fill
  if (r.empty) return;
  require_device();
  check_pointer(target.data, "out");
  launch(r, as_stream(stream));
}

void fill_cuda_batch(std::span<const cuda_batch_item> items, std::uint64_t seed, void* stream) {
  std::vector<planned> plans;
  plans.reserve(items.size());
  for (const cuda_batch_item& it : items) plans.push_back(plan(it.target, it.d, seed, it.key, it.domain));
  std::vector<batch_desc> descs;
  std::vector<std::size_t> single;  // items that need a launch of their own
  std::uint64_t work = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const planned& r = plans[i];
    if (r.empty) continue;
    const bool contiguous = r.a.rows == 1 && r.a.inner_stride == std::int64_t(itemsize(r.type));
    if (!contiguous) {
      single.push_back(i);
      continue;
    }
    batch_desc t{};
    t.data = r.a.data;
    t.g0 = r.a.g_base;
    t.n = r.a.inner;
    t.work_begin = work;
    t.key = r.a.s.key;
    t.domain = r.a.s.domain;
    t.dtype = int(r.type);
    t.d = r.a.d;
    descs.push_back(t);
    work += r.a.bpr;
  }
  if (descs.empty() && single.empty()) return;
  require_device();
  for (std::size_t i = 0; i < plans.size(); ++i)
    if (!plans[i].empty) check_pointer(plans[i].a.data, ("batch item " + std::to_string(i)).c_str());
  const cudaStream_t st = as_stream(stream);
  if (descs.size() > std::size_t(INT32_MAX)) detail::invalid("fill_cuda_batch: too many items");
  if (!descs.empty()) {
    const upload buf(descs.data(), descs.size() * sizeof(batch_desc), st);
    batch_kernel<<<grid_for(work), kThreads, 0, st>>>(static_cast<const batch_desc*>(buf.dev), int(descs.size()),
                                                      work, seed);
    SOW_CUDA_CHECK(cudaGetLastError());
  }
  for (const std::size_t i : single) launch(plans[i], st);
}

void scatter_cuda(void* data, dtype type, std::span<const std::int64_t> byte_offsets, double value, void* stream) {
  const std::int64_t item = std::int64_t(itemsize(type));
  for (const std::int64_t o : byte_offsets)
    if (o % item != 0) detail::invalid("scatter_cuda: byte offsets must be multiples of the item size");
  detail::require_finite(value, "value");
  if (byte_offsets.empty()) return;
  if (data == nullptr) detail::invalid("out: null data pointer");
  require_device();
  check_pointer(data, "out");
  const cudaStream_t st = as_stream(stream);
  const upload buf(byte_offsets.data(), byte_offsets.size_bytes(), st);
  const auto* offs = static_cast<const std::int64_t*>(buf.dev);
  const std::uint64_t n = byte_offsets.size();
  const unsigned grid = grid_for(n);
  char* p = static_cast<char*>(data);
  const float f = static_cast<float>(value);
  switch (type) {
    case dtype::float32: scatter_kernel<float><<<grid, kThreads, 0, st>>>(p, offs, n, f); break;
    case dtype::float64: scatter_kernel<double><<<grid, kThreads, 0, st>>>(p, offs, n, value); break;
    case dtype::float16: scatter_kernel<std::uint16_t><<<grid, kThreads, 0, st>>>(p, offs, n, to_float16_bits(f)); break;
    case dtype::bfloat16:
      scatter_kernel<std::uint16_t><<<grid, kThreads, 0, st>>>(p, offs, n, to_bfloat16_bits(f));
      break;
  }
  SOW_CUDA_CHECK(cudaGetLastError());
}

void sparse_cuda(const fill_target& target, double sparsity, double std, std::uint64_t seed, std::uint64_t key,
                 void* stream) {
  const std::span<const std::int64_t> g = target.global_shape.empty() ? target.shape : target.global_shape;
  const dist d = sparse_dist(g, sparsity, std);            // rank 2, sparsity, rows <= 2^32, std
  const planned r = plan(target, d, seed, key, 0);         // shard, strides, dtype: as fill_cuda
  if (r.empty) return;
  require_device();
  check_pointer(target.data, "out");
  // all checks passed
  const std::int64_t c0 = target.offsets.empty() ? 0 : target.offsets[1];
  const std::vector<std::uint64_t> thr = sparse_thresholds(g, c0, target.shape[1], sparsity, seed, key);
  const cudaStream_t st = as_stream(stream);
  std::optional<upload> dev_thr;  // allocated before the first launch: a failure writes nothing
  if (!thr.empty()) dev_thr.emplace(thr.data(), thr.size() * sizeof(std::uint64_t), st);
  launch(r, st);
  if (thr.empty()) return;
  sparse_zero_args a{};
  a.data = static_cast<char*>(target.data);
  a.s0 = target.strides[0];
  a.s1 = target.strides[1];
  a.r0 = target.offsets.empty() ? 0 : std::uint64_t(target.offsets[0]);
  a.nr = std::uint64_t(target.shape[0]);
  a.c0 = std::uint64_t(c0);
  a.nc = std::uint64_t(target.shape[1]);
  a.cols = std::uint64_t(g[1]);
  a.thr = dev_thr->as<const std::uint64_t>();
  a.s = stream_id{seed, key, static_cast<std::uint32_t>(domain::sparse_mask)};
  const unsigned grid = grid_for(a.nr * a.nc);
  switch (itemsize(target.type)) {
    case 2: sparse_zero_kernel<std::uint16_t><<<grid, kThreads, 0, st>>>(a); break;
    case 4: sparse_zero_kernel<std::uint32_t><<<grid, kThreads, 0, st>>>(a); break;
    default: sparse_zero_kernel<std::uint64_t><<<grid, kThreads, 0, st>>>(a); break;
  }
  SOW_CUDA_CHECK(cudaGetLastError());
}

void sparse_keys_cuda(std::uint64_t* out, std::uint64_t rows, std::uint64_t cols, std::uint64_t c0, std::uint64_t nc,
                      std::uint64_t seed, std::uint64_t key, void* stream) {
  if (c0 > cols || nc > cols - c0) detail::invalid("sparse_keys_cuda: columns outside the matrix");
  if (rows > (std::uint64_t{1} << 32)) detail::invalid("sparse_keys_cuda: at most 2^32 rows");
  const std::uint64_t n = detail::checked_mul(rows, nc, "sparse keys");
  detail::checked_mul(rows, cols, "sparse shape");
  if (rows * cols > max_elements) detail::invalid("global shape has more than 2^56 elements");
  if (n == 0) return;
  if (out == nullptr) detail::invalid("out: null data pointer");
  require_device();
  check_pointer(out, "out");
  const cudaStream_t st = as_stream(stream);
  sparse_keys_kernel<<<grid_for(n), kThreads, 0, st>>>(out, rows, cols, c0, nc, seed, key);
  SOW_CUDA_CHECK(cudaGetLastError());
}

}  // namespace sow
