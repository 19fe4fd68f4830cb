// The slice of cuSOLVER's C API that sow calls (orthogonal on CUDA: xORGQR), declared here rather
// than taken from cusolverDn.h because cuSOLVER is loaded at run time (cusolver.cpp): building sow
// needs no cuSOLVER headers, and `import sow` / programs linking sow::cuda need no libcusolver
// until a device orthogonal call. The types are the header's own (struct cusolverDnContext,
// struct CUstream_st), and cusolver_api_check.cpp static_asserts every signature against
// cusolverDn.h wherever that header exists (the CMake build when the toolkit has it;
// tests/test_cusolver.py against the nvidia-cusolver wheel's header).
#pragma once

struct cusolverDnContext;  // cusolverDnHandle_t = cusolverDnContext*
struct CUstream_st;        // cudaStream_t = CUstream_st*

namespace sow::cusolver_api {

// Status is the header's enum cusolverStatus_t (an int; 0 = CUSOLVER_STATUS_SUCCESS): the
// templates take it as R so the check can instantiate them with the real enum.
using handle = cusolverDnContext*;
using stream = CUstream_st*;

template <class R> using get_version_t = R(int*);
template <class R> using create_t = R(handle*);
template <class R> using destroy_t = R(handle);
template <class R> using set_stream_t = R(handle, stream);
template <class R, class T> using orgqr_buffer_size_t = R(handle, int m, int n, int k, const T* a, int lda,
                                                          const T* tau, int* lwork);
template <class R, class T> using orgqr_t = R(handle, int m, int n, int k, T* a, int lda, const T* tau, T* work,
                                              int lwork, int* info);

}  // namespace sow::cusolver_api
