// sow._core: the private extension. The public API is plain Python (python/sow/); this module only
// converts arguments and releases the GIL around the work. See docs/design.md, "Contract of
// sow._core", for what each function takes and raises.
//
// Layout (as boost-histogram's): this file creates the module and its format attributes; each
// area's functions live in register_<area>.cpp, which defines one `sow_register_<area>(m)`.
// To add an area: write register_<area>.cpp, add it to _core's sources in CMakeLists.txt, and
// declare and call its function in the list below.
#include <pybind11/pybind11.h>

#include "sow/config.hpp"  // SOW_STREAM_FORMAT

namespace py = pybind11;

// The areas, one register_<area>.cpp each. Registration order is the order of the calls in
// PYBIND11_MODULE below; no area depends on another's registrations, and none defines a name
// another defines (pybind11 would silently overload it).
void sow_register_fill(py::module_& m);        // fill, check_dist, stream words, philox, key_hash, ISA, threads
void sow_register_init(py::module_& m);        // initializer formulas (sow/init.hpp): fans, gains, sparse, eye, dirac
void sow_register_orthogonal(py::module_& m);  // orthogonal checks; LAPACK orthogonal, delta_orthogonal
void sow_register_cuda(py::module_& m);        // has_cuda, device queries and the CUDA entry points
void sow_register_plan(py::module_& m);        // plans (sow/plan.hpp): sow.Plan's C++ half
void sow_register_config(py::module_& m);      // the version (sow/config.hpp) and build facts
void sow_register_run(py::module_& m);         // run_item: a single-tensor call as a one-item plan

PYBIND11_MODULE(_core, m) {
  m.doc() = "sow's compiled core (private; use the sow package)";
  m.attr("STREAM_FORMAT") = SOW_STREAM_FORMAT;

  // The registrations, in order (add new areas at the end).
  sow_register_fill(m);
  sow_register_init(m);
  sow_register_orthogonal(m);
  sow_register_cuda(m);
  sow_register_plan(m);
  sow_register_config(m);
  sow_register_run(m);
}
