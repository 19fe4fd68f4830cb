// A plan (sow/plan.hpp) with orthogonal items, from a consumer that links sow::orthogonal but
// calls nothing of sow/orthogonal.hpp itself: the plan must still reach the LAPACK backend (a static
// link keeps orthogonal.cpp, whose initializer registers it). tests/test_plan_cpp_package.py
// compares the bits with the Python package's.
//
//   plan_orthogonal_consumer <seed>   prints "<label> <fnv1a64 of the bytes>" lines, or
//                                     "error <message>" if the plan is refused
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "sow/plan.hpp"

namespace {

std::uint64_t fnv1a64(const void* data, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(data)[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 0;
  std::vector<float> q(64 * 48), k(3 * 3 * 8 * 16), w(32 * 16);
  sow::plan p(seed);
  p.add({.name = "q", .target = sow::plan_target::host(q.data(), sow::dtype::float32, {64, 48}),
         .spec = sow::init_spec("orthogonal").set("gain", 2.0), .key = "q"});
  p.add({.name = "k", .target = sow::plan_target::host(k.data(), sow::dtype::float32, {3, 3, 8, 16}),
         .spec = sow::init_spec("delta_orthogonal"), .key = "k"});
  p.add({.name = "w", .target = sow::plan_target::host(w.data(), sow::dtype::float32, {32, 16}),
         .spec = sow::init_spec("normal").set("std", 0.02), .key = "w"});
  try {
    sow::execute(p);
  } catch (const std::invalid_argument& e) {
    std::printf("error %s\n", e.what());
    return 0;
  }
  std::printf("q %016llx\n", static_cast<unsigned long long>(fnv1a64(q.data(), q.size() * 4)));
  std::printf("k %016llx\n", static_cast<unsigned long long>(fnv1a64(k.data(), k.size() * 4)));
  std::printf("w %016llx\n", static_cast<unsigned long long>(fnv1a64(w.data(), w.size() * 4)));
}
