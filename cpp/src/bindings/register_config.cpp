// sow._core's part that describes the build: the version (sow/config.hpp, the one place it is
// defined), read by sow.__version__.
#include <pybind11/pybind11.h>

#include "sow/config.hpp"

namespace py = pybind11;

void sow_register_config(py::module_& m) {
  m.attr("__version__") = SOW_VERSION_STRING;
  m.attr("VERSION") = py::make_tuple(SOW_VERSION_MAJOR, SOW_VERSION_MINOR, SOW_VERSION_PATCH);
}
