// Run-time loading of cuSOLVER (cusolver.hpp). Search order, first hit wins:
//   1. $SOW_CUSOLVER_LIBRARY, the path of the library file (nothing else is tried when it is set);
//   2. a libcusolver already loaded in the process (e.g. by torch or CuPy): sharing it avoids a
//      second copy with its own cuBLAS;
//   3. the dynamic linker's own search (LD_LIBRARY_PATH, ld.so.cache);
//   4. the directories added with cusolver_add_search_dir (the Python package adds the lib
//      directories of the nvidia-cusolver wheels), then $CUDA_HOME/lib64, $CUDA_PATH/lib64 and
//      /usr/local/cuda/lib64.
// Names: libcusolver.so.12 (CUDA 13), then libcusolver.so.11 (CUDA 12). cuSOLVER's xORGQR has had
// this signature since CUDA 8, and it runs on any device memory/stream of the process whatever
// runtime version it was built with (streams and pointers are driver objects).
#include "cusolver.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime.cuh"
#include "sow/cuda.hpp"

namespace sow {
namespace cuda_impl {
namespace {

constexpr const char* kNames[] = {"libcusolver.so.12", "libcusolver.so.11"};

std::mutex& loader_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string>& extra_dirs() {
  static std::vector<std::string> dirs;
  return dirs;
}

std::optional<cusolver_lib>& loaded() {
  static std::optional<cusolver_lib> lib;
  return lib;
}

template <class F>
void resolve(void* h, const char* name, F*& out, std::string& missing) {
  out = reinterpret_cast<F*>(dlsym(h, name));
  if (out == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
}

// Entry points from an open handle; false (handle closed, `why` set) when one is missing.
bool bind(void* h, const std::string& path, cusolver_lib& lib, std::string& why) {
  std::string missing;
  cusolver_api::get_version_t<int>* get_version = nullptr;
  resolve(h, "cusolverGetVersion", get_version, missing);
  resolve(h, "cusolverDnCreate", lib.create, missing);
  resolve(h, "cusolverDnDestroy", lib.destroy, missing);
  resolve(h, "cusolverDnSetStream", lib.set_stream, missing);
  resolve(h, "cusolverDnSorgqr_bufferSize", lib.sorgqr_buffer_size, missing);
  resolve(h, "cusolverDnDorgqr_bufferSize", lib.dorgqr_buffer_size, missing);
  resolve(h, "cusolverDnSorgqr", lib.sorgqr, missing);
  resolve(h, "cusolverDnDorgqr", lib.dorgqr, missing);
  if (!missing.empty()) {
    why = path + ": missing " + missing;
    dlclose(h);
    return false;
  }
  lib.version = 0;
  if (get_version(&lib.version) != 0) lib.version = 0;
  lib.path = path;
  return true;
}

// The path a handle was loaded from (for messages and cusolver_info).
std::string origin(void* h, const char* fallback) {
  void* sym = dlsym(h, "cusolverDnCreate");
  Dl_info info{};
  if (sym != nullptr && dladdr(sym, &info) != 0 && info.dli_fname != nullptr) return info.dli_fname;
  return fallback;
}

bool try_open(const std::string& file, int flags, cusolver_lib& lib, std::vector<std::string>& tried) {
  void* h = dlopen(file.c_str(), flags);
  if (h == nullptr) {
    if (!(flags & RTLD_NOLOAD)) {
      const char* e = dlerror();
      tried.push_back(e != nullptr ? e : file + ": not found");
    }
    return false;
  }
  std::string why;
  if (bind(h, origin(h, file.c_str()), lib, why)) return true;
  tried.push_back(why);
  return false;
}

cusolver_lib load() {
  cusolver_lib lib{};
  std::vector<std::string> tried;
  if (const char* env = std::getenv("SOW_CUSOLVER_LIBRARY"); env != nullptr && *env != '\0') {
    if (try_open(env, RTLD_NOW | RTLD_LOCAL, lib, tried)) return lib;
    throw std::runtime_error("cuSOLVER could not be loaded from SOW_CUSOLVER_LIBRARY: " + tried.back());
  }
  for (const char* name : kNames)
    if (try_open(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD, lib, tried)) return lib;
  for (const char* name : kNames)
    if (try_open(name, RTLD_NOW | RTLD_LOCAL, lib, tried)) return lib;
  std::vector<std::string> dirs = extra_dirs();
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') dirs.push_back(std::string(v) + "/lib64");
  dirs.push_back("/usr/local/cuda/lib64");
  for (const std::string& d : dirs)
    for (const char* name : kNames)
      if (try_open(d + "/" + name, RTLD_NOW | RTLD_LOCAL, lib, tried)) return lib;
  std::string msg =
      "cuSOLVER not found (sow's orthogonal initialization on CUDA needs it): install it (pip install "
      "nvidia-cusolver for CUDA 13, nvidia-cusolver-cu12 for CUDA 12), or set SOW_CUSOLVER_LIBRARY to the "
      "path of libcusolver.so. Tried:";
  for (const std::string& t : tried) msg += "\n  " + t;
  throw std::runtime_error(msg);
}

}  // namespace

const cusolver_lib& cusolver() {
  std::lock_guard<std::mutex> lock(loader_mutex());
  std::optional<cusolver_lib>& lib = loaded();
  if (!lib) lib = load();
  return *lib;
}

cusolver_api::handle cusolver_handle() {
  const cusolver_lib& lib = cusolver();
  // Handles are bound to the device current at creation and are not shared between threads.
  // They live as long as the thread (never destroyed: at process exit the CUDA context may
  // already be gone, and destroying a handle then crashes some drivers).
  thread_local std::vector<cusolver_api::handle> handles;
  const int dev = current_device();
  if (handles.size() <= static_cast<std::size_t>(dev)) handles.resize(static_cast<std::size_t>(dev) + 1, nullptr);
  cusolver_api::handle& h = handles[static_cast<std::size_t>(dev)];
  if (h == nullptr) cusolver_check(lib.create(&h), "cusolverDnCreate");
  return h;
}

void cusolver_check(int status, const char* what) {
  if (status == 0) return;
  // cusolverStatus_t values (cusolver_common.h); the common ones by name.
  const char* name = status == 1   ? "CUSOLVER_STATUS_NOT_INITIALIZED"
                     : status == 2 ? "CUSOLVER_STATUS_ALLOC_FAILED"
                     : status == 3 ? "CUSOLVER_STATUS_INVALID_VALUE"
                     : status == 4 ? "CUSOLVER_STATUS_ARCH_MISMATCH"
                     : status == 6 ? "CUSOLVER_STATUS_EXECUTION_FAILED"
                     : status == 7 ? "CUSOLVER_STATUS_INTERNAL_ERROR"
                                   : "cuSOLVER error";
  throw std::runtime_error(std::string(what) + " failed: " + name + " (" + std::to_string(status) + ")");
}

}  // namespace cuda_impl

void cusolver_add_search_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(cuda_impl::loader_mutex());
  cuda_impl::extra_dirs().push_back(dir);
}

std::string cusolver_info() {
  const cuda_impl::cusolver_lib& lib = cuda_impl::cusolver();
  const int v = lib.version;
  return "cuSOLVER " + std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 100) + "." +
         std::to_string(v % 100) + " (" + lib.path + ")";
}

}  // namespace sow
