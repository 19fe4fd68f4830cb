// sow._core's plan (sow/plan.hpp): the Python sow.Plan holds one and adds its items after checking
// their types; every value check and message comes from plan.cpp. add_arrays is the bulk path
// (sow.Plan.add_many, and add itself): its loop over the outputs runs here, reading NumPy arrays
// directly and asking Python only about other outputs and unusual keys.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "plan_item.hpp"
#include "sow/detail/layout.hpp"
#include "sow/plan.hpp"

namespace py = pybind11;

namespace {

std::string prefixed(std::size_t i, const char* what) { return "items[" + std::to_string(i) + "]: " + what; }

// A str key hashed here and an int key in [0, 2^64) taken as is; anything else (NumPy integers,
// bools, negative or huge ints, strs that are not valid UTF-8) goes to Python's `key_of(i, key)`,
// which converts or raises its TypeError/ValueError naming the item.
std::uint64_t key_value(std::size_t i, const py::handle& key, const py::handle& key_of) {
  PyObject* k = key.ptr();
  if (PyUnicode_CheckExact(k)) {
    Py_ssize_t n = 0;
    if (const char* s = PyUnicode_AsUTF8AndSize(k, &n))
      return sow::key_hash(std::string_view(s, static_cast<std::size_t>(n)));
    PyErr_Clear();
  } else if (PyLong_CheckExact(k)) {
    const unsigned long long v = PyLong_AsUnsignedLongLong(k);
    if (!(v == static_cast<unsigned long long>(-1) && PyErr_Occurred())) return v;
    PyErr_Clear();
  }
  return key_of(i, key).cast<std::uint64_t>();
}

class py_plan {
 public:
  explicit py_plan(std::uint64_t seed) : p_(seed) {}

  // A spec converted once and referred to by index from then on (Python caches it per distinct
  // spec: a model's plan has a few specs and thousands of items).
  std::size_t spec(const std::string& name, const py::dict& params) {
    specs_.push_back(sow::bindings::make_spec(name, params));
    return specs_.size() - 1;
  }

  // An item with spec `spec` (an index of spec()).
  std::size_t add_item(const std::string& name, const std::string& where, std::uintptr_t addr, const std::string& dtype,
                       const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides,
                       std::uint64_t offset, const std::vector<std::int64_t>& global_shape,
                       const std::vector<std::int64_t>& offsets, const std::vector<std::vector<std::int64_t>>& index,
                       std::size_t spec, std::uint64_t key, int device, std::uintptr_t stream) {
    sow::plan_item it;
    it.name = name;
    it.target = sow::bindings::make_plan_target(where, addr, dtype, shape, strides, offset, device, stream);
    it.where.global_shape = global_shape;
    it.where.offsets = offsets;
    it.where.index = index;
    it.spec = specs_.at(spec);
    it.key = key;
    return p_.add(std::move(it));
  }

  // The same with the spec given by name and parameters.
  std::size_t add(const std::string& name, const std::string& where, std::uintptr_t addr, const std::string& dtype,
                  const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides, std::uint64_t offset,
                  const std::vector<std::int64_t>& global_shape, const std::vector<std::int64_t>& offsets,
                  const std::vector<std::vector<std::int64_t>>& index, const std::string& spec_name,
                  const py::dict& params, std::uint64_t key, int device, std::uintptr_t stream) {
    return add_item(name, where, addr, dtype, shape, strides, offset, global_shape, offsets, index,
                    this->spec(spec_name, params), key, device, stream);
  }

  // Items for outs[j] (plan index size() + j), all with spec `spec`, keys[j] and names[j] (None:
  // the key when it is a str, else ""). A NumPy array whose dtype descriptor is one of `dtypes`
  // ((descr, sow dtype name) pairs) and that is writable is read here, its memory checked as
  // check_out checks it; any other output goes to Python's `describe(i, out)`, which returns
  // (where, addr, dtype name, shape, strides, device, stream) or raises naming the item. All or
  // nothing: the plan is unchanged if any output, key or name is refused.
  void add_arrays(const py::sequence& outs, std::size_t spec, const py::sequence& keys, const py::object& names,
                  const py::sequence& dtypes, const py::handle& describe, const py::handle& key_of) {
    const sow::init_spec s = specs_.at(spec);  // a copy: the Python callbacks below may add specs
    const std::size_t n = outs.size(), base = p_.size();
    const bool named = !names.is_none();
    std::vector<std::pair<PyObject*, sow::dtype>> known;
    for (const auto& d : dtypes) {
      const auto pair = d.cast<py::tuple>();
      known.emplace_back(pair[0].ptr(), sow::parse_dtype(pair[1].cast<std::string>()));
    }
    const py::sequence name_seq = named ? names.cast<py::sequence>() : py::sequence();
    std::vector<sow::plan_item> items(n);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = base + j;
      sow::plan_item& it = items[j];
      const py::object out = outs[j];
      const py::object key = keys[j];
      bool name_from_key = PyUnicode_Check(key.ptr());
      if (named) {
        const py::object nm = name_seq[j];
        if (!nm.is_none()) {
          if (!PyUnicode_Check(nm.ptr()))
            throw py::type_error(prefixed(i, ("name must be a str, got " + py::repr(nm).cast<std::string>()).c_str()));
          Py_ssize_t len = 0;
          const char* utf8 = PyUnicode_AsUTF8AndSize(nm.ptr(), &len);
          if (!utf8) {
            PyErr_Clear();
            throw std::invalid_argument(prefixed(i, ("name " + py::repr(nm).cast<std::string>() +
                                                     " cannot be encoded as UTF-8").c_str()));
          }
          it.name.assign(utf8, static_cast<std::size_t>(len));
          name_from_key = false;
        }
      }
      it.key = key_value(i, key, key_of);
      if (name_from_key) it.name = key.cast<std::string>();
      it.spec = s;
      if (!read_array(out, known, i, it.target)) {
        const py::tuple d = describe(i, out);
        it.target = sow::bindings::make_plan_target(
            d[0].cast<std::string>(), d[1].cast<std::uintptr_t>(), d[2].cast<std::string>(),
            d[3].cast<std::vector<std::int64_t>>(), d[4].cast<std::vector<std::int64_t>>(), 0, d[5].cast<int>(),
            d[6].cast<std::uintptr_t>());
      }
    }
    for (auto& it : items) p_.add(std::move(it));
  }

  py::list validate() const {
    std::vector<sow::item_report> r;
    {
      py::gil_scoped_release release;
      r = sow::validate(p_);
    }
    // Consecutive items mostly resolve alike: one Python str per run of equal specs.
    py::list out(r.size());
    py::str last;
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (i == 0 || r[i].spec != r[i - 1].spec) last = py::str(r[i].spec);
      out[i] = py::make_tuple(last, r[i].bytes);
    }
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

  py::list names() const {
    py::list out(p_.size());
    for (std::size_t i = 0; i < p_.size(); ++i) out[i] = py::str(p_.items()[i].name);
    return out;
  }

  // What item i is, as given (sow.Plan.item): a checkpoint built from a plan needs each item's
  // name, sizes, dtype, placement, spec and key.
  py::dict item(std::size_t i) const {
    if (i >= p_.size()) throw py::index_error("item " + std::to_string(i) + " is not in the plan");
    const sow::plan_item& it = p_.items()[i];
    static const char* const dtypes[] = {"float32", "float64", "float16", "bfloat16"};
    static const char* const kinds[] = {"host", "buffer", "none", "device"};
    py::dict params;
    for (const auto& [k, v] : it.spec.params) std::visit([&, &k = k](const auto& x) { params[py::str(k)] = x; }, v);
    py::dict d;
    d["name"] = it.name;
    d["where"] = kinds[static_cast<int>(it.target.where)];
    d["shape"] = py::tuple(py::cast(it.target.shape));
    d["dtype"] = dtypes[static_cast<int>(it.target.type)];
    d["global_shape"] = py::tuple(py::cast(it.where.global_shape));
    d["offsets"] = py::tuple(py::cast(it.where.offsets));
    d["indexed"] = std::any_of(it.where.index.begin(), it.where.index.end(), [](const auto& v) { return !v.empty(); });
    d["spec"] = it.spec.name;
    d["params"] = params;
    d["key"] = it.key.value;
    return d;
  }

  std::size_t size() const { return p_.size(); }
  std::uint64_t seed() const { return p_.seed(); }

 private:
  // A writable NumPy ndarray (exactly, not a subclass) of a known dtype descriptor, as host memory
  // with its memory checked (layout.hpp's check_memory, the rule and message of check_out);
  // false for anything else.
  static bool read_array(const py::object& out, const std::vector<std::pair<PyObject*, sow::dtype>>& known,
                         std::size_t i, sow::plan_target& target) {
    auto& api = py::detail::npy_api::get();
    if (Py_TYPE(out.ptr()) != api.PyArray_Type_) return false;
    auto* a = py::detail::array_proxy(out.ptr());
    const PyObject* descr = a->descr;
    const auto hit = std::find_if(known.begin(), known.end(), [&](const auto& k) { return k.first == descr; });
    if (hit == known.end() || !(a->flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_)) return false;
    const auto nd = static_cast<std::size_t>(a->nd);
    std::vector<std::int64_t> shape(a->dimensions, a->dimensions + nd), strides(a->strides, a->strides + nd);
    try {
      sow::detail::check_memory(a->data, static_cast<std::int64_t>(sow::itemsize(hit->second)), shape, strides);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(prefixed(i, e.what()));
    }
    target = sow::plan_target::host(a->data, hit->second, std::move(shape), std::move(strides));
    return true;
  }

  sow::plan p_;
  std::vector<sow::init_spec> specs_;
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
      .def("spec", &py_plan::spec, py::arg("name"), py::arg("params"))
      .def("add", &py_plan::add, py::arg("name"), py::arg("where"), py::arg("addr"), py::arg("dtype"),
           py::arg("shape"), py::arg("strides"), py::arg("offset"), py::arg("global_shape"), py::arg("offsets"),
           py::arg("index"), py::arg("spec"), py::arg("params"), py::arg("key"), py::arg("device") = -1,
           py::arg("stream") = 0)
      .def("add_item", &py_plan::add_item, py::arg("name"), py::arg("where"), py::arg("addr"), py::arg("dtype"),
           py::arg("shape"), py::arg("strides"), py::arg("offset"), py::arg("global_shape"), py::arg("offsets"),
           py::arg("index"), py::arg("spec"), py::arg("key"), py::arg("device") = -1, py::arg("stream") = 0)
      .def("add_arrays", &py_plan::add_arrays, py::arg("outs"), py::arg("spec"), py::arg("keys"), py::arg("names"),
           py::arg("dtypes"), py::arg("describe"), py::arg("key_of"))
      .def("names", &py_plan::names)
      .def("item", &py_plan::item, py::arg("i"))
      .def("validate", &py_plan::validate)
      .def("execute", &py_plan::execute, py::arg("threads") = 0)
      .def("write_range", &py_plan::write_range, py::arg("item"), py::arg("begin"), py::arg("end"), py::arg("out"),
           py::arg("threads") = 0)
      .def("__len__", &py_plan::size)
      .def_property_readonly("seed", &py_plan::seed);
  m.def("init_table", &init_table);
}
