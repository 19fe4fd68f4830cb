// Internal to sow_core: sparse_ (sow/init.hpp) in the two steps a plan (plan.cpp) needs, since a
// plan allocates everything its items need before it writes the first of them. First every check
// and the zero pattern's thresholds (all of sparse_'s memory but its staging buffer); later, once
// values() has been written over the output (in the plan's one fill pass), the zeros, read
// through a staging buffer shared by every item, allocating nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "sow/dist.hpp"
#include "sow/init.hpp"

namespace sow::detail {

/// Words a sparse_pending's write_zeros stages at once.
inline constexpr std::size_t sparse_stage_words = std::size_t{1} << 16;

class sparse_pending {
 public:
  /// sparse_(out, {seed, key}, sparsity, std)'s checks (its messages), and the thresholds.
  sparse_pending(const tensor_ref& out, std::uint64_t seed, std::uint64_t key, double sparsity, double std);
  sparse_pending(sparse_pending&&) noexcept;
  sparse_pending& operator=(sparse_pending&&) noexcept;
  ~sparse_pending();

  /// What sparse_ fills the output with before it zeroes: values() of stream (seed, key, domain 0).
  const dist& values() const;
  /// Whether write_zeros writes anything (sparsity > 0 and a non-empty shard).
  bool has_zeros() const;
  /// Zeroes the pattern's elements; `stage` holds at least sparse_stage_words words.
  void write_zeros(std::span<std::uint32_t> stage);

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace sow::detail
