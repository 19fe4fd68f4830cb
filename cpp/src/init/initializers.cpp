// The CPU initializers of sow/init.hpp (uniform_, normal_, ..., constant_, eye_, dirac_): each
// builds its distribution (formulas.cpp), checks it for the output's dtype, then fills through
// the engine. sparse_ is in sparse.cpp.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "sow/init.hpp"
#include "target.hpp"
#include "value_checks.hpp"

namespace sow {

using namespace init_impl;  // the value checks, run and the target checks

namespace {

void write_one(const tensor_ref& t, std::int64_t byte_offset) {
  unsigned char* p = static_cast<unsigned char*>(t.data) + byte_offset;
  switch (t.type) {
    case dtype::float32: { const float v = 1.0f; std::memcpy(p, &v, 4); break; }
    case dtype::float64: { const double v = 1.0; std::memcpy(p, &v, 8); break; }
    case dtype::float16: { const std::uint16_t v = 0x3c00; std::memcpy(p, &v, 2); break; }
    case dtype::bfloat16: { const std::uint16_t v = 0x3f80; std::memcpy(p, &v, 2); break; }
  }
}

// Sets to 1 the global positions idx[0..nd) (one per dimension) when they fall in the shard.
void set_one_if_inside(const tensor_ref& t, std::span<const std::int64_t> idx) {
  std::int64_t off = 0;
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const std::int64_t local = idx[k] - offset_of(t, k);
    if (local < 0 || local >= t.shape[k]) return;
    off += local * stride_of(t, k);
  }
  write_one(t, off);
}

std::uint64_t local_count(const tensor_ref& t) {
  std::uint64_t n = 1;
  for (const auto s : t.shape) n *= static_cast<std::uint64_t>(s);
  return n;
}

}  // namespace

void uniform_(const tensor_ref& out, const rng& r, double a, double b) {
  const dist d = uniform_dist(a, b);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void normal_(const tensor_ref& out, const rng& r, double mean, double std) {
  const dist d = normal_dist(mean, std);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void trunc_normal_(const tensor_ref& out, const rng& r, double mean, double std, double a, double b) {
  const dist d = trunc_normal_dist(mean, std, a, b);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void xavier_uniform_(const tensor_ref& out, const rng& r, double gain, const fan_options& f) {
  check_global(out);
  const dist d = for_type(xavier_uniform_dist(out.global(), gain, f), out.type, "xavier_uniform", "gain", gain);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void xavier_normal_(const tensor_ref& out, const rng& r, double gain, const fan_options& f) {
  check_global(out);
  const dist d = for_type(xavier_normal_dist(out.global(), gain, f), out.type, "xavier_normal", "gain", gain);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void kaiming_uniform_(const tensor_ref& out, const rng& r, double a, std::string_view mode,
                      std::string_view nonlinearity, const fan_options& f) {
  check_global(out);
  const dist d = for_type(kaiming_uniform_dist(out.global(), a, mode, nonlinearity, f), out.type, "kaiming_uniform", "a", a);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void kaiming_normal_(const tensor_ref& out, const rng& r, double a, std::string_view mode,
                     std::string_view nonlinearity, const fan_options& f) {
  check_global(out);
  const dist d = for_type(kaiming_normal_dist(out.global(), a, mode, nonlinearity, f), out.type, "kaiming_normal", "a", a);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void lecun_uniform_(const tensor_ref& out, const rng& r, const fan_options& f) {
  check_global(out);
  const dist d = for_type(lecun_uniform_dist(out.global(), f), out.type, "lecun_uniform", nullptr, 0.0);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void lecun_normal_(const tensor_ref& out, const rng& r, const fan_options& f) {
  check_global(out);
  const dist d = for_type(lecun_normal_dist(out.global(), f), out.type, "lecun_normal", nullptr, 0.0);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void variance_scaling_(const tensor_ref& out, const rng& r, double scale, std::string_view mode,
                       std::string_view distribution, const fan_options& f) {
  check_global(out);
  const dist d = for_type(variance_scaling_dist(out.global(), scale, mode, distribution, f), out.type, "variance_scaling",
                          "scale", scale);
  run(out, d, r.seed.value, r.key.value, r.threads);
}

void constant_(const tensor_ref& out, double val) {
  real(val, "val");
  run(out, dist::constant(val), 0, 0, 1);  // the engine refuses a val that overflows out's dtype
}

void ones_(const tensor_ref& out) { run(out, dist::constant(1.0), 0, 0, 1); }

void zeros_(const tensor_ref& out) { run(out, dist::constant(0.0), 0, 0, 1); }

void check_eye(const tensor_ref& out) {
  check_global(out);
  const auto& g = out.global();
  if (g.size() != 2) fail("Only tensors with 2 dimensions are supported (shape " + py_tuple(g) + ")");
  check_target(out);
}

void eye_(const tensor_ref& out) {
  check_eye(out);
  // all checks passed
  run(out, dist::constant(0.0), 0, 0, 1);
  if (local_count(out) == 0) return;
  // The diagonal inside the shard's box only: O(min(rows, cols) of the shard).
  const std::int64_t r0 = offset_of(out, 0), c0 = offset_of(out, 1);
  const std::int64_t lo = std::max(r0, c0), hi = std::min(r0 + out.shape[0], c0 + out.shape[1]);
  for (std::int64_t d = lo; d < hi; ++d) {
    const std::array<std::int64_t, 2> idx{d, d};
    set_one_if_inside(out, idx);
  }
}

void check_dirac(const tensor_ref& out, std::int64_t groups) {
  check_global(out);
  const auto& g = out.global();
  if (g.size() < 3 || g.size() > 5)
    fail("Only tensors with 3, 4, or 5 dimensions are supported (shape " + py_tuple(g) + ")");
  positive_int(groups, "groups");
  if (g[0] % groups != 0) fail("dim 0 must be divisible by groups");
  check_target(out);
}

void dirac_(const tensor_ref& out, std::int64_t groups) {
  check_dirac(out, groups);
  // all checks passed
  const auto& g = out.global();
  run(out, dist::constant(0.0), 0, 0, 1);
  if (local_count(out) == 0) return;
  // The ones are (gi * per_group + d, d, centre...) for d < min_dim: only the groups whose rows
  // meet the shard, and in each the d inside the shard's box, so the work is O(shard) whatever
  // `groups` is (it was O(groups * min_dim)).
  const std::int64_t per_group = g[0] / groups, min_dim = std::min(per_group, g[1]);
  std::vector<std::int64_t> idx(g.size());
  for (std::size_t k = 2; k < g.size(); ++k) {
    idx[k] = g[k] / 2;
    if (idx[k] < offset_of(out, k) || idx[k] >= offset_of(out, k) + out.shape[k]) return;
  }
  const std::int64_t r0 = offset_of(out, 0), r1 = r0 + out.shape[0];
  const std::int64_t c0 = offset_of(out, 1), c1 = c0 + out.shape[1];
  for (std::int64_t start = r0 / per_group * per_group; start < r1; start += per_group) {
    const std::int64_t lo = std::max({r0 - start, c0, std::int64_t{0}});
    const std::int64_t hi = std::min({r1 - start, c1, min_dim});
    for (std::int64_t d = lo; d < hi; ++d) {
      idx[0] = start + d;
      idx[1] = d;
      set_one_if_inside(out, idx);
    }
  }
}

}  // namespace sow
