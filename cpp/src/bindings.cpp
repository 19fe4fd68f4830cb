// sow._core: the private extension. The public API is plain Python (python/sow/); this module only
// converts arguments and releases the GIL around the fills. See docs/design.md for the contract.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sow/fill.hpp"
#include "sow/key.hpp"
#include "sow/philox.hpp"

namespace py = pybind11;

namespace {

sow::dist make_dist(const std::string& kind, const std::vector<double>& p) {
  auto need = [&](std::size_t n) {
    if (p.size() != n)
      throw std::invalid_argument("distribution '" + kind + "' takes " + std::to_string(n) + " parameters, got " +
                                  std::to_string(p.size()));
  };
  if (kind == "uniform") return need(2), sow::dist::uniform(p[0], p[1]);
  if (kind == "normal") return need(2), sow::dist::normal(p[0], p[1]);
  if (kind == "trunc_normal") return need(4), sow::dist::trunc_normal(p[0], p[1], p[2], p[3]);
  if (kind == "constant") return need(1), sow::dist::constant(p[0]);
  throw std::invalid_argument("unknown distribution '" + kind + "'");
}

void fill(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
          const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& global_shape,
          const std::vector<std::int64_t>& offsets, const std::string& dist, const std::vector<double>& params,
          std::uint64_t seed, std::uint64_t key, int threads, std::uint32_t domain) {
  sow::fill_target t;
  t.data = reinterpret_cast<void*>(addr);
  t.type = sow::parse_dtype(dtype);
  t.shape = shape;
  t.strides = strides;
  t.global_shape = global_shape;
  t.offsets = offsets;
  const sow::dist d = make_dist(dist, params);
  py::gil_scoped_release release;
  sow::fill(t, d, seed, key, threads, domain);
}

py::array_t<std::uint32_t> bits(std::uint64_t seed, std::uint64_t key, std::uint32_t domain, std::uint64_t start,
                                std::size_t count) {
  py::array_t<std::uint32_t> out(static_cast<py::ssize_t>(count));
  std::uint32_t* p = out.mutable_data();
  {
    py::gil_scoped_release release;
    sow::stream_words(seed, key, domain, start, count, p);
  }
  return out;
}

py::tuple philox(const std::vector<std::uint32_t>& ctr, const std::vector<std::uint32_t>& key, int rounds) {
  if (ctr.size() != 4 || key.size() != 2) throw std::invalid_argument("philox4x32 takes 4 counter words and 2 key words");
  if (rounds < 1 || rounds > 16) throw std::invalid_argument("rounds must be in [1, 16]");
  const sow::philox4x32_ctr r = sow::philox4x32({{ctr[0], ctr[1], ctr[2], ctr[3]}}, {{key[0], key[1]}}, rounds);
  return py::make_tuple(r.v[0], r.v[1], r.v[2], r.v[3]);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "sow's compiled core (private; use the sow package)";
  m.attr("STREAM_FORMAT") = SOW_STREAM_FORMAT;
  m.def("fill", &fill, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("global_shape"), py::arg("offsets"), py::arg("dist"), py::arg("params"), py::arg("seed"),
        py::arg("key"), py::arg("threads"), py::arg("domain") = 0);
  m.def("bits", &bits, py::arg("seed"), py::arg("key"), py::arg("domain"), py::arg("start"), py::arg("count"));
  m.def("philox4x32", &philox, py::arg("ctr"), py::arg("key"), py::arg("rounds") = 10);
  m.def("key_hash", [](const std::string& s) { return sow::key_hash(s); }, py::arg("s"));
  m.def("isa", &sow::active_isa);
  m.def("available_isas", &sow::available_isas);
  m.def("set_isa", &sow::set_isa, py::arg("name"));
  m.def("hardware_threads", &sow::hardware_threads);
}
