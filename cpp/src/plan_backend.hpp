// Internal: how plans (plan.cpp, in sow_core) reach orthogonal initialization, which needs a LAPACK
// and lives in its own library (sow_orthogonal). orthogonal.cpp registers its entry points here
// when it is linked in; without it, plans refuse orthogonal items while validating.
#pragma once

#include <cstdint>

#include "sow/fill.hpp"

namespace sow::detail {

struct orthogonal_backend {
  void (*orthogonal)(const fill_target&, double gain, std::uint64_t seed, std::uint64_t key, std::int64_t blocks,
                     int threads) = nullptr;
  void (*delta_orthogonal)(const fill_target&, double scale, std::uint64_t seed, std::uint64_t key,
                           int threads) = nullptr;
};

void set_orthogonal_backend(const orthogonal_backend& b);
orthogonal_backend get_orthogonal_backend();

}  // namespace sow::detail
