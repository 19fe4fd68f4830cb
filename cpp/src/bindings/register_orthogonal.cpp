// sow._core's orthogonal area: the LAPACK-free checks (plan_orthogonal, check_orthogonal_gain)
// always; orthogonal and delta_orthogonal of host memory, and lapack_info, where sow_orthogonal
// (the only code that needs a LAPACK) is built. The CUDA orthogonal is in register_cuda.cpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"
#include "sow/fill.hpp"
#include "sow/orthogonal.hpp"

namespace py = pybind11;

namespace {

using sow::bindings::make_target;

// Every check of an orthogonal call (plan_orthogonal, LAPACK-free), nothing written: the planning
// run of sow.init_batch and of meta tensors.
void check_orthogonal(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                      const std::vector<std::int64_t>& strides, double gain, std::int64_t blocks) {
  // Never dereferenced: a meta tensor (address 0) is checked as if it had memory.
  const sow::fill_target t = make_target(addr ? addr : 64, dtype, shape, strides, {}, {});
  (void)sow::plan_orthogonal(t, gain, blocks);
}

#if SOW_HAVE_LAPACK
// Orthogonal initialization (docs/orthogonal.md): the whole tensor, no shard.
void orthogonal(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                const std::vector<std::int64_t>& strides, double gain, std::uint64_t seed, std::uint64_t key,
                std::int64_t blocks, int threads) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, {}, {});
  py::gil_scoped_release release;
  sow::orthogonal(t, gain, seed, key, blocks, threads);
}

// delta_orthogonal of a whole host tensor (the tap first, then the zeros: see sow::delta_orthogonal).
void delta_orthogonal(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                      const std::vector<std::int64_t>& strides, double scale, std::uint64_t seed, std::uint64_t key,
                      int threads) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, {}, {});
  py::gil_scoped_release release;
  sow::delta_orthogonal(t, scale, seed, key, threads);
}
#endif

}  // namespace

void sow_register_orthogonal(py::module_& m) {
  m.def(
      "check_orthogonal_gain",
      [](double gain, const std::string& dtype, const std::string& name) {
        sow::check_orthogonal_gain(gain, sow::parse_dtype(dtype), name.c_str());
      },
      py::arg("gain"), py::arg("dtype"), py::arg("name") = "gain");
  m.def("check_orthogonal", &check_orthogonal, py::arg("addr"), py::arg("dtype"), py::arg("shape"),
        py::arg("strides"), py::arg("gain"), py::arg("blocks"));
#if SOW_HAVE_LAPACK
  m.attr("has_lapack") = true;
  m.def("orthogonal", &orthogonal, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("gain"), py::arg("seed"), py::arg("key"), py::arg("blocks"), py::arg("threads"));
  m.def("delta_orthogonal", &delta_orthogonal, py::arg("addr"), py::arg("dtype"), py::arg("shape"),
        py::arg("strides"), py::arg("scale"), py::arg("seed"), py::arg("key"), py::arg("threads"));
  m.def("lapack_info", &sow::lapack_info);
#else
  m.attr("has_lapack") = false;
#endif
}
