// Internal: how plans (plan.cpp, in sow_core) reach CUDA memory. sow_core cannot link the CUDA
// library (it must run on machines without CUDA), so sow_cuda registers these entry points
// (cuda/plan_backend.cpp: at static initialization, and again from register_cuda_plan_backend(),
// which the Python extension calls at import so a static link can never drop the registration).
// Without them, validate() refuses device items. Each entry makes `device` current for the call
// and restores the caller's device; everything is enqueued on `stream`.
#pragma once

#include <cstdint>
#include <vector>

#include "sow/fill.hpp"

namespace sow::detail {

struct cuda_backend {
  // Every request, all on one device and stream: the contiguous ones in one launch (fill_cuda_batch).
  void (*fill_batch)(const std::vector<fill_request>& requests, std::uint64_t seed, int device, void* stream) = nullptr;
  // `value` at data + byte_offsets[i] (the ones of eye/dirac after their zero fill).
  void (*scatter)(void* data, dtype type, const std::vector<std::int64_t>& byte_offsets, double value, int device,
                  void* stream) = nullptr;
  void (*sparse)(const fill_target& t, double sparsity, double std, std::uint64_t seed, std::uint64_t key, int device,
                 void* stream) = nullptr;
  void (*orthogonal)(const fill_target& t, double gain, std::uint64_t seed, std::uint64_t key, std::int64_t blocks,
                     int device, void* stream) = nullptr;
};

void set_cuda_backend(const cuda_backend& b);
cuda_backend get_cuda_backend();

/// Defined in sow_cuda: registers its entry points (idempotent).
void register_cuda_plan_backend();

}  // namespace sow::detail
