// CUDA entry points: fill device memory with exactly the bits the CPU engine (sow/fill.hpp) writes.
// This header needs no CUDA header: streams are passed as opaque handles (a cudaStream_t cast to
// void*; nullptr is the legacy default stream). Link sow::cuda (built when CMake finds nvcc, see
// SOW_CUDA); the CUDA runtime is linked statically, so programs using it start on machines with no
// GPU or driver, and these calls then throw std::runtime_error("no CUDA device: ...").
//
// Every call is asynchronous with respect to the host and ordered on `stream`; it validates all its
// arguments first (the same checks, and the same std::invalid_argument messages, as sow::fill) and
// throws before enqueuing anything. CUDA errors become std::runtime_error naming file and line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "sow/dist.hpp"
#include "sow/fill.hpp"

namespace sow {

/// Number of CUDA devices visible to this process; 0 when there is no device or no driver.
int cuda_device_count() noexcept;

/// Why there is no device ("" when cuda_device_count() > 0), e.g. "CUDA driver version is
/// insufficient for CUDA runtime version".
const char* cuda_unavailable_reason() noexcept;

/// The calling thread's current CUDA device, and switching it (std::runtime_error on CUDA errors).
int cuda_current_device();
void cuda_set_device(int device);

/// Device fill on the *current* CUDA device: `target.data` must be device (or managed) memory of
/// that device. Semantics, values and validation are those of sow::fill (shards, byte strides of
/// any sign, global index), for stream (seed, key, domain).
void fill_cuda(const fill_target& target, const dist& d, std::uint64_t seed, std::uint64_t key, void* stream,
               std::uint32_t domain = 0);

/// One tensor of a batched fill.
struct cuda_batch_item {
  fill_target target;
  dist d;
  std::uint64_t key = 0;
  std::uint32_t domain = 0;
};

/// Fills every item (all on the current device) with stream (seed, item.key, item.domain). The
/// items whose memory is one contiguous run (the usual whole tensors) are filled by ONE kernel
/// launch; any other item gets a launch of its own on the same stream. Everything is validated
/// before anything is enqueued.
void fill_cuda_batch(std::span<const cuda_batch_item> items, std::uint64_t seed, void* stream);

/// Writes `value` (rounded as a constant fill rounds it) at data + byte_offsets[i] for each i: the
/// ones of eye/dirac after a zero fill. Offsets are read from host memory and uploaded.
void scatter_cuda(void* data, dtype type, std::span<const std::int64_t> byte_offsets, double value, void* stream);

/// sow::sparse_ into device memory on the current device: `target` (a 2-D shard, as for fill_cuda)
/// gets N(0, std²) values with the zero pattern of stream-format.md §7. The thresholds of the
/// shard's columns are computed on the host (sow::sparse_thresholds: one streaming pass over
/// those columns' words, O(1) memory per column plus a small window), uploaded (nc uint64, before
/// anything is enqueued that writes), then one launch writes the values and one the zeros, both
/// on `stream`. Validation is sparse_dist's and fill_cuda's, before anything is computed.
void sparse_cuda(const fill_target& target, double sparsity, double std, std::uint64_t seed, std::uint64_t key,
                 void* stream);

/// Sparse zero-pattern keys (docs/stream-format.md section 7) for columns [c0, c0 + nc) of a
/// (rows, cols) matrix: out[(c - c0) * rows + r] = word(r * cols + c) of domain 1 << 32 | r,
/// out being device memory of rows * nc uint64.
void sparse_keys_cuda(std::uint64_t* out, std::uint64_t rows, std::uint64_t cols, std::uint64_t c0, std::uint64_t nc,
                      std::uint64_t seed, std::uint64_t key, void* stream);

/// Haar-random orthogonal initialization of device memory on the current device: the semantics,
/// validation and stream elements of sow::orthogonal (sow/orthogonal.hpp), with Q formed by
/// cuSOLVER's xORGQR from the same Householder vectors the CPU builds (bit-identical reflectors;
/// Q agrees with the CPU's to rounding). Scratch memory (the block's m x n working matrix, two
/// n-vectors, one int64 per output column and xORGQR's workspace) is stream-ordered
/// (cudaMallocAsync) and freed on `stream`. cuSOLVER is loaded on the first call (see
/// cusolver_info); without it, std::runtime_error before anything is enqueued.
void orthogonal_cuda(const fill_target& target, double gain, std::uint64_t seed, std::uint64_t key,
                     std::int64_t blocks, void* stream);

/// Loads cuSOLVER if it is not loaded yet and says which: e.g. "cuSOLVER 12.4.1
/// (/.../nvidia/cu13/lib/libcusolver.so.12)". std::runtime_error listing what was tried when none
/// is found. Search order: $SOW_CUSOLVER_LIBRARY (a file path; nothing else when set), a
/// libcusolver.so.12/.11 already loaded in the process, the dynamic linker's search, the
/// directories given to cusolver_add_search_dir, $CUDA_HOME/lib64, $CUDA_PATH/lib64,
/// /usr/local/cuda/lib64.
std::string cusolver_info();

/// Adds a directory to cuSOLVER's search list (before the CUDA_HOME entries); no effect once loaded.
void cusolver_add_search_dir(const std::string& dir);

}  // namespace sow
