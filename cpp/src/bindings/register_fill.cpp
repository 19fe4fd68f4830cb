// sow._core's CPU fill area: fill and its checks (check_dist, check_layout), the raw stream
// (bits, philox4x32, key_hash), the values_of_words test hook, ISA choice and thread counts.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"
#include "sow/detail/layout.hpp"  // detail::prepare_for, detail::working_value (the values_of_words test hook)
#include "thread_pool.hpp"
#include "sow/fill.hpp"
#include "sow/key.hpp"
#include "sow/philox.hpp"

namespace py = pybind11;

namespace {

using sow::bindings::make_dist;
using sow::bindings::make_target;

void fill(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
          const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& global_shape,
          const std::vector<std::int64_t>& offsets, const std::string& dist, const std::vector<double>& params,
          std::uint64_t seed, std::uint64_t key, int threads, std::uint32_t domain) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, global_shape, offsets);
  const sow::dist d = make_dist(dist, params);
  py::gil_scoped_release release;
  sow::fill(t, d, seed, key, threads, domain);
}

// The engine's checks of a fill (sow::check_dist), without memory: raises what fill would raise.
void check_dist(const std::string& dtype, const std::string& dist, const std::vector<double>& params,
                std::uint32_t domain) {
  sow::check_dist(make_dist(dist, params), sow::parse_dtype(dtype), domain);
}

// Test hook: the working-precision value (float32 values for float32/float16/bfloat16 outputs)
// of dist(params) at each given stream word (uint32 words; for float64 the 64-bit pairs of
// stream format section 3), by the scalar kernel's arithmetic, after fill's checks. Lets tests
// sweep words no tensor of practical size would draw, such as the extreme ones.
py::array_t<double> values_of_words(const std::string& dtype, const std::string& dist, const std::vector<double>& params,
                                    const py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>& words) {
  const sow::dtype type = sow::parse_dtype(dtype);
  const sow::prepared_dist p = sow::detail::prepare_for(make_dist(dist, params), type, 0);
  const std::uint64_t* w = words.data();
  const auto n = words.size();
  for (py::ssize_t i = 0; i < n; ++i)
    if (type != sow::dtype::float64 && w[i] > 0xffffffffu)
      throw std::invalid_argument("values_of_words: " + dtype + " elements take 32-bit words");
  py::array_t<double> out(n);
  double* o = out.mutable_data();
  for (py::ssize_t i = 0; i < n; ++i) o[i] = sow::detail::working_value(p, type, w[i]);
  return out;
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

// The memory checks every fill makes (layout.hpp), for Python's check_out to raise them before
// anything else runs: one rule and one message for Python, C++ and the C ABI.
void check_layout(std::uintptr_t addr, std::int64_t item, const std::vector<std::int64_t>& shape,
                  const std::vector<std::int64_t>& strides) {
  if (item != 2 && item != 4 && item != 8) throw std::invalid_argument("item size must be 2, 4 or 8");
  if (strides.size() != shape.size()) throw std::invalid_argument("strides must have one entry per dimension");
  sow::detail::check_memory(reinterpret_cast<const void*>(addr), item, shape, strides);
}

}  // namespace

void sow_register_fill(py::module_& m) {
  m.def("fill", &fill, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("global_shape"), py::arg("offsets"), py::arg("dist"), py::arg("params"), py::arg("seed"),
        py::arg("key"), py::arg("threads"), py::arg("domain") = 0);
  m.def("check_dist", &check_dist, py::arg("dtype"), py::arg("dist"), py::arg("params"), py::arg("domain") = 0);
  m.def("values_of_words", &values_of_words, py::arg("dtype"), py::arg("dist"), py::arg("params"), py::arg("words"));
  m.def("bits", &bits, py::arg("seed"), py::arg("key"), py::arg("domain"), py::arg("start"), py::arg("count"));
  m.def("philox4x32", &philox, py::arg("ctr"), py::arg("key"), py::arg("rounds") = 10);
  m.def("key_hash", [](const std::string& s) { return sow::key_hash(s); }, py::arg("s"));
  m.def("isa", &sow::active_isa);
  m.def("available_isas", &sow::available_isas);
  m.def("set_isa", &sow::set_isa, py::arg("name"));
  m.def("hardware_threads", &sow::hardware_threads);
  m.def("check_layout", &check_layout, py::arg("addr"), py::arg("item"), py::arg("shape"), py::arg("strides"));
  m.def("pool_workers", &sow::detail::pool_workers);
}
