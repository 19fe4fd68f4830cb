// sow._core's plan (sow/plan.hpp): the Python sow.Plan holds one and adds its items after checking
// their types; every value check and message comes from plan.cpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sow/plan.hpp"

namespace py = pybind11;

namespace {

sow::param_value to_param(const std::string& name, const py::handle& v) {
  // bool is an int in Python: refused here, as everywhere in sow.
  if (py::isinstance<py::bool_>(v)) throw py::type_error(name + " must not be a bool");
  if (py::isinstance<py::int_>(v)) {
    try {
      return v.cast<std::int64_t>();
    } catch (const py::cast_error&) {
      throw std::invalid_argument(name + " = " + py::str(v).cast<std::string>() + " does not fit in 64 bits");
    }
  }
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  throw py::type_error(name + " must be a real number, an int or a str, got " +
                       py::str(py::type::of(v).attr("__name__")).cast<std::string>());
}

class py_plan {
 public:
  explicit py_plan(std::uint64_t seed) : p_(seed) {}

  std::size_t add(const std::string& name, const std::string& where, std::uintptr_t addr, const std::string& dtype,
                  const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides, std::uint64_t offset,
                  const std::vector<std::int64_t>& global_shape, const std::vector<std::int64_t>& offsets,
                  const std::vector<std::vector<std::int64_t>>& index, const std::string& spec, const py::dict& params,
                  std::uint64_t key) {
    sow::plan_item it;
    it.name = name;
    const sow::dtype t = sow::parse_dtype(dtype);
    if (where == "host")
      it.target = sow::plan_target::host(reinterpret_cast<void*>(addr), t, shape, strides);
    else if (where == "buffer")
      it.target = sow::plan_target::buffer(offset, t, shape);
    else if (where == "none")
      it.target = sow::plan_target::none(t, shape, strides);
    else
      throw std::invalid_argument("target must be 'host', 'buffer' or 'none', got '" + where + "'");
    it.where.global_shape = global_shape;
    it.where.offsets = offsets;
    it.where.index = index;
    it.spec = sow::init_spec(spec);
    for (const auto& [k, v] : params) {
      const std::string kn = py::str(k).cast<std::string>();
      it.spec.params.emplace_back(kn, to_param(kn, v));
    }
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
           py::arg("index"), py::arg("spec"), py::arg("params"), py::arg("key"))
      .def("validate", &py_plan::validate)
      .def("execute", &py_plan::execute, py::arg("threads") = 0)
      .def("write_range", &py_plan::write_range, py::arg("item"), py::arg("begin"), py::arg("end"), py::arg("out"),
           py::arg("threads") = 0)
      .def("__len__", &py_plan::size)
      .def_property_readonly("seed", &py_plan::seed);
  m.def("init_table", &init_table);
}
