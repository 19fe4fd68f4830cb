// Internal to the pybind11 module sow._core (cpp/src/bindings/): the argument conversions that
// more than one register_*.cpp needs.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sow/dist.hpp"
#include "sow/fill.hpp"
#if SOW_HAVE_CUDA
#include "sow/cuda.hpp"
#endif

namespace sow::bindings {

/// A distribution as fill() receives it from Python: its name and parameters (docs/design.md,
/// "Contract of sow._core"), the parameter count checked.
inline sow::dist make_dist(const std::string& kind, const std::vector<double>& p) {
  auto need = [&](std::size_t n) {
    if (p.size() != n)
      throw std::invalid_argument("distribution '" + kind + "' takes " + std::to_string(n) + " parameters, got " +
                                  std::to_string(p.size()));
  };
  if (kind == "uniform") return need(2), sow::dist::uniform(p[0], p[1]);
  if (kind == "normal") return need(2), sow::dist::normal(p[0], p[1]);
  if (kind == "trunc_normal") return need(4), sow::dist::trunc_normal(p[0], p[1], p[2], p[3]);
  if (kind == "constant") return need(1), sow::dist::constant(p[0]);
  throw std::invalid_argument("unknown distribution '" + kind + "'");
}

/// An output as _core receives it: address, dtype name, shape, byte strides, and its place in the
/// global tensor (both empty: the whole tensor). The vectors must outlive the target.
inline sow::fill_target make_target(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                             const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& global_shape,
                             const std::vector<std::int64_t>& offsets) {
  sow::fill_target t;
  t.data = reinterpret_cast<void*>(addr);
  t.type = sow::parse_dtype(dtype);
  t.shape = shape;
  t.strides = strides;
  t.global_shape = global_shape;
  t.offsets = offsets;
  return t;
}

#if SOW_HAVE_CUDA
// CUDA: `stream` is a cudaStream_t as an int (0 = legacy default stream), `device` the CUDA
// ordinal the output lives on; the call switches to it for the launch and back.
class cuda_device_scope {
 public:
  explicit cuda_device_scope(int device) {
    const int n = sow::cuda_device_count();
    if (n == 0) return;  // the sow call validates its arguments, then reports "no CUDA device"
    if (device < 0 || device >= n)
      throw std::invalid_argument("CUDA device " + std::to_string(device) + " does not exist (" +
                                  std::to_string(n) + " visible)");
    prev_ = sow::cuda_current_device();
    if (prev_ != device) sow::cuda_set_device(device);
  }
  ~cuda_device_scope() {
    if (prev_ >= 0) {
      try {
        sow::cuda_set_device(prev_);
      } catch (...) {
      }
    }
  }
  cuda_device_scope(const cuda_device_scope&) = delete;
  cuda_device_scope& operator=(const cuda_device_scope&) = delete;

 private:
  int prev_ = -1;
};
#endif

}  // namespace sow::bindings
