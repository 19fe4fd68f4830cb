// sow._core: the private extension. The public API is plain Python (python/sow/); this module only
// converts arguments and releases the GIL around the fills. See docs/design.md for the contract.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "layout.hpp"  // detail::prepare_for, detail::working_value (the values_of_words test hook)
#include "bindings_common.hpp"
#include "thread_pool.hpp"
#include "sow/fill.hpp"
#include "sow/key.hpp"
#include "sow/orthogonal.hpp"
#include "sow/philox.hpp"
#if defined(SOW_HAVE_CUDA)
#include "sow/cuda.hpp"
#endif

namespace py = pybind11;

void sow_bind_init(py::module_& m);      // bindings_init.cpp: initializer formulas (sow/init.hpp)
void sow_register_plan(py::module_& m);  // register_plan.cpp: plans (sow/plan.hpp)

namespace {

using sow::bindings::make_target;
#if defined(SOW_HAVE_CUDA)
using sow::bindings::cuda_device_scope;
#endif

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

#if defined(SOW_HAVE_CUDA)


void fill_cuda(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
               const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& global_shape,
               const std::vector<std::int64_t>& offsets, const std::string& dist, const std::vector<double>& params,
               std::uint64_t seed, std::uint64_t key, std::uint32_t domain, std::uintptr_t stream, int device) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, global_shape, offsets);
  const sow::dist d = make_dist(dist, params);
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::fill_cuda(t, d, seed, key, reinterpret_cast<void*>(stream), domain);
}

// items: sequence of (addr, dtype, shape, strides, global_shape, offsets, dist, params, key,
// domain), each as for fill_cuda (global_shape/offsets may be empty: the whole tensor).
void fill_cuda_batch(const py::sequence& items, std::uint64_t seed, std::uintptr_t stream, int device) {
  const std::size_t n = items.size();
  std::vector<std::vector<std::int64_t>> dims(4 * n);
  std::vector<sow::cuda_batch_item> batch(n);
  for (std::size_t i = 0; i < n; ++i) {
    const py::tuple it = items[i].cast<py::tuple>();
    if (it.size() != 10)
      throw std::invalid_argument(
          "fill_cuda_batch: each item is (addr, dtype, shape, strides, global_shape, offsets, dist, params, key, domain)");
    for (std::size_t j = 0; j < 4; ++j) dims[4 * i + j] = it[2 + j].cast<std::vector<std::int64_t>>();
    sow::fill_target& t = batch[i].target;
    t.data = reinterpret_cast<void*>(it[0].cast<std::uintptr_t>());
    t.type = sow::parse_dtype(it[1].cast<std::string>());
    t.shape = dims[4 * i];
    t.strides = dims[4 * i + 1];
    t.global_shape = dims[4 * i + 2];
    t.offsets = dims[4 * i + 3];
    batch[i].d = make_dist(it[6].cast<std::string>(), it[7].cast<std::vector<double>>());
    batch[i].key = it[8].cast<std::uint64_t>();
    batch[i].domain = it[9].cast<std::uint32_t>();
  }
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::fill_cuda_batch(batch, seed, reinterpret_cast<void*>(stream));
}

void scatter_cuda(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& byte_offsets,
                  double value, std::uintptr_t stream, int device) {
  const sow::dtype t = sow::parse_dtype(dtype);
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::scatter_cuda(reinterpret_cast<void*>(addr), t, byte_offsets, value, reinterpret_cast<void*>(stream));
}

void sparse_keys_cuda(std::uintptr_t addr, std::uint64_t rows, std::uint64_t cols, std::uint64_t c0, std::uint64_t nc,
                      std::uint64_t seed, std::uint64_t key, std::uintptr_t stream, int device) {
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::sparse_keys_cuda(reinterpret_cast<std::uint64_t*>(addr), rows, cols, c0, nc, seed, key,
                        reinterpret_cast<void*>(stream));
}

// Orthogonal initialization of device memory (cuSOLVER, loaded on first use).
void orthogonal_cuda(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& strides, double gain, std::uint64_t seed, std::uint64_t key,
                     std::int64_t blocks, std::uintptr_t stream, int device) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, {}, {});
  py::gil_scoped_release release;
  const cuda_device_scope scope(device);
  sow::orthogonal_cuda(t, gain, seed, key, blocks, reinterpret_cast<void*>(stream));
}
#endif

// Every check of an orthogonal call (plan_orthogonal, LAPACK-free), nothing written: the planning
// run of sow.init_batch and of meta tensors.
void check_orthogonal(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                      const std::vector<std::int64_t>& strides, double gain, std::int64_t blocks) {
  // Never dereferenced: a meta tensor (address 0) is checked as if it had memory.
  const sow::fill_target t = make_target(addr ? addr : 64, dtype, shape, strides, {}, {});
  (void)sow::plan_orthogonal(t, gain, blocks);
}

#if defined(SOW_HAVE_LAPACK)
// Orthogonal initialization (docs/orthogonal.md): the whole tensor, no shard.
void orthogonal(std::uintptr_t addr, const std::string& dtype, const std::vector<std::int64_t>& shape,
                const std::vector<std::int64_t>& strides, double gain, std::uint64_t seed, std::uint64_t key,
                std::int64_t blocks, int threads) {
  const sow::fill_target t = make_target(addr, dtype, shape, strides, {}, {});
  py::gil_scoped_release release;
  sow::orthogonal(t, gain, seed, key, blocks, threads);
}
#endif

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "sow's compiled core (private; use the sow package)";
  m.attr("STREAM_FORMAT") = SOW_STREAM_FORMAT;
  m.def("fill", &fill, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("global_shape"), py::arg("offsets"), py::arg("dist"), py::arg("params"), py::arg("seed"),
        py::arg("key"), py::arg("threads"), py::arg("domain") = 0);
  m.def("check_dist", &check_dist, py::arg("dtype"), py::arg("dist"), py::arg("params"), py::arg("domain") = 0);
  m.def("values_of_words", &values_of_words, py::arg("dtype"), py::arg("dist"), py::arg("params"), py::arg("words"));
  m.def(
      "check_orthogonal_gain",
      [](double gain, const std::string& dtype, const std::string& name) {
        sow::check_orthogonal_gain(gain, sow::parse_dtype(dtype), name.c_str());
      },
      py::arg("gain"), py::arg("dtype"), py::arg("name") = "gain");
  m.def("bits", &bits, py::arg("seed"), py::arg("key"), py::arg("domain"), py::arg("start"), py::arg("count"));
  m.def("philox4x32", &philox, py::arg("ctr"), py::arg("key"), py::arg("rounds") = 10);
  m.def("key_hash", [](const std::string& s) { return sow::key_hash(s); }, py::arg("s"));
  m.def("isa", &sow::active_isa);
  m.def("available_isas", &sow::available_isas);
  m.def("set_isa", &sow::set_isa, py::arg("name"));
  m.def("hardware_threads", &sow::hardware_threads);
  m.def("check_layout", &check_layout, py::arg("addr"), py::arg("item"), py::arg("shape"), py::arg("strides"));
  m.def("pool_workers", &sow::detail::pool_workers);
  sow_bind_init(m);
  sow_register_plan(m);
  m.def("check_orthogonal", &check_orthogonal, py::arg("addr"), py::arg("dtype"), py::arg("shape"),
        py::arg("strides"), py::arg("gain"), py::arg("blocks"));
#if defined(SOW_HAVE_LAPACK)
  m.attr("has_lapack") = true;
  m.def("orthogonal", &orthogonal, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("gain"), py::arg("seed"), py::arg("key"), py::arg("blocks"), py::arg("threads"));
  m.def("lapack_info", &sow::lapack_info);
#else
  m.attr("has_lapack") = false;
#endif
#if defined(SOW_HAVE_CUDA)
  m.attr("has_cuda") = true;
  m.def("cuda_device_count", &sow::cuda_device_count);
  m.def("cuda_unavailable_reason", [] { return std::string(sow::cuda_unavailable_reason()); });
  m.def("fill_cuda", &fill_cuda, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("global_shape"), py::arg("offsets"), py::arg("dist"), py::arg("params"), py::arg("seed"),
        py::arg("key"), py::arg("domain"), py::arg("stream"), py::arg("device"));
  m.def("fill_cuda_batch", &fill_cuda_batch, py::arg("items"), py::arg("seed"), py::arg("stream"), py::arg("device"));
  m.def("scatter_cuda", &scatter_cuda, py::arg("addr"), py::arg("dtype"), py::arg("byte_offsets"), py::arg("value"),
        py::arg("stream"), py::arg("device"));
  m.def("sparse_keys_cuda", &sparse_keys_cuda, py::arg("addr"), py::arg("rows"), py::arg("cols"), py::arg("c0"),
        py::arg("nc"), py::arg("seed"), py::arg("key"), py::arg("stream"), py::arg("device"));
  m.def("orthogonal_cuda", &orthogonal_cuda, py::arg("addr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
        py::arg("gain"), py::arg("seed"), py::arg("key"), py::arg("blocks"), py::arg("stream"), py::arg("device"));
  m.def("cusolver_info", [] {
    py::gil_scoped_release release;
    return sow::cusolver_info();
  });
  m.def("cusolver_add_search_dir", &sow::cusolver_add_search_dir, py::arg("dir"));
#else
  m.attr("has_cuda") = false;
  m.def("cuda_device_count", [] { return 0; });
  m.def("cuda_unavailable_reason", [] { return std::string("sow was built without CUDA support"); });
#endif
}
