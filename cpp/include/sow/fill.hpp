// CPU entry points: fill caller-owned memory with a distribution's values for stream (seed, key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sow/dist.hpp"
#include "sow/stream.hpp"

namespace sow {

enum class dtype : int { float32 = 0, float64 = 1, float16 = 2, bfloat16 = 3 };

constexpr std::size_t itemsize(dtype t) noexcept {
  return t == dtype::float64 ? 8 : t == dtype::float32 ? 4 : 2;
}

/// Parses "float32", "float64", "float16" or "bfloat16"; std::invalid_argument otherwise.
dtype parse_dtype(std::string_view name);

/// A strided view of caller-owned memory holding one shard of a global tensor.
///   data     address of the shard's element (0, ..., 0)
///   shape    the shard's sizes; strides in bytes (any sign, multiples of the item size)
///   global_shape, offsets: where the shard sits; empty means "the shard is the whole tensor"
struct fill_target {
  void* data = nullptr;
  dtype type = dtype::float32;
  std::span<const std::int64_t> shape;
  std::span<const std::int64_t> strides;
  std::span<const std::int64_t> global_shape;
  std::span<const std::int64_t> offsets;
};

/// Writes, for every element of `target`, the value of global row-major index g of stream
/// (seed, key, domain) under `d` (docs/stream-format.md). Validates everything first and throws
/// std::invalid_argument naming the problem; nothing is written then. `threads` = 0 uses every
/// hardware thread; the result never depends on it.
void fill(const fill_target& target, const dist& d, std::uint64_t seed, std::uint64_t key,
          int threads = 0, std::uint32_t domain = 0);

/// Runs exactly the checks `fill` makes of `d` for an output of dtype `type` (the distribution's
/// parameters, their range for `type`, the domain) without touching memory; std::invalid_argument
/// with fill's message otherwise. Lets a caller validate many fills before the first write.
/// `origin` makes the range errors name the initializer's own parameter (e.g. xavier's gain).
void check_dist(const dist& d, dtype type, std::uint32_t domain = 0, const dist_origin& origin = {});

/// One fill of fill_many: a target and what fill() would write there.
struct fill_request {
  fill_target target;
  dist d;
  std::uint64_t seed = 0, key = 0;
  std::uint32_t domain = 0;
};

/// Every request, as fill() would do them one by one, but in ONE parallel pass over the library's
/// thread pool, split by bytes across all requests (a plan of thousands of small tensors pays no
/// per-tensor thread start). Validates every request first (std::invalid_argument "requests[i]:
/// ..."); nothing is written then.
void fill_many(std::span<const fill_request> requests, int threads = 0);

/// Writes local elements [first, last) (row-major over `target.shape`) of fill(target, d, ...) to
/// `out`, C-contiguous (`last - first` elements of target.type); target.data and target.strides
/// are ignored. For streaming a tensor's bytes piece by piece (sow::write_range).
void fill_elements(const fill_target& target, const dist& d, std::uint64_t seed, std::uint64_t key,
                   std::uint64_t first, std::uint64_t last, void* out, int threads = 0);

/// Raw stream words start .. start+count-1 of stream (seed, key, domain).
void stream_words(std::uint64_t seed, std::uint64_t key, std::uint32_t domain, std::uint64_t start,
                  std::size_t count, std::uint32_t* out);

/// Instruction sets: the one in use, the ones this CPU runs (best first), and forcing one
/// (std::invalid_argument if this CPU cannot run it). The environment variable SOW_ISA forces one
/// at first use.
std::string active_isa();
std::vector<std::string> available_isas();
void set_isa(std::string_view name);
int hardware_threads() noexcept;

}  // namespace sow
