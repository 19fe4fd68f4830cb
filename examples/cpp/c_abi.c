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
