/* The same library through its C ABI (sow/sow.h), as an FFI binding (Rust, Julia, Go) would use it. */
#include <stdio.h>
#include <string.h>

#include <sow/sow.h>

/* Xavier-uniform `rows x cols` floats for key `name`; returns 0 on success. */
int init_with_c_abi(float* out, int64_t rows, int64_t cols, const char* name, uint64_t seed) {
  const int64_t shape[2] = {rows, cols};
  const uint64_t key = sow_key_hash(name, strlen(name));
  sow_status st = sow_xavier_uniform(out, SOW_FLOAT32, shape, NULL, 2, NULL, 1.0, NULL, seed, key, 0);
  if (st != SOW_OK) {
    fprintf(stderr, "sow_xavier_uniform failed (%d): %s\n", (int)st, sow_last_error());
    return 1;
  }
  return 0;
}

/* A refused call: status and message instead of an exception. Writes the message to `msg`. */
int c_abi_error_demo(char* msg, size_t size) {
  float w[6];
  const int64_t shape[2] = {2, 3};
  sow_status st = sow_xavier_uniform(w, SOW_FLOAT32, shape, NULL, 2, NULL, -1.0, NULL, 0, 0, 0);
  snprintf(msg, size, "%s", sow_last_error());
  return (int)st;
}

/* A whole (tiny) model in one call through a plan: a kaiming_uniform weight, its zero bias, a
 * bfloat16 embedding with normal(0, 0.02) values. Returns 0 on success. */
int init_with_c_plan(float* w, float* b, uint16_t* emb, int64_t d, uint64_t seed) {
  sow_plan* plan = NULL;
  if (sow_plan_create(seed, &plan) != SOW_OK) return 1;
  const int64_t w_shape[2] = {4 * d, d}, b_shape[1] = {4 * d}, e_shape[2] = {100, d};
  const sow_param a = {"a", SOW_PARAM_REAL, 2.23606797749979, 0, NULL};
  const sow_param std = {"std", SOW_PARAM_REAL, 0.02, 0, NULL};
  const sow_plan_item items[3] = {
      {"proj.w", w, SOW_FLOAT32, w_shape, NULL, 2, NULL, NULL, "kaiming_uniform", &a, 1, sow_key_hash("proj.w", 6)},
      {"proj.b", b, SOW_FLOAT32, b_shape, NULL, 1, NULL, NULL, "zeros", NULL, 0, 0},
      {"emb.w", emb, SOW_BFLOAT16, e_shape, NULL, 2, NULL, NULL, "normal", &std, 1, sow_key_hash("emb.w", 5)},
  };
  int rc = 0;
  for (int i = 0; i < 3 && rc == 0; ++i) rc = sow_plan_add(plan, &items[i], NULL) != SOW_OK;
  if (rc == 0 && sow_plan_execute(plan, 0) != SOW_OK) {
    fprintf(stderr, "sow_plan_execute failed: %s\n", sow_last_error());
    rc = 1;
  }
  sow_plan_destroy(plan);
  return rc;
}

/* A plan with one bad item: nothing is written, the message names the item. */
int c_plan_error_demo(char* msg, size_t size) {
  float w[6] = {0}, v[6] = {0};
  const int64_t shape[2] = {2, 3};
  const sow_param bad = {"sparsity", SOW_PARAM_REAL, 1.5, 0, NULL};
  sow_plan* plan = NULL;
  sow_plan_create(0, &plan);
  const sow_plan_item a = {"w", w, SOW_FLOAT32, shape, NULL, 2, NULL, NULL, "uniform", NULL, 0, 1};
  const sow_plan_item b = {"v", v, SOW_FLOAT32, shape, NULL, 2, NULL, NULL, "sparse", &bad, 1, 2};
  sow_plan_add(plan, &a, NULL);
  sow_plan_add(plan, &b, NULL);
  const sow_status st = sow_plan_execute(plan, 0);
  snprintf(msg, size, "%s", sow_last_error());
  sow_plan_destroy(plan);
  for (int i = 0; i < 6; ++i)
    if (w[i] != 0.0f || v[i] != 0.0f) return -1; /* something was written */
  return (int)st;
}
