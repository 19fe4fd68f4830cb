// Plans (sow/plan.hpp) write CUDA items through these entry points (sow/detail/cuda_plan_backend.hpp).
// They are registered at static initialization when this file is linked, and again by
// register_cuda_plan_backend(), which the Python extension calls at import: a static link that drops
// this object (nothing else references it) then still registers.
#include <stdexcept>
#include <string>
#include <vector>

#include "sow/cuda.hpp"
#include "sow/detail/cuda_plan_backend.hpp"

namespace sow::detail {
namespace {

// Makes `device` current for one call and restores the caller's device. Without a device, the sow
// call itself reports "no CUDA device" (after validating its arguments).
class device_scope {
 public:
  explicit device_scope(int device) {
    const int n = cuda_device_count();
    if (n == 0) return;
    if (device < 0 || device >= n)
      throw std::invalid_argument("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) +
                                  " visible)");
    prev_ = cuda_current_device();
    if (prev_ != device) cuda_set_device(device);
  }
  ~device_scope() {
    if (prev_ < 0) return;
    try {
      cuda_set_device(prev_);
    } catch (...) {
    }
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int prev_ = -1;
};

void fill_batch(const std::vector<fill_request>& requests, std::uint64_t seed, int device, void* stream) {
  std::vector<cuda_batch_item> batch;
  batch.reserve(requests.size());
  for (const fill_request& r : requests) batch.push_back({r.target, r.d, r.key, r.domain});
  const device_scope scope(device);
  fill_cuda_batch(batch, seed, stream);
}

void scatter(void* data, dtype type, const std::vector<std::int64_t>& byte_offsets, double value, int device,
             void* stream) {
  const device_scope scope(device);
  scatter_cuda(data, type, byte_offsets, value, stream);
}

void sparse(const fill_target& t, double sparsity, double std, std::uint64_t seed, std::uint64_t key, int device,
            void* stream) {
  const device_scope scope(device);
  sparse_cuda(t, sparsity, std, seed, key, stream);
}

void orthogonal(const fill_target& t, double gain, std::uint64_t seed, std::uint64_t key, std::int64_t blocks,
                int device, void* stream) {
  const device_scope scope(device);
  orthogonal_cuda(t, gain, seed, key, blocks, stream);
}

const bool registered = [] {
  register_cuda_plan_backend();
  return true;
}();

}  // namespace

void register_cuda_plan_backend() { set_cuda_backend({&fill_batch, &scatter, &sparse, &orthogonal}); }

}  // namespace sow::detail
