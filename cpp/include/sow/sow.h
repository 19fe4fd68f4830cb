/* sow's stable C ABI: the initializers of sow/init.hpp for FFI (C, Rust, Julia, Go, ...).
 *
 * Every function returns a sow_status; on failure nothing has been written and sow_last_error()
 * returns the message (the one Python's ValueError carries for the same input). No C++ exception
 * crosses this boundary. Arrays are described by
 *
 *   data     address of element (0, ..., 0), aligned to the item size; may be NULL only when
 *            the tensor has no elements
 *   dtype    SOW_FLOAT32 | SOW_FLOAT64 | SOW_FLOAT16 | SOW_BFLOAT16, passed as an int (any other
 *            value is refused; an enum parameter could not safely carry a bad value)
 *   shape    ndim sizes of the memory being filled, 0 <= ndim <= 64 (refused before shape is read);
 *            each size <= 2^56 and at most 2^56 elements, as in Python (even when a size is 0)
 *   strides  ndim strides in BYTES (any sign, multiples of the item size), or NULL for
 *            C-contiguous. The elements must not overlap: sorted by |stride|, the dimensions of
 *            size > 1 must each step at least past the bytes spanned by the faster ones (so no
 *            zero stride), and every byte reached must lie within the 64-bit address space
 *   shard    NULL when the memory is the whole tensor; else where it sits in the global tensor
 *   threads  0 = all hardware threads, else the work is split into that many pieces (at most
 *            256), run by at most as many threads as the hardware has, from sow's one shared
 *            pool; by fewer when the system refuses to start more. Never changes a value
 *
 * Strings (mode, nonlinearity, distribution, layout) are NUL-terminated UTF-8; NULL means the
 * default. Keys: an integer, or sow_key_hash(name, strlen(name)) for a string key.
 *
 *   float w[512 * 256];
 *   int64_t shape[2] = {512, 256};
 *   uint64_t key = sow_key_hash("layers.0.attn.w", 15);
 *   if (sow_xavier_uniform(w, SOW_FLOAT32, shape, NULL, 2, NULL, 1.0, NULL, 0, key, 0) != SOW_OK)
 *     fprintf(stderr, "%s\n", sow_last_error());
 */
#ifndef SOW_SOW_H
#define SOW_SOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOW_C_ABI_VERSION 1

typedef enum sow_status {
  SOW_OK = 0,
  SOW_INVALID_ARGUMENT = 1, /* a bad value (Python's ValueError) */
  SOW_RUNTIME_ERROR = 2,    /* anything else that went wrong while filling */
  SOW_OUT_OF_MEMORY = 3,
  SOW_UNKNOWN_ERROR = 4
} sow_status;

typedef enum sow_dtype { SOW_FLOAT32 = 0, SOW_FLOAT64 = 1, SOW_FLOAT16 = 2, SOW_BFLOAT16 = 3 } sow_dtype;

/* The block of a global tensor that the memory holds: ndim entries each. */
typedef struct sow_shard {
  const int64_t* global_shape;
  const int64_t* offsets;
} sow_shard;

/* Fan options of the scaled initializers: fan_in/fan_out > 0 override the fans computed from the
 * global shape (0 = not given); layout "torch" (NULL) or "jax". */
typedef struct sow_fans {
  int64_t fan_in;
  int64_t fan_out;
  const char* layout;
} sow_fans;

/* The message of the last failed call on this thread ("" if none). Valid until the next call. */
const char* sow_last_error(void);
/* FNV-1a 64 of the bytes: the integer key of a string key. */
uint64_t sow_key_hash(const char* utf8, size_t len);
/* SOW_VERSION_MAJOR * 10000 + MINOR * 100 + PATCH, and the stream format number. */
int sow_version(void);
int sow_stream_format(void);

/* dtype is an int holding a sow_dtype: source-compatible with callers passing SOW_FLOAT32 etc. (or
 * a sow_dtype variable), and the same ABI (a C enum is passed as an int on the supported ABIs). */
#define SOW_TENSOR_ARGS \
  void *data, int dtype, const int64_t *shape, const int64_t *strides_or_null, int ndim, \
      const sow_shard *shard_or_null

/* U(a, b). */
sow_status sow_uniform(SOW_TENSOR_ARGS, double a, double b, uint64_t seed, uint64_t key, int threads);
/* N(mean, std^2), std >= 0. */
sow_status sow_normal(SOW_TENSOR_ARGS, double mean, double std, uint64_t seed, uint64_t key, int threads);
/* N(mean, std^2) truncated to the absolute bounds [a, b]. */
sow_status sow_trunc_normal(SOW_TENSOR_ARGS, double mean, double std, double a, double b, uint64_t seed,
                            uint64_t key, int threads);
sow_status sow_constant(SOW_TENSOR_ARGS, double val);
sow_status sow_ones(SOW_TENSOR_ARGS);
sow_status sow_zeros(SOW_TENSOR_ARGS);
sow_status sow_eye(SOW_TENSOR_ARGS);
sow_status sow_dirac(SOW_TENSOR_ARGS, int64_t groups);
/* U(-B, B), B = gain * sqrt(6 / (fan_in + fan_out)). */
sow_status sow_xavier_uniform(SOW_TENSOR_ARGS, double gain, const sow_fans* fans_or_null, uint64_t seed,
                              uint64_t key, int threads);
/* N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
sow_status sow_xavier_normal(SOW_TENSOR_ARGS, double gain, const sow_fans* fans_or_null, uint64_t seed,
                             uint64_t key, int threads);
/* U(-B, B), B = sqrt(3) * calculate_gain(nonlinearity, a) / sqrt(fan); mode "fan_in" | "fan_out". */
sow_status sow_kaiming_uniform(SOW_TENSOR_ARGS, double a, const char* mode, const char* nonlinearity,
                               const sow_fans* fans_or_null, uint64_t seed, uint64_t key, int threads);
sow_status sow_kaiming_normal(SOW_TENSOR_ARGS, double a, const char* mode, const char* nonlinearity,
                              const sow_fans* fans_or_null, uint64_t seed, uint64_t key, int threads);
sow_status sow_lecun_uniform(SOW_TENSOR_ARGS, const sow_fans* fans_or_null, uint64_t seed, uint64_t key,
                             int threads);
sow_status sow_lecun_normal(SOW_TENSOR_ARGS, const sow_fans* fans_or_null, uint64_t seed, uint64_t key,
                            int threads);
/* mode "fan_in" | "fan_out" | "fan_avg"; distribution "truncated_normal" | "normal" |
 * "untruncated_normal" | "uniform". */
sow_status sow_variance_scaling(SOW_TENSOR_ARGS, double scale, const char* mode, const char* distribution,
                                const sow_fans* fans_or_null, uint64_t seed, uint64_t key, int threads);
/* N(0, std^2) with exactly ceil(sparsity * rows) zeros per column. */
sow_status sow_sparse(SOW_TENSOR_ARGS, double sparsity, double std, uint64_t seed, uint64_t key, int threads);

/* calculate_gain(nonlinearity, param): param_or_null is leaky_relu's negative slope. */
sow_status sow_calculate_gain(const char* nonlinearity, const double* param_or_null, double* gain_out);
sow_status sow_calculate_fan_in_and_fan_out(const int64_t* shape, int ndim, const char* layout, int64_t* fan_in_out,
                                            int64_t* fan_out_out);

/* Plans (sow/plan.hpp): many tensors validated together, then written in one call.
 *
 *   sow_plan* p;
 *   sow_plan_create(seed, &p);
 *   sow_param std = {"std", SOW_PARAM_REAL, 0.02, 0, NULL};
 *   sow_plan_item it = {"layers.0.w", w, SOW_BFLOAT16, shape, NULL, 2, NULL, NULL, "normal", &std, 1,
 *                       sow_key_hash("layers.0.w", 10)};
 *   sow_plan_add(p, &it, NULL);            // ... every tensor of the model
 *   if (sow_plan_execute(p, 0) != SOW_OK)  // validates every item first: nothing written on error
 *     fprintf(stderr, "%s\n", sow_last_error());  // "items[3] (layers.1.w): ..."
 *   sow_plan_destroy(p);
 *
 * sow_plan_add copies everything it is given except `data`; it checks nothing (validate and
 * execute do, naming the item). A plan may be used from one thread at a time. */
typedef struct sow_plan sow_plan;

enum { SOW_PARAM_REAL = 0, SOW_PARAM_INT = 1, SOW_PARAM_STRING = 2 };

/* One parameter of an initializer, by torch's name ("std", "gain", "mode", ...). */
typedef struct sow_param {
  const char* name;
  int kind; /* SOW_PARAM_REAL | SOW_PARAM_INT | SOW_PARAM_STRING */
  double real;
  int64_t integer;
  const char* string;
} sow_param;

typedef struct sow_plan_item {
  const char* name; /* used in messages; NULL = "" */
  void* data;
  int dtype;
  const int64_t* shape;
  const int64_t* strides_or_null; /* bytes */
  int ndim;
  const sow_shard* shard_or_null;
  const int64_t* const* index_or_null; /* NULL, or ndim pointers: NULL or shape[d] global indices */
  const char* init;                    /* initializer name: "normal", "kaiming_uniform", "eye", ... */
  const sow_param* params;
  size_t nparams;
  uint64_t key;
} sow_plan_item;

sow_status sow_plan_create(uint64_t seed, sow_plan** plan_out);
void sow_plan_destroy(sow_plan* plan);
/* Appends an item; *index_out (if not NULL) is its position, as named in messages ("items[i]"). */
sow_status sow_plan_add(sow_plan* plan, const sow_plan_item* item, size_t* index_out);
/* Every check of every item, nothing written. */
sow_status sow_plan_validate(const sow_plan* plan);
/* Validates, then writes every item (threads: 0 = every hardware thread; never changes a value). */
sow_status sow_plan_execute(const sow_plan* plan, int threads);

#undef SOW_TENSOR_ARGS

#ifdef __cplusplus
}
#endif

#endif /* SOW_SOW_H */
