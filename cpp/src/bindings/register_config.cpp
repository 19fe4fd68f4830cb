// sow._core's part that describes the build, for sow.show_config() and sow.__version__: the version
// (sow/config.hpp, the one place it is defined), the compiler, and the thread pool's limit. The
// rest of show_config's facts (ISA, LAPACK, CUDA) come from the functions bindings.cpp registers.
#include <pybind11/pybind11.h>

#include "sow/config.hpp"
#include "thread_pool.hpp"

#ifndef SOW_BUILD_TYPE  // set by CMakeLists.txt; a hand-made build has none
#define SOW_BUILD_TYPE ""
#endif
#ifndef SOW_CUDA_ARCHITECTURES
#define SOW_CUDA_ARCHITECTURES ""
#endif

namespace py = pybind11;

namespace {

const char* compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#elif defined(_MSC_VER)
  return "msvc";
#else
  return "unknown";
#endif
}

}  // namespace

void sow_register_config(py::module_& m) {
  m.attr("__version__") = SOW_VERSION_STRING;
  m.attr("VERSION") = py::make_tuple(SOW_VERSION_MAJOR, SOW_VERSION_MINOR, SOW_VERSION_PATCH);
  // The most threads one call runs on is min(hardware_threads(), MAX_THREADS) (thread_pool.hpp).
  m.attr("MAX_THREADS") = sow::detail::max_threads;
  py::dict build;
  build["compiler"] = compiler();
  build["cplusplus"] = static_cast<long>(__cplusplus);
  build["build_type"] = SOW_BUILD_TYPE;
  build["cuda_architectures"] = SOW_CUDA_ARCHITECTURES;
  m.attr("BUILD") = build;
}
