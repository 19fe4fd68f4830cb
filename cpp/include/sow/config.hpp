// Host/device decoration and feature switches shared by every sow header.
#pragma once

// Keyed on __CUDACC__ (not __CUDA_ARCH__) so host and device passes see the same declarations.
#if defined(__CUDACC__)
#define SOW_HD __host__ __device__
#define SOW_FORCEINLINE __forceinline__
#else
#define SOW_HD
#if defined(__GNUC__) || defined(__clang__)
#define SOW_FORCEINLINE inline __attribute__((always_inline))
#else
#define SOW_FORCEINLINE inline
#endif
#endif

#define SOW_VERSION_MAJOR 0
#define SOW_VERSION_MINOR 1
#define SOW_VERSION_PATCH 0
// The element-to-value mapping documented in docs/stream-format.md. Bump only with a new document.
#define SOW_STREAM_FORMAT 1
