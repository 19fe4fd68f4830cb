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

// sow's version: defined here and nowhere else. CMakeLists.txt reads these three lines for
// project(VERSION), scikit-build-core for the Python package's metadata (pyproject.toml, regex
// provider) and sow.__version__ is SOW_VERSION_STRING (through _core); tests/test_house_rules.py
// checks that every layer agrees.
#define SOW_VERSION_MAJOR 0
#define SOW_VERSION_MINOR 1
#define SOW_VERSION_PATCH 0
#define SOW_DETAIL_STRINGIFY2(x) #x
#define SOW_DETAIL_STRINGIFY(x) SOW_DETAIL_STRINGIFY2(x)
/// "MAJOR.MINOR.PATCH"
#define SOW_VERSION_STRING                                                                  \
  SOW_DETAIL_STRINGIFY(SOW_VERSION_MAJOR) "." SOW_DETAIL_STRINGIFY(SOW_VERSION_MINOR) "." \
      SOW_DETAIL_STRINGIFY(SOW_VERSION_PATCH)
// The element-to-value mapping documented in docs/stream-format.md. Bump only with a new document.
#define SOW_STREAM_FORMAT 3
