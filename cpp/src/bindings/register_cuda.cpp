// sow._core's CUDA area (sow/cuda.hpp): has_cuda and the device queries always (a build without
// CUDA reports none); where sow_cuda is built, the plan backend's registration, the cuSOLVER loader
// and the raw entry points the GPU tests call (fill_cuda, sparse_keys_cuda, orthogonal_cuda); CUDA
// items themselves run as plans (register_run.cpp, register_plan.cpp).
// `stream` is a cudaStream_t as an int, `device` the output's CUDA ordinal (cuda_device_scope).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"
#if SOW_HAVE_CUDA
#include "sow/cuda.hpp"
#include "sow/detail/cuda_plan_backend.hpp"
#include "sow/fill.hpp"
#endif

namespace py = pybind11;

#if SOW_HAVE_CUDA
namespace {

using sow::bindings::cuda_device_scope;
using sow::bindings::make_dist;
using sow::bindings::make_target;

void fill_cuda(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
               const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& global_shape,
               const std::vector<std::int64_t>& offsets, const std::string& dist, const std::vector<double>& params,
               std::uint64_t seed, std::uint64_t key, std::uint32_t domain, std::uintptr_t stream, int device) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, global_shape, offsets);
  const sow::dist d = make_dist(dist, params);
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::fill_cuda(t, d, seed, key, reinterpret_cast<void*>(stream), domain);
}

void sparse_keys_cuda(std::uintptr_t addr, std::uint64_t rows, std::uint64_t cols, std::uint64_t c0, std::uint64_t nc,
                      std::uint64_t seed, std::uint64_t key, std::uintptr_t stream, int device) {
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::sparse_keys_cuda(reinterpret_cast<std::uint64_t*>(addr), rows, cols, c0, nc, seed, key,
                        reinterpret_cast<void*>(stream));
}

// Orthogonal initialization of device memory (cuSOLVER, loaded on first use).
void orthogonal_cuda(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& strides, double gain, std::uint64_t seed, std::uint64_t key,
                     std::int64_t blocks, std::uintptr_t stream, int device) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, {}, {});
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::orthogonal_cuda(t, gain, seed, key, blocks, reinterpret_cast<void*>(stream));
}

}  // namespace
#endif

void sow_register_cuda(py::module_& m) {
#if SOW_HAVE_CUDA
  sow::detail::register_cuda_plan_backend();  // plans with device items (a static link may drop its initializer)
  m.attr("has_cuda") = true;
  m.def("cuda_device_count", &sow::cuda_device_count);
  m.def("cuda_unavailable_reason", [] { return std::string(sow::cuda_unavailable_reason()); });
  m.def("fill_cuda", &fill_cuda, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("global_shape"), py::arg("offsets"), py::arg("dist"), py::arg("params"), py::arg("seed"),
        py::arg("key"), py::arg("domain"), py::arg("stream"), py::arg("device"));
  m.def("sparse_keys_cuda", &sparse_keys_cuda, py::arg("addr"), py::arg("rows"), py::arg("cols"), py::arg("c0"),
        py::arg("nc"), py::arg("seed"), py::arg("key"), py::arg("stream"), py::arg("device"));
  m.def("orthogonal_cuda", &orthogonal_cuda, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("gain"), py::arg("seed"), py::arg("key"), py::arg("blocks"), py::arg("stream"), py::arg("device"));
  m.def("cusolver_info", [] {
    py::gil_scoped_release release;
    return sow::cusolver_info();
  });
  m.def("cusolver_add_search_dir", &sow::cusolver_add_search_dir, py::arg("dir"));
#else
  m.attr("has_cuda") = false;
  m.def("cuda_device_count", [] { return 0; });
  m.def("cuda_unavailable_reason", [] { return std::string("sow was built without CUDA support"); });
#endif
}
