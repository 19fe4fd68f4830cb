// sow._core's orthogonal area: check_orthogonal_gain always; has_lapack and lapack_info, where
// sow_orthogonal (the only code that needs a LAPACK) is built. Orthogonal items themselves run as
// plans (register_run.cpp, register_plan.cpp); the CUDA test hook is in register_cuda.cpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sow/fill.hpp"
#include "sow/orthogonal.hpp"

namespace py = pybind11;

void sow_register_orthogonal(py::module_& m) {
  m.def(
      "check_orthogonal_gain",
      [](double gain, const std::string& dtype, const std::string& name) {
        sow::check_orthogonal_gain(gain, sow::parse_dtype(dtype), name.c_str());
      },
      py::arg("gain"), py::arg("dtype"), py::arg("name") = "gain");
#if SOW_HAVE_LAPACK
  m.attr("has_lapack") = true;
  m.def("lapack_info", &sow::lapack_info);
#else
  m.attr("has_lapack") = false;
#endif
}
