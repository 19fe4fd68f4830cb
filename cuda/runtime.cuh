// Host-side CUDA plumbing shared by the launchers (fill.cu, orthogonal.cu): error checking,
// device queries, launch sizing, pointer checks and stream-ordered scratch memory.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#define SOW_CUDA_CHECK(expr) ::sow::cuda_impl::check((expr), #expr, __FILE__, __LINE__)

namespace sow::cuda_impl {

constexpr int kThreads = 256;

[[noreturn]] void fail(cudaError_t e, const char* what, const char* file, int line);
inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear a non-sticky error so later calls start clean
    fail(e, what, file, line);
  }
}

struct device_info {
  int count = -1;
  cudaError_t error = cudaSuccess;
};
const device_info& devices();

/// std::runtime_error("no CUDA device: ...") unless a device is visible.
void require_device();
int current_device();

/// Blocks for a grid-stride loop over `work` items: enough to fill the device a few times over.
unsigned grid_for(std::uint64_t work);

/// `p` must be device or managed memory of the current device (std::invalid_argument naming `what`).
void check_pointer(const void* p, const char* what);

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

/// Stream-ordered device memory (cudaMallocAsync), freed stream-ordered when the guard dies, i.e.
/// after every kernel that uses it has been enqueued.
struct device_buffer {
  void* dev = nullptr;
  cudaStream_t st = nullptr;
  device_buffer(std::size_t bytes, cudaStream_t stream);
  ~device_buffer();
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(dev);
  }
};

/// A device_buffer holding a copy of `bytes` of host data (uploaded on the stream).
struct upload : device_buffer {
  upload(const void* host, std::size_t bytes, cudaStream_t stream);
};

}  // namespace sow::cuda_impl
