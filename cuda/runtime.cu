// Host-side CUDA plumbing (runtime.cuh).
#include "runtime.cuh"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace sow::cuda_impl {

[[noreturn]] void fail(cudaError_t e, const char* what, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + what + ": " +
                           cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

const device_info& devices() {
  static const device_info info = [] {
    device_info i;
    int n = 0;
    i.error = cudaGetDeviceCount(&n);
    if (i.error != cudaSuccess) {
      (void)cudaGetLastError();
      n = 0;
    }
    i.count = n;
    return i;
  }();
  return info;
}

void require_device() {
  const device_info& i = devices();
  if (i.count > 0) return;
  throw std::runtime_error(std::string("no CUDA device: ") +
                           (i.error != cudaSuccess ? cudaGetErrorString(i.error) : "cudaGetDeviceCount found none"));
}

int current_device() {
  int dev = 0;
  SOW_CUDA_CHECK(cudaGetDevice(&dev));
  return dev;
}

unsigned grid_for(std::uint64_t work) {
  static std::mutex m;
  static std::vector<int> sms;
  const int dev = current_device();
  int sm = 0;
  {
    std::lock_guard<std::mutex> lock(m);
    if (sms.size() <= std::size_t(dev)) sms.resize(dev + 1, 0);
    if (sms[dev] == 0) SOW_CUDA_CHECK(cudaDeviceGetAttribute(&sms[dev], cudaDevAttrMultiProcessorCount, dev));
    sm = sms[dev];
  }
  const std::uint64_t want = (work + kThreads - 1) / kThreads;
  const std::uint64_t cap = std::uint64_t(sm) * 16;  // 2048 threads/SM: two waves of resident blocks
  return unsigned(std::max<std::uint64_t>(1, std::min(want, cap)));
}

void check_pointer(const void* p, const char* what) {
  cudaPointerAttributes attr{};
  SOW_CUDA_CHECK(cudaPointerGetAttributes(&attr, p));
  if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)
    throw std::invalid_argument(std::string(what) + " is not CUDA device memory (host memory goes to sow::fill)");
  const int dev = current_device();
  if (attr.type == cudaMemoryTypeDevice && attr.device != dev)
    throw std::invalid_argument(std::string(what) + " lives on cuda:" + std::to_string(attr.device) +
                                ", but the current device is cuda:" + std::to_string(dev));
}

device_buffer::device_buffer(std::size_t bytes, cudaStream_t stream) : st(stream) {
  SOW_CUDA_CHECK(cudaMallocAsync(&dev, bytes, st));
}

device_buffer::~device_buffer() {
  if (dev != nullptr) (void)cudaFreeAsync(dev, st);
}

upload::upload(const void* host, std::size_t bytes, cudaStream_t stream) : device_buffer(bytes, stream) {
  // Pageable source: the copy is staged before cudaMemcpyAsync returns, so `host` may go away.
  const cudaError_t e = cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, st);
  if (e != cudaSuccess) {
    (void)cudaFreeAsync(dev, st);
    dev = nullptr;
    SOW_CUDA_CHECK(e);
  }
}

}  // namespace sow::cuda_impl
