// sow._core.run_item: every single-tensor function of the Python layer is a one-item plan
// (sow::run_item, sow/plan.hpp): one call, the plan's checks and messages (unprefixed), its writes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "plan_item.hpp"
#include "sow/plan.hpp"

namespace py = pybind11;

namespace {

// Returns (resolved spec, bytes). write=False: only the checks (meta tensors; allocating calls
// check before they allocate).
py::tuple run_item(const std::string& where, std::uintptr_t addr, const std::string& dtype,
                   const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides,
                   const std::vector<std::int64_t>& global_shape, const std::vector<std::int64_t>& offsets,
                   const std::string& spec, const py::dict& params, std::uint64_t key, std::uint64_t seed,
                   int threads, bool write, int device, std::uintptr_t stream) {
  sow::plan_item it;
  it.target = sow::bindings::make_plan_target(where, addr, dtype, shape, strides, 0, device, stream);
  it.where.global_shape = global_shape;
  it.where.offsets = offsets;
  it.spec = sow::bindings::make_spec(spec, params);
  it.key = key;
  sow::item_report r;
  {
    py::gil_scoped_release release;
    r = sow::run_item(std::move(it), seed, threads, write);
  }
  return py::make_tuple(r.spec, r.bytes);
}

}  // namespace

void sow_register_run(py::module_& m) {
  m.def("run_item", &run_item, py::arg("where"), py::arg("addr"), py::arg("dtype"), py::arg("shape"),
        py::arg("strides"), py::arg("global_shape"), py::arg("offsets"), py::arg("spec"), py::arg("params"),
        py::arg("key"), py::arg("seed"), py::arg("threads"), py::arg("write"), py::arg("device") = -1,
        py::arg("stream") = 0);
}
