/* Hostile calls through sow's C ABI (sow/sow.h), run by tests/test_c_abi_hostile.py.
 *
 *   hostile_c_abi refuse    every call below must return an error status with a non-empty
 *                           sow_last_error() and leave the buffer (and its guard bytes) untouched
 *   hostile_c_abi accept    legal edge cases: must succeed; prints "<label> <fnv1a64>" lines the
 *                           test compares with the Python package
 *   hostile_c_abi threads M fills 2^18 float32 with threads=1, then, with RLIMIT_AS set to leave
 *                           M MiB of address space (run it with a large RLIMIT_STACK so that few
 *                           or no worker threads fit), with threads=1024; prints both hashes
 *
 * Exit status 0 when every check held; failures are printed one per line ("FAIL ...").
 * Built with -fsanitize=address,undefined where the compiler has them: any report fails the test.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sow/sow.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#define HAVE_RLIMIT 1
#else
#define HAVE_RLIMIT 0
#endif

#define GUARD 256
#define BODY 4096
#define SENTINEL 0xA5

static _Alignas(64) unsigned char region[GUARD + BODY + GUARD];
static unsigned char* const body = region + GUARD;
static int failures = 0, checks = 0;

static void reset(void) { memset(region, SENTINEL, sizeof region); }

static int untouched(void) {
  for (size_t i = 0; i < sizeof region; ++i)
    if (region[i] != SENTINEL) return 0;
  return 1;
}

/* A refused call: error status, a message, nothing written. */
static void refused(const char* label, sow_status st) {
  const char* msg = sow_last_error();
  ++checks;
  if (st == SOW_OK) {
    printf("FAIL %s: accepted\n", label);
    ++failures;
  } else if (msg == NULL || msg[0] == '\0') {
    printf("FAIL %s: status %d with an empty sow_last_error()\n", label, (int)st);
    ++failures;
  } else if (!untouched()) {
    printf("FAIL %s: refused (%s) but memory changed\n", label, msg);
    ++failures;
  } else {
    printf("refused %s: %d %s\n", label, (int)st, msg);
  }
  reset();
}

static uint64_t fnv1a64(const void* p, size_t n) {
  const unsigned char* b = (const unsigned char*)p;
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

#define U(data, dt, shape, strides, nd, shard) sow_uniform(data, dt, shape, strides, nd, shard, -1.0, 1.0, 1, 2, 2)

static int refuse(void) {
  const int64_t one[1] = {4}, two[2] = {4, 2}, three[3] = {2, 2, 2};
  const int64_t big = INT64_C(1) << 60, e56 = INT64_C(1) << 56;
  const int64_t huge_stride[1] = {INT64_MAX / 4 * 4};
  reset();

  /* NULLs and ndim. */
  refused("shape NULL", U(body, SOW_FLOAT32, NULL, NULL, 1, NULL));
  refused("data NULL, 4 elements", U(NULL, SOW_FLOAT32, one, NULL, 1, NULL));
  refused("data NULL, strided", U(NULL, SOW_FLOAT32, one, huge_stride, 1, NULL));
  refused("ndim -1", U(body, SOW_FLOAT32, one, NULL, -1, NULL));
  refused("ndim INT_MIN", U(body, SOW_FLOAT32, one, NULL, INT_MIN, NULL));
  refused("ndim 65", U(body, SOW_FLOAT32, one, NULL, 65, NULL));
  refused("ndim INT_MAX", U(body, SOW_FLOAT32, one, NULL, INT_MAX, NULL));
  refused("ndim INT_MAX, normal", sow_normal(body, SOW_FLOAT32, one, NULL, INT_MAX, NULL, 0.0, 1.0, 1, 2, 1));
  refused("ndim INT_MAX, zeros", sow_zeros(body, SOW_FLOAT32, one, NULL, INT_MAX, NULL));

  /* dtype arrives as an int: any value outside 0..3. */
  {
    const int bad[] = {4, 7, -1, 255, 256, INT_MAX, INT_MIN};
    char label[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
      snprintf(label, sizeof label, "dtype %d", bad[i]);
      refused(label, U(body, bad[i], one, NULL, 1, NULL));
      snprintf(label, sizeof label, "dtype %d, ones", bad[i]);
      refused(label, sow_ones(body, bad[i], one, NULL, 1, NULL));
    }
  }

  /* Misaligned data (Python refuses it too). */
  refused("float32 at +1", U(body + 1, SOW_FLOAT32, one, NULL, 1, NULL));
  refused("float32 at +2", U(body + 2, SOW_FLOAT32, one, NULL, 1, NULL));
  refused("float64 at +4", U(body + 4, SOW_FLOAT64, one, NULL, 1, NULL));
  refused("float16 at +1", U(body + 1, SOW_FLOAT16, one, NULL, 1, NULL));
  refused("float32 at +1, constant", sow_constant(body + 1, SOW_FLOAT32, one, NULL, 1, NULL, 0.5));

  /* Strides: not multiples, zero, overlapping, overflowing. */
  {
    const int64_t s6[1] = {6}, s0[1] = {0}, s04[2] = {0, 4}, s44[2] = {4, 4}, s4m4[2] = {4, -4};
    const int64_t interleaved_shape[2] = {3, 2}, interleaved[2] = {8, 12};
    const int64_t s3[3] = {4, 8, 8}, shape23[2] = {2, 3};
    refused("stride 6 (float32)", U(body, SOW_FLOAT32, one, s6, 1, NULL));
    refused("zero stride", U(body, SOW_FLOAT32, one, s0, 1, NULL));
    refused("zero stride, ones", sow_ones(body, SOW_FLOAT32, one, s0, 1, NULL));
    refused("zero stride, eye", sow_eye(body, SOW_FLOAT32, shape23, s04, 2, NULL));
    refused("zero outer stride", U(body, SOW_FLOAT32, shape23, s04, 2, NULL));
    refused("overlap (4, 4)", U(body, SOW_FLOAT32, two, s44, 2, NULL));
    refused("overlap (4, -4)", U(body + 64, SOW_FLOAT32, two, s4m4, 2, NULL));
    refused("interleaved (8, 12)", U(body, SOW_FLOAT32, interleaved_shape, interleaved, 2, NULL));
    refused("overlap (4, 8, 8)", U(body, SOW_FLOAT32, three, s3, 3, NULL));
    refused("overlap, normal", sow_normal(body, SOW_FLOAT32, two, s44, 2, NULL, 0.0, 1.0, 1, 2, 2));
    refused("overlap, xavier", sow_xavier_uniform(body, SOW_FLOAT32, two, s44, 2, NULL, 1.0, NULL, 1, 2, 2));
    refused("overlap, constant", sow_constant(body, SOW_FLOAT32, two, s44, 2, NULL, 0.25));
  }
  {
    const int64_t s_min[1] = {INT64_MIN}, s_max8[1] = {INT64_MAX / 8 * 8};
    const int64_t shape2[1] = {2}, shape3[1] = {3};
    const int64_t s2d[2] = {INT64_C(1) << 62, INT64_C(1) << 62}, shape22[2] = {2, 2};
    refused("stride INT64_MAX/4*4, 4 elements", U(body, SOW_FLOAT32, one, huge_stride, 1, NULL));
    refused("stride INT64_MAX/4*4, ones", sow_ones(body, SOW_FLOAT32, one, huge_stride, 1, NULL));
    refused("stride INT64_MIN, 2 elements", U(body, SOW_FLOAT32, shape2, s_min, 1, NULL));
    refused("stride INT64_MAX/8*8, 2 doubles", U(body, SOW_FLOAT64, shape2, s_max8, 1, NULL));
    refused("stride INT64_MAX/8*8, 3 doubles", U(body, SOW_FLOAT64, shape3, s_max8, 1, NULL));
    refused("strides (2^62, 2^62) (2, 2)", U(body, SOW_FLOAT32, shape22, s2d, 2, NULL)); /* 2^63 + 4 bytes */
  }

  /* Shapes: negative, above 2^56 (even next to a 0), products above 2^56, overflowing. */
  {
    const int64_t neg[1] = {-1}, neg2[2] = {4, -2}, zero_big[2] = {0, big}, big_zero[2] = {big, 0};
    const int64_t over[1] = {e56 + 1}, prod[2] = {INT64_C(1) << 30, INT64_C(1) << 30};
    const int64_t i64max[1] = {INT64_MAX};
    const int64_t three_big[3] = {0, e56, e56 + 1}, strides2[2] = {4, 4};
    refused("shape (-1,)", U(body, SOW_FLOAT32, neg, NULL, 1, NULL));
    refused("shape (4, -2)", U(body, SOW_FLOAT32, neg2, NULL, 2, NULL));
    refused("shape (0, 2^60)", U(body, SOW_FLOAT32, zero_big, NULL, 2, NULL));
    refused("shape (0, 2^60) strided", U(body, SOW_FLOAT32, zero_big, strides2, 2, NULL));
    refused("shape (0, 2^60), zeros", sow_zeros(body, SOW_FLOAT32, zero_big, NULL, 2, NULL));
    refused("shape (2^60, 0)", U(body, SOW_FLOAT32, big_zero, NULL, 2, NULL));
    refused("shape (2^56 + 1,)", U(body, SOW_FLOAT32, over, NULL, 1, NULL));
    refused("shape (2^30, 2^30)", U(body, SOW_FLOAT32, prod, NULL, 2, NULL));
    refused("shape (INT64_MAX,)", U(body, SOW_FLOAT32, i64max, NULL, 1, NULL));
    refused("shape (0, 2^56, 2^56 + 1)", U(body, SOW_FLOAT32, three_big, NULL, 3, NULL));
  }

  /* Shards. */
  {
    const int64_t g[1] = {8}, off_neg[1] = {-1}, off_max[1] = {INT64_MAX}, off5[1] = {5};
    const int64_t g_big[1] = {big}, g_over2[2] = {INT64_C(1) << 40, INT64_C(1) << 40}, off00[2] = {0, 0};
    const int64_t g_neg[1] = {-8}, off0[1] = {0};
    sow_shard s_null = {NULL, NULL}, s_neg = {g, off_neg}, s_max = {g, off_max}, s_out = {g, off5};
    sow_shard s_big = {g_big, off0}, s_over = {g_over2, off00}, s_gneg = {g_neg, off0}, s_noff = {g, NULL};
    refused("shard NULLs", U(body, SOW_FLOAT32, one, NULL, 1, &s_null));
    refused("shard offsets NULL", U(body, SOW_FLOAT32, one, NULL, 1, &s_noff));
    refused("shard offset -1", U(body, SOW_FLOAT32, one, NULL, 1, &s_neg));
    refused("shard offset INT64_MAX", U(body, SOW_FLOAT32, one, NULL, 1, &s_max));
    refused("shard beyond the end", U(body, SOW_FLOAT32, one, NULL, 1, &s_out));
    refused("shard global 2^60", U(body, SOW_FLOAT32, one, NULL, 1, &s_big));
    refused("shard global 2^80 elements", U(body, SOW_FLOAT32, two, NULL, 2, &s_over));
    refused("shard global -8", U(body, SOW_FLOAT32, one, NULL, 1, &s_gneg));
    refused("shard offset INT64_MAX, normal", sow_normal(body, SOW_FLOAT32, one, NULL, 1, &s_max, 0.0, 1.0, 1, 2, 1));
  }

  /* Parameters and options. */
  refused("a > b", sow_uniform(body, SOW_FLOAT32, one, NULL, 1, NULL, 1.0, 0.0, 1, 2, 1));
  refused("std < 0", sow_normal(body, SOW_FLOAT32, one, NULL, 1, NULL, 0.0, -1.0, 1, 2, 1));
  refused("threads -1", sow_uniform(body, SOW_FLOAT32, one, NULL, 1, NULL, 0.0, 1.0, 1, 2, -1));
  refused("threads INT_MIN", sow_normal(body, SOW_FLOAT32, one, NULL, 1, NULL, 0.0, 1.0, 1, 2, INT_MIN));
  refused("kaiming mode", sow_kaiming_uniform(body, SOW_FLOAT32, two, NULL, 2, NULL, 0.0, "fan_avg", NULL, NULL, 1, 2, 1));
  refused("variance_scaling distribution",
          sow_variance_scaling(body, SOW_FLOAT32, two, NULL, 2, NULL, 1.0, NULL, "cauchy", NULL, 1, 2, 1));
  {
    double gain = 0;
    int64_t fi = 0, fo = 0;
    const int64_t fan_shape[2] = {3, 4};
    ++checks;
    if (sow_calculate_gain(NULL, NULL, &gain) == SOW_OK || !sow_last_error()[0]) {
      printf("FAIL calculate_gain(NULL)\n");
      ++failures;
    }
    const int bad_nd[] = {-1, 65, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad_nd / sizeof bad_nd[0]; ++i) {
      ++checks;
      if (sow_calculate_fan_in_and_fan_out(fan_shape, bad_nd[i], NULL, &fi, &fo) == SOW_OK || !sow_last_error()[0]) {
        printf("FAIL calculate_fan_in_and_fan_out(ndim=%d)\n", bad_nd[i]);
        ++failures;
      }
    }
    ++checks;
    if (sow_calculate_fan_in_and_fan_out(fan_shape, 2, NULL, NULL, &fo) == SOW_OK || !sow_last_error()[0]) {
      printf("FAIL calculate_fan_in_and_fan_out(NULL)\n");
      ++failures;
    }
  }
  printf("checks %d failures %d\n", checks, failures);
  return failures != 0;
}

/* Legal edge cases: each must succeed, clear sow_last_error(), and stay inside its memory. */
static void accepted(const char* label, sow_status st, const void* p, size_t n) {
  ++checks;
  if (st != SOW_OK) {
    printf("FAIL %s: refused (%d) %s\n", label, (int)st, sow_last_error());
    ++failures;
  } else if (sow_last_error()[0] != '\0') {
    printf("FAIL %s: succeeded but sow_last_error() is \"%s\"\n", label, sow_last_error());
    ++failures;
  } else {
    printf("%s %016llx\n", label, (unsigned long long)fnv1a64(p, n));
  }
}

static int guards_untouched(void) {
  for (size_t i = 0; i < GUARD; ++i)
    if (region[i] != SENTINEL || region[GUARD + BODY + i] != SENTINEL) return 0;
  return 1;
}

static int accept(void) {
  reset();
  U(NULL, SOW_FLOAT32, NULL, NULL, 1, NULL); /* leaves an error behind: success must clear it */
  {
    const int64_t empty[2] = {0, 5}, empty_big[2] = {0, INT64_C(1) << 56};
    accepted("empty NULL data", U(NULL, SOW_FLOAT32, empty, NULL, 2, NULL), "", 0);
    accepted("empty (0, 2^56) NULL data", U(NULL, SOW_FLOAT32, empty_big, NULL, 2, NULL), "", 0);
    /* 0 elements: Python accepts it (math.prod is 0) although 2^32 * 2^32 overflows. */
    const int64_t wrap[3] = {INT64_C(1) << 32, INT64_C(1) << 32, 0}, strides3[3] = {4, 4, 4};
    accepted("empty (2^32, 2^32, 0)", U(NULL, SOW_FLOAT32, wrap, NULL, 3, NULL), "", 0);
    accepted("empty (2^32, 2^32, 0) strided", U(body, SOW_FLOAT32, wrap, strides3, 3, NULL), "", 0);
    accepted("scalar", U(body, SOW_FLOAT32, NULL, NULL, 0, NULL), body, 4);
  }
  {
    const int64_t n[1] = {1000};
    accepted("uniform1000 threads=3", sow_uniform(body, SOW_FLOAT32, n, NULL, 1, NULL, -1.0, 1.0, 5, 7, 3), body, 4000);
    reset();
    accepted("uniform1000 threads=1024", sow_uniform(body, SOW_FLOAT32, n, NULL, 1, NULL, -1.0, 1.0, 5, 7, 1024), body,
             4000);
  }
  {
    /* Reversed rows (negative stride), transposed (column-major) layout: Python's views. */
    const int64_t shape[2] = {16, 8}, rev[2] = {-32, 4}, colmajor[2] = {4, 64};
    float dense[16 * 8];
    reset();
    accepted("normal16x8 reversed rows",
             sow_normal(body + 15 * 32, SOW_FLOAT32, shape, rev, 2, NULL, 0.0, 1.0, 9, 3, 2), body, 16 * 8 * 4);
    reset();
    sow_normal(body, SOW_FLOAT32, shape, colmajor, 2, NULL, 0.0, 1.0, 9, 3, 2);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) memcpy(&dense[i * 8 + j], body + 4 * i + 64 * j, 4);
    accepted("normal16x8 column-major", SOW_OK, dense, sizeof dense);
  }
  ++checks;
  if (!guards_untouched()) {
    printf("FAIL guard bytes changed by a legal call\n");
    ++failures;
  }
  printf("checks %d failures %d\n", checks, failures);
  return failures != 0;
}

static long vm_size_bytes(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmSize:", 7) == 0) kb = strtol(line + 7, NULL, 10);
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

static int threads_under_rlimit(long headroom_mib) {
#if HAVE_RLIMIT
  const int64_t n[1] = {INT64_C(1) << 18};
  float* a = (float*)malloc(sizeof(float) << 18);
  if (!a) return 2;
  if (sow_uniform(a, SOW_FLOAT32, n, NULL, 1, NULL, -1.0, 1.0, 0, 0, 1) != SOW_OK) return 2;
  const uint64_t h1 = fnv1a64(a, sizeof(float) << 18);
  memset(a, 0, sizeof(float) << 18);
  const long vm = vm_size_bytes();
  if (vm < 0) {
    printf("skip no /proc/self/status\n");
    return 0;
  }
  struct rlimit lim;
  lim.rlim_cur = lim.rlim_max = (rlim_t)vm + ((rlim_t)headroom_mib << 20);
  if (setrlimit(RLIMIT_AS, &lim) != 0) {
    printf("skip setrlimit failed\n");
    return 0;
  }
  const sow_status st = sow_uniform(a, SOW_FLOAT32, n, NULL, 1, NULL, -1.0, 1.0, 0, 0, 1024);
  printf("status %d %s\n", (int)st, sow_last_error());
  printf("threads=1 %016llx\nthreads=1024 %016llx\n", (unsigned long long)h1,
         (unsigned long long)fnv1a64(a, sizeof(float) << 18));
  free(a);
  return st != SOW_OK;
#else
  printf("skip no setrlimit\n");
  return 0;
#endif
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "refuse";
  if (strcmp(mode, "refuse") == 0) return refuse();
  if (strcmp(mode, "accept") == 0) return accept();
  if (strcmp(mode, "threads") == 0) return threads_under_rlimit(argc > 2 ? strtol(argv[2], NULL, 10) : 64);
  fprintf(stderr, "usage: %s refuse|accept|threads [MiB of address space left]\n", argv[0]);
  return 2;
}
