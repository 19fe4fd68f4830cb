// sow._core's initializer area (sow/init.hpp): fans and gains for the Python helpers
// (sow.calculate_gain, calculate_fan_in_and_fan_out), and test hooks of the formulas and the sparse
// selection (init_dist, sparse_thresholds). The initializers themselves run as plans
// (register_run.cpp, register_plan.cpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sow/init.hpp"

namespace py = pybind11;

namespace {

py::tuple as_tuple(const sow::dist& d) {
  switch (d.kind) {
    case sow::dist_kind::uniform: return py::make_tuple("uniform", py::make_tuple(d.p0, d.p1));
    case sow::dist_kind::normal: return py::make_tuple("normal", py::make_tuple(d.p0, d.p1));
    case sow::dist_kind::trunc_normal: return py::make_tuple("trunc_normal", py::make_tuple(d.p0, d.p1, d.p2, d.p3));
    case sow::dist_kind::constant: break;
  }
  return py::make_tuple("constant", py::make_tuple(d.p0));
}

// The distribution initializer `name` reduces to for `global_shape`; `args` are its parameters
// in Python's order (floats, and strings for mode / nonlinearity / distribution):
//   uniform (a, b) | normal (mean, std) | trunc_normal (mean, std, a, b) | xavier_uniform,
//   xavier_normal (gain,) | kaiming_uniform, kaiming_normal (a, mode, nonlinearity) |
//   variance_scaling (scale, mode, distribution) | lecun_uniform, lecun_normal () |
//   sparse (sparsity, std)
sow::dist build_dist(const std::string& name, const std::vector<std::int64_t>& global_shape, const py::tuple& args,
                     std::optional<std::int64_t> fan_in, std::optional<std::int64_t> fan_out, const std::string& layout) {
  const sow::fan_options f{fan_in, fan_out, layout};
  auto need = [&](std::size_t n) {
    if (args.size() != n)
      throw std::invalid_argument("init_dist: '" + name + "' takes " + std::to_string(n) + " parameters, got " +
                                  std::to_string(args.size()));
  };
  auto num = [&](std::size_t i) { return args[i].cast<double>(); };
  auto str = [&](std::size_t i) { return args[i].cast<std::string>(); };
  const std::vector<std::int64_t>& g = global_shape;
  if (name == "uniform") return need(2), sow::uniform_dist(num(0), num(1));
  if (name == "normal") return need(2), sow::normal_dist(num(0), num(1));
  if (name == "trunc_normal") return need(4), sow::trunc_normal_dist(num(0), num(1), num(2), num(3));
  if (name == "xavier_uniform") return need(1), sow::xavier_uniform_dist(g, num(0), f);
  if (name == "xavier_normal") return need(1), sow::xavier_normal_dist(g, num(0), f);
  if (name == "kaiming_uniform") return need(3), sow::kaiming_uniform_dist(g, num(0), str(1), str(2), f);
  if (name == "kaiming_normal") return need(3), sow::kaiming_normal_dist(g, num(0), str(1), str(2), f);
  if (name == "variance_scaling") return need(3), sow::variance_scaling_dist(g, num(0), str(1), str(2), f);
  if (name == "lecun_uniform") return need(0), sow::lecun_uniform_dist(g, f);
  if (name == "lecun_normal") return need(0), sow::lecun_normal_dist(g, f);
  if (name == "sparse") return need(2), sow::sparse_dist(g, num(0), num(1));
  throw std::invalid_argument("init_dist: unknown initializer '" + name + "'");
}

// The parameter (index in args) each initializer scales its values by, named in range errors;
// uniform, normal and trunc_normal are named by their own parameters, lecun_* have none.
struct scaled_by {
  const char* initializer;
  const char* param;
  std::size_t index;
};
constexpr scaled_by scaling_params[] = {
    {"xavier_uniform", "gain", 0}, {"xavier_normal", "gain", 0},        {"kaiming_uniform", "a", 0},
    {"kaiming_normal", "a", 0},    {"variance_scaling", "scale", 0},    {"lecun_uniform", nullptr, 0},
    {"lecun_normal", nullptr, 0},  {"sparse", "std", 1},
};

// init_dist(name, global_shape, args, fan_in, fan_out, layout, dtype) -> (dist, params). With
// `dtype`, the distribution also passes every check fill makes for that output dtype
// (sow::check_dist), so a call is refused while it is planned, naming gain, scale, ...
py::tuple init_dist(const std::string& name, const std::vector<std::int64_t>& global_shape, const py::tuple& args,
                    std::optional<std::int64_t> fan_in, std::optional<std::int64_t> fan_out, const std::string& layout,
                    const std::optional<std::string>& dtype) {
  const sow::dist d = build_dist(name, global_shape, args, fan_in, fan_out, layout);
  if (dtype) {
    sow::dist_origin o;
    for (const scaled_by& s : scaling_params)
      if (name == s.initializer) {
        o.initializer = s.initializer;
        o.param = s.param;
        if (s.param) o.value = args[s.index].cast<double>();
      }
    sow::check_dist(d, sow::parse_dtype(*dtype), 0, o);
  }
  return as_tuple(d);
}

py::array_t<std::uint64_t> sparse_thresholds(const std::vector<std::int64_t>& global_shape, std::int64_t c0,
                                             std::int64_t nc, double sparsity, std::uint64_t seed, std::uint64_t key,
                                             double sigmas, std::int64_t cap) {
  std::vector<std::uint64_t> t;
  {
    py::gil_scoped_release release;
    t = sow::detail::sparse_thresholds(global_shape, c0, nc, sparsity, seed, key, {sigmas, cap});
  }
  py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(t.size()));
  std::copy(t.begin(), t.end(), out.mutable_data());
  return out;
}

}  // namespace

void sow_register_init(py::module_& m) {
  m.attr("TRUNCATED_NORMAL_STD") = sow::truncated_normal_std;
  m.attr("TRUNC_NORMAL_MAX_SIGMAS") = sow::trunc_normal_max_sigmas;
  m.def("init_dist", &init_dist, py::arg("name"), py::arg("global_shape"), py::arg("args"),
        py::arg("fan_in") = py::none(), py::arg("fan_out") = py::none(), py::arg("layout") = "torch",
        py::arg("dtype") = py::none());
  m.def("calculate_gain", &sow::calculate_gain, py::arg("nonlinearity"), py::arg("param") = py::none());
  m.def(
      "calculate_fan_in_and_fan_out",
      [](const std::vector<std::int64_t>& shape, const std::string& layout) {
        return sow::calculate_fan_in_and_fan_out(shape, layout);
      },
      py::arg("shape"), py::arg("layout") = "torch");
  m.def("sparse_thresholds", &sparse_thresholds, py::arg("global_shape"), py::arg("c0"), py::arg("nc"),
        py::arg("sparsity"), py::arg("seed"), py::arg("key"), py::arg("sigmas") = 8.0, py::arg("cap") = -1);
}
