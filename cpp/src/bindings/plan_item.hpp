// Internal to sow._core: a plan item (sow/plan.hpp) from the arguments Python gives, shared by
// sow.Plan's C++ half (register_plan.cpp) and the single-tensor calls (register_run.cpp). Python
// has checked the types; every value check is plan.cpp's.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sow/plan.hpp"

namespace sow::bindings {

namespace py = pybind11;

/// A spec parameter: int (64-bit), float or str; bool refused, as everywhere in sow.
inline sow::param_value to_param(const std::string& name, const py::handle& v) {
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

/// `where`: "host" | "buffer" | "none" | "device" (then `device` and `stream`, a cudaStream_t as an
/// int, say where it is written).
inline sow::plan_target make_plan_target(const std::string& where, std::uintptr_t addr, const std::string& dtype,
                                         const std::vector<std::int64_t>& shape,
                                         const std::vector<std::int64_t>& strides, std::uint64_t offset, int device,
                                         std::uintptr_t stream) {
  const sow::dtype t = sow::parse_dtype(dtype);
  if (where == "host") return sow::plan_target::host(reinterpret_cast<void*>(addr), t, shape, strides);
  if (where == "buffer") return sow::plan_target::buffer(offset, t, shape);
  if (where == "none") return sow::plan_target::none(t, shape, strides);
  if (where == "device")
    return sow::plan_target::cuda(reinterpret_cast<void*>(addr), t, shape, strides, device,
                                  reinterpret_cast<void*>(stream));
  throw std::invalid_argument("target must be 'host', 'buffer', 'none' or 'device', got '" + where + "'");
}

inline sow::init_spec make_spec(const std::string& name, const py::dict& params) {
  sow::init_spec spec(name);
  spec.params.reserve(params.size());
  for (const auto& [k, v] : params) {
    std::string kn = py::str(k).cast<std::string>();
    sow::param_value pv = to_param(kn, v);
    spec.params.emplace_back(std::move(kn), std::move(pv));
  }
  return spec;
}

}  // namespace sow::bindings
