// cuSOLVER, loaded at run time (see cusolver_api.hpp for why): the entry points sow calls and the
// per-thread, per-device handles.
#pragma once

#include <string>

#include "cusolver_api.hpp"

namespace sow::cuda_impl {

struct cusolver_lib {
  cusolver_api::create_t<int>* create;
  cusolver_api::destroy_t<int>* destroy;
  cusolver_api::set_stream_t<int>* set_stream;
  cusolver_api::orgqr_buffer_size_t<int, float>* sorgqr_buffer_size;
  cusolver_api::orgqr_buffer_size_t<int, double>* dorgqr_buffer_size;
  cusolver_api::orgqr_t<int, float>* sorgqr;
  cusolver_api::orgqr_t<int, double>* dorgqr;
  std::string path;  // what was loaded
  int version;       // cusolverGetVersion(), e.g. 12401
};

/// Loads cuSOLVER on first use (thread-safe; a failure is not cached, so a later call retries)
/// and returns its entry points; std::runtime_error saying what was tried and how to fix it.
const cusolver_lib& cusolver();

/// The calling thread's cuSOLVER handle for the current CUDA device, created on first use.
cusolver_api::handle cusolver_handle();

/// std::runtime_error naming the call unless `status` is CUSOLVER_STATUS_SUCCESS.
void cusolver_check(int status, const char* what);

}  // namespace sow::cuda_impl
