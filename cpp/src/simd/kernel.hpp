// Internal: one contiguous run of elements, written by the kernel of one instruction set.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sow/dist.hpp"
#include "sow/fill.hpp"
#include "sow/stream.hpp"

// For lambdas in the kernels' loops: as calls (GCC outlined the float32 normal's per-pair lambda
// once the transform grew), their vectors went through memory.
#define SOW_LAMBDA_INLINE __attribute__((always_inline))

namespace sow::cpu {

struct run_args {
  const prepared_dist* d;
  stream_id stream;
  dtype type;
  std::uint64_t g0;  // global index of the first element
  std::size_t n;     // number of elements
  void* out;         // contiguous, n * itemsize(type) bytes
};

using run_fn = void (*)(const run_args&);

/// Raw words first .. first + n - 1 of stream s (sow::stream_words; sparse's zero pattern).
using words_fn = void (*)(const stream_id& s, std::uint64_t first, std::size_t n, std::uint32_t* out);

// Each namespace is compiled in its own translation unit with its own -m flags, so no AVX-512
// instruction can leak into the baseline path (the highway/simdjson rule).
namespace scalar { void run(const run_args&); void words(const stream_id&, std::uint64_t, std::size_t, std::uint32_t*); }
namespace avx2 { void run(const run_args&); void words(const stream_id&, std::uint64_t, std::size_t, std::uint32_t*); }
namespace avx512 { void run(const run_args&); void words(const stream_id&, std::uint64_t, std::size_t, std::uint32_t*); }
namespace avx512bf16 { void run(const run_args&); void words(const stream_id&, std::uint64_t, std::size_t, std::uint32_t*); }

}  // namespace sow::cpu
