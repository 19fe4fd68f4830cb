// sow::orthogonal from an installed package (find_package(sow COMPONENTS orthogonal)): a few
// orthogonal and delta_orthogonal calls whose bits tests/test_cpp_package.py compares with the
// Python package's, and one refused call whose message it compares with Python's.
//
//   orthogonal_consumer <seed>   prints "<label> <fnv1a64 of the bytes>" lines and "error <message>"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "sow/key.hpp"
#include "sow/orthogonal.hpp"

namespace {

std::uint64_t fnv1a64(const void* data, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(data)[i]) * 0x100000001b3ull;
  return h;
}

template <class T>
void print(const char* label, const std::vector<T>& v) {
  std::printf("%s %016llx\n", label, static_cast<unsigned long long>(fnv1a64(v.data(), v.size() * sizeof(T))));
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 0;
  {  // tall (64, 48) float32, threads = 1
    std::vector<float> q(64 * 48);
    const std::int64_t shape[] = {64, 48}, strides[] = {48 * 4, 4};
    sow::orthogonal({q.data(), sow::dtype::float32, shape, strides}, 1.0, seed, sow::key_hash("w"), 1, 1);
    print("tall_f32", q);
  }
  {  // wide (3 blocks of 16, 40) float64, gain 2
    std::vector<double> q(48 * 40);
    const std::int64_t shape[] = {48, 40}, strides[] = {40 * 8, 8};
    sow::orthogonal({q.data(), sow::dtype::float64, shape, strides}, 2.0, seed, sow::key_hash("lstm"), 3, 1);
    print("blocks_f64", q);
  }
  {  // delta_orthogonal of a (3, 3, 8, 16) kernel
    std::vector<float> k(3 * 3 * 8 * 16);
    const std::int64_t shape[] = {3, 3, 8, 16}, strides[] = {3 * 8 * 16 * 4, 8 * 16 * 4, 16 * 4, 4};
    sow::delta_orthogonal({k.data(), sow::dtype::float32, shape, strides}, 1.0, seed, sow::key_hash("conv"), 1);
    print("delta_f32", k);
  }
  try {  // blocks must divide shape[0]
    std::vector<float> v(12 * 4);
    const std::int64_t shape[] = {12, 4}, strides[] = {16, 4};
    sow::orthogonal({v.data(), sow::dtype::float32, shape, strides}, 1.0, seed, 0, 5);
  } catch (const std::invalid_argument& e) {
    std::printf("error %s\n", e.what());
  }
  std::printf("lapack %s\n", sow::lapack_info().c_str());
}
