// The C ABI (sow/sow.h) over sow/init.hpp: converts arguments, catches every exception, and keeps
// the message in a thread-local string for sow_last_error().
#include "sow/sow.h"

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sow/config.hpp"
#include "sow/init.hpp"
#include "sow/plan.hpp"

namespace {

thread_local std::string last_error;
// Set instead of last_error when storing the message itself ran out of memory.
thread_local const char* last_error_fallback = nullptr;

void set_error(const char* what) noexcept {
  try {
    last_error = what;
    last_error_fallback = nullptr;
  } catch (...) {
    last_error_fallback = "out of memory (while storing the error message)";
  }
}

template <class F>
sow_status guard(F&& f) noexcept {
  try {
    f();
    last_error.clear();
    last_error_fallback = nullptr;
    return SOW_OK;
  } catch (const std::invalid_argument& e) {
    set_error(e.what());
    return SOW_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    set_error("out of memory");
    return SOW_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(e.what());
    return SOW_RUNTIME_ERROR;
  } catch (...) {
    set_error("unknown error");
    return SOW_UNKNOWN_ERROR;
  }
}

// At most 64 dimensions (NumPy's limit): a larger ndim is refused before `shape` is read, so a
// garbage ndim cannot make the library read past the caller's arrays.
constexpr int max_ndim = 64;

void check_ndim(int ndim) {
  if (ndim < 0 || ndim > max_ndim)
    throw std::invalid_argument("ndim must be in [0, " + std::to_string(max_ndim) + "], got " + std::to_string(ndim));
}

// `dtype` arrives as an int (sow.h): converting an out-of-range value to sow::dtype would be
// undefined, so the range is checked on the integer.
sow::tensor_ref tensor(void* data, int dtype, const int64_t* shape, const int64_t* strides, int ndim,
                       const sow_shard* shard) {
  check_ndim(ndim);
  if (ndim > 0 && shape == nullptr) throw std::invalid_argument("shape is NULL");
  if (dtype < SOW_FLOAT32 || dtype > SOW_BFLOAT16)
    throw std::invalid_argument("dtype must be one of float32, float64, float16, bfloat16; got " + std::to_string(dtype));
  const auto n = static_cast<std::size_t>(ndim);
  sow::tensor_ref t(data, static_cast<sow::dtype>(dtype), std::vector<std::int64_t>(shape, shape + n));
  if (strides) t.strides.assign(strides, strides + n);
  if (shard) {
    if ((ndim > 0 && !shard->global_shape) || (ndim > 0 && !shard->offsets))
      throw std::invalid_argument("shard: global_shape and offsets must not be NULL");
    t.global_shape.assign(shard->global_shape, shard->global_shape + n);
    t.offsets.assign(shard->offsets, shard->offsets + n);
  }
  return t;
}

std::string_view str(const char* s, std::string_view dflt) { return s ? std::string_view(s) : dflt; }

sow::fan_options fans(const sow_fans* f) {
  sow::fan_options o;
  if (!f) return o;
  if (f->fan_in != 0) o.fan_in = f->fan_in;
  if (f->fan_out != 0) o.fan_out = f->fan_out;
  if (f->layout) o.layout = f->layout;
  return o;
}

sow::rng rng(uint64_t seed, uint64_t key, int threads) {
  if (threads < 0) throw std::invalid_argument("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
  return sow::rng{.seed = seed, .key = key, .threads = threads};
}

}  // namespace

#define SOW_T void *data, int dtype, const int64_t *shape, const int64_t *strides, int ndim, const sow_shard *shard
#define SOW_TENSOR tensor(data, dtype, shape, strides, ndim, shard)

extern "C" {

const char* sow_last_error(void) { return last_error_fallback ? last_error_fallback : last_error.c_str(); }

uint64_t sow_key_hash(const char* utf8, size_t len) {
  return utf8 ? sow::key_hash(std::string_view(utf8, len)) : sow::key_hash(std::string_view());
}

int sow_version(void) { return SOW_VERSION_MAJOR * 10000 + SOW_VERSION_MINOR * 100 + SOW_VERSION_PATCH; }

int sow_stream_format(void) { return SOW_STREAM_FORMAT; }

sow_status sow_uniform(SOW_T, double a, double b, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::uniform_(SOW_TENSOR, rng(seed, key, threads), a, b); });
}

sow_status sow_normal(SOW_T, double mean, double std, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::normal_(SOW_TENSOR, rng(seed, key, threads), mean, std); });
}

sow_status sow_trunc_normal(SOW_T, double mean, double std, double a, double b, uint64_t seed, uint64_t key,
                            int threads) {
  return guard([&] { sow::trunc_normal_(SOW_TENSOR, rng(seed, key, threads), mean, std, a, b); });
}

sow_status sow_constant(SOW_T, double val) {
  return guard([&] { sow::constant_(SOW_TENSOR, val); });
}

sow_status sow_ones(SOW_T) {
  return guard([&] { sow::ones_(SOW_TENSOR); });
}

sow_status sow_zeros(SOW_T) {
  return guard([&] { sow::zeros_(SOW_TENSOR); });
}

sow_status sow_eye(SOW_T) {
  return guard([&] { sow::eye_(SOW_TENSOR); });
}

sow_status sow_dirac(SOW_T, int64_t groups) {
  return guard([&] { sow::dirac_(SOW_TENSOR, groups); });
}

sow_status sow_xavier_uniform(SOW_T, double gain, const sow_fans* f, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::xavier_uniform_(SOW_TENSOR, rng(seed, key, threads), gain, fans(f)); });
}

sow_status sow_xavier_normal(SOW_T, double gain, const sow_fans* f, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::xavier_normal_(SOW_TENSOR, rng(seed, key, threads), gain, fans(f)); });
}

sow_status sow_kaiming_uniform(SOW_T, double a, const char* mode, const char* nonlinearity, const sow_fans* f,
                               uint64_t seed, uint64_t key, int threads) {
  return guard([&] {
    sow::kaiming_uniform_(SOW_TENSOR, rng(seed, key, threads), a, str(mode, "fan_in"), str(nonlinearity, "leaky_relu"),
                          fans(f));
  });
}

sow_status sow_kaiming_normal(SOW_T, double a, const char* mode, const char* nonlinearity, const sow_fans* f,
                              uint64_t seed, uint64_t key, int threads) {
  return guard([&] {
    sow::kaiming_normal_(SOW_TENSOR, rng(seed, key, threads), a, str(mode, "fan_in"), str(nonlinearity, "leaky_relu"),
                         fans(f));
  });
}

sow_status sow_lecun_uniform(SOW_T, const sow_fans* f, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::lecun_uniform_(SOW_TENSOR, rng(seed, key, threads), fans(f)); });
}

sow_status sow_lecun_normal(SOW_T, const sow_fans* f, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::lecun_normal_(SOW_TENSOR, rng(seed, key, threads), fans(f)); });
}

sow_status sow_variance_scaling(SOW_T, double scale, const char* mode, const char* distribution, const sow_fans* f,
                                uint64_t seed, uint64_t key, int threads) {
  return guard([&] {
    sow::variance_scaling_(SOW_TENSOR, rng(seed, key, threads), scale, str(mode, "fan_in"),
                           str(distribution, "truncated_normal"), fans(f));
  });
}

sow_status sow_sparse(SOW_T, double sparsity, double std, uint64_t seed, uint64_t key, int threads) {
  return guard([&] { sow::sparse_(SOW_TENSOR, rng(seed, key, threads), sparsity, std); });
}

sow_status sow_calculate_gain(const char* nonlinearity, const double* param, double* gain_out) {
  return guard([&] {
    if (!nonlinearity || !gain_out) throw std::invalid_argument("nonlinearity and gain_out must not be NULL");
    *gain_out = sow::calculate_gain(nonlinearity, param ? std::optional<double>(*param) : std::nullopt);
  });
}

sow_status sow_calculate_fan_in_and_fan_out(const int64_t* shape, int ndim, const char* layout, int64_t* fan_in_out,
                                            int64_t* fan_out_out) {
  return guard([&] {
    check_ndim(ndim);
    if ((ndim > 0 && !shape) || !fan_in_out || !fan_out_out)
      throw std::invalid_argument("shape, fan_in_out and fan_out_out must not be NULL");
    const auto r = sow::calculate_fan_in_and_fan_out(std::span<const std::int64_t>(shape, static_cast<std::size_t>(ndim)),
                                                     str(layout, "torch"));
    *fan_in_out = r.first;
    *fan_out_out = r.second;
  });
}

struct sow_plan {
  sow::plan p;
};

sow_status sow_plan_create(uint64_t seed, sow_plan** plan_out) {
  return guard([&] {
    if (!plan_out) throw std::invalid_argument("plan_out must not be NULL");
    *plan_out = new sow_plan{sow::plan(seed)};
  });
}

void sow_plan_destroy(sow_plan* plan) { delete plan; }

sow_status sow_plan_add(sow_plan* plan, const sow_plan_item* item, size_t* index_out) {
  return guard([&] {
    if (!plan || !item) throw std::invalid_argument("plan and item must not be NULL");
    const std::string where = "items[" + std::to_string(plan->p.size()) + "]";
    try {
      const sow::tensor_ref t = tensor(item->data, item->dtype, item->shape, item->strides_or_null, item->ndim,
                                       item->shard_or_null);
      sow::plan_item it;
      it.name = item->name ? item->name : "";
      it.target = sow::plan_target::host(t.data, t.type, t.shape, t.strides);
      it.where.global_shape = t.global_shape;
      it.where.offsets = t.offsets;
      if (item->index_or_null) {
        it.where.index.resize(t.shape.size());
        for (std::size_t d = 0; d < t.shape.size(); ++d)
          if (item->index_or_null[d])
            it.where.index[d].assign(item->index_or_null[d], item->index_or_null[d] + t.shape[d]);
      }
      if (!item->init) throw std::invalid_argument("init must not be NULL");
      it.spec = sow::init_spec(item->init);
      if (item->nparams > 0 && !item->params) throw std::invalid_argument("params is NULL");
      for (std::size_t k = 0; k < item->nparams; ++k) {
        const sow_param& q = item->params[k];
        if (!q.name) throw std::invalid_argument("params[" + std::to_string(k) + "].name is NULL");
        if (q.kind == SOW_PARAM_REAL) it.spec.params.emplace_back(q.name, q.real);
        else if (q.kind == SOW_PARAM_INT) it.spec.params.emplace_back(q.name, q.integer);
        else if (q.kind == SOW_PARAM_STRING && q.string) it.spec.params.emplace_back(q.name, std::string(q.string));
        else throw std::invalid_argument("params[" + std::to_string(k) + "] (" + q.name + "): bad kind or NULL string");
      }
      it.key = item->key;
      const std::size_t i = plan->p.add(std::move(it));
      if (index_out) *index_out = i;
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + ": " + e.what());
    }
  });
}

sow_status sow_plan_validate(const sow_plan* plan) {
  return guard([&] {
    if (!plan) throw std::invalid_argument("plan must not be NULL");
    (void)sow::validate(plan->p);
  });
}

sow_status sow_plan_execute(const sow_plan* plan, int threads) {
  return guard([&] {
    if (!plan) throw std::invalid_argument("plan must not be NULL");
    sow::execute(plan->p, threads);
  });
}

}  // extern "C"
