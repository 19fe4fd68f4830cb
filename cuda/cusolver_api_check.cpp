// Compile-time proof that cusolver_api.hpp declares what cusolverDn.h declares. Compiled into
// sow_cuda when CMake finds cusolverDn.h, and by tests/test_cusolver.py against any header it finds.
#include <cusolverDn.h>

#include <type_traits>

#include "cusolver_api.hpp"

namespace api = sow::cusolver_api;
using R = cusolverStatus_t;

static_assert(sizeof(cusolverStatus_t) == sizeof(int) && CUSOLVER_STATUS_SUCCESS == 0);
static_assert(std::is_same_v<cusolverDnHandle_t, api::handle>);
static_assert(std::is_same_v<cudaStream_t, api::stream>);
static_assert(std::is_same_v<decltype(cusolverGetVersion), api::get_version_t<R>>);
static_assert(std::is_same_v<decltype(cusolverDnCreate), api::create_t<R>>);
static_assert(std::is_same_v<decltype(cusolverDnDestroy), api::destroy_t<R>>);
static_assert(std::is_same_v<decltype(cusolverDnSetStream), api::set_stream_t<R>>);
static_assert(std::is_same_v<decltype(cusolverDnSorgqr_bufferSize), api::orgqr_buffer_size_t<R, float>>);
static_assert(std::is_same_v<decltype(cusolverDnDorgqr_bufferSize), api::orgqr_buffer_size_t<R, double>>);
static_assert(std::is_same_v<decltype(cusolverDnSorgqr), api::orgqr_t<R, float>>);
static_assert(std::is_same_v<decltype(cusolverDnDorgqr), api::orgqr_t<R, double>>);
