// sow._core's plan (sow/plan.hpp): the Python sow.Plan holds one and adds its items after checking
// their types; every value check and message comes from plan.cpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "plan_item.hpp"
#include "sow/plan.hpp"

namespace py = pybind11;

namespace {

class py_plan {
 public:
  explicit py_plan(std::uint64_t seed) : p_(seed) {}

  std::size_t add(const std::string& name, const std::string& where, std::uintptr_t addr, const std::string& dtype,
                  const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides, std::uint64_t offset,
                  const std::vector<std::int64_t>& global_shape, const std::vector<std::int64_t>& offsets,
                  const std::vector<std::vector<std::int64_t>>& index, const std::string& spec, const py::dict& params,
                  std::uint64_t key, int device, std::uintptr_t stream) {
    sow::plan_item it;
    it.name = name;
    it.target = sow::bindings::make_plan_target(where, addr, dtype, shape, strides, offset, device, stream);
    it.where.global_shape = global_shape;
    it.where.offsets = offsets;
    it.where.index = index;
    it.spec = sow::bindings::make_spec(spec, params);
    it.key = key;
    return p_.add(std::move(it));
  }

  py::list validate() const {
    std::vector<sow::item_report> r;
    {
      py::gil_scoped_release release;
      r = sow::validate(p_);
    }
    py::list out;
    for (const auto& x : r) out.append(py::make_tuple(x.spec, x.bytes));
    return out;
  }

  void execute(int threads) const {
    py::gil_scoped_release release;
    sow::execute(p_, threads);
  }

  void write_range(std::size_t item, std::uint64_t begin, std::uint64_t end, std::uintptr_t out, int threads) const {
    py::gil_scoped_release release;
    sow::write_range(p_, item, begin, end, reinterpret_cast<void*>(out), threads);
  }

  std::size_t size() const { return p_.size(); }
  std::uint64_t seed() const { return p_.seed(); }

 private:
  sow::plan p_;
};

py::list init_table() {
  py::list out;
  for (const auto& info : sow::init_names()) {
    py::list params;
    for (const auto& p : info.params) {
      py::object dflt = py::none();
      if (p.default_value) std::visit([&](const auto& v) { dflt = py::cast(v); }, *p.default_value);
      const char* kind = p.kind == sow::param_kind::real ? "real" : p.kind == sow::param_kind::integer ? "int" : "str";
      params.append(py::make_tuple(p.name, kind, dflt, p.required));
    }
    py::dict d;
    d["name"] = info.name;
    d["random"] = info.random;
    d["elementwise"] = info.elementwise;
    d["shardable"] = info.shardable;
    d["params"] = params;
    out.append(d);
  }
  return out;
}

}  // namespace

void sow_register_plan(py::module_& m) {
  py::class_<py_plan>(m, "Plan")
      .def(py::init<std::uint64_t>(), py::arg("seed"))
      .def("add", &py_plan::add, py::arg("name"), py::arg("where"), py::arg("addr"), py::arg("dtype"),
           py::arg("shape"), py::arg("strides"), py::arg("offset"), py::arg("global_shape"), py::arg("offsets"),
           py::arg("index"), py::arg("spec"), py::arg("params"), py::arg("key"), py::arg("device") = -1,
           py::arg("stream") = 0)
      .def("validate", &py_plan::validate)
      .def("execute", &py_plan::execute, py::arg("threads") = 0)
      .def("write_range", &py_plan::write_range, py::arg("item"), py::arg("begin"), py::arg("end"), py::arg("out"),
           py::arg("threads") = 0)
      .def("__len__", &py_plan::size)
      .def_property_readonly("seed", &py_plan::seed);
  m.def("init_table", &init_table);
}
