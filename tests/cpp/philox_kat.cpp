// Random123's known answers (tests/kat/philox4x32.txt) through every CPU backend of an installed
// sow: the scalar definition sow::philox4x32 (R = 7 and 10), then, for every instruction set this
// CPU runs (sow::available_isas), the stream words of sow::stream_words, which are the SIMD
// kernels' Philox (kernel_vector.inl) for whole groups of blocks.
//
// A Philox-10 input (ctr, key) is block ctr[0] | (ctr[1] & 0xffffff) << 32 of the stream with
// seed key[0] | key[1] << 32, key ctr[2] | ctr[3] << 32 and domain ctr[1] >> 24 (kat_file.hpp,
// docs/stream-format.md section 2), so every 4x32 counter is some stream's block. Each such
// block is read at every place it can take in a run of `span` blocks (every lane of every
// group), and every other block of those runs is compared with the scalar definition too.
//
//   philox_kat <kat file>     prints one line per check group; exit status 1 on any failure
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "kat_file.hpp"
#include "sow/fill.hpp"

namespace {

using kat_file::hex4;
using kat_file::kat;
using kat_file::same;

int failures = 0;
int checks = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

constexpr std::uint64_t span = 64;  // blocks per run: 2 iterations of AVX-512's 2 groups of 16

// Blocks [b0, b0 + span) of stream s through the active ISA, each compared with the scalar
// definition; returns whether block `want_block` (inside the run) equals `want`.
bool run_matches(const sow::stream_id& s, std::uint64_t b0, std::uint64_t want_block, const sow::philox4x32_ctr& want,
                 const std::string& what) {
  std::vector<std::uint32_t> w(4 * span);
  sow::stream_words(s.seed, s.key, s.domain, 4 * b0, w.size(), w.data());
  bool all = true;
  for (std::uint64_t i = 0; i < span; ++i) {
    const sow::philox4x32_ctr got{{w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]}};
    if (!same(got, sow::stream_block(s, b0 + i))) {
      all = false;
      std::printf("FAIL %s: block %llu differs from the scalar definition: %s\n", what.c_str(),
                  static_cast<unsigned long long>(b0 + i), hex4(got).c_str());
      break;
    }
  }
  check(all, what + " run vs scalar");
  const std::uint64_t i = want_block - b0;
  const sow::philox4x32_ctr got{{w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]}};
  return same(got, want);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: philox_kat <tests/kat/philox4x32.txt>\n");
    return 2;
  }
  const std::vector<kat> kats = kat_file::read(argv[1]);
  std::printf("kat lines %zu\n", kats.size());
  check(!kats.empty(), "the file has known answers");

  for (const kat& k : kats) {
    const sow::philox4x32_ctr got = sow::philox4x32(k.ctr, k.key, k.rounds);
    check(same(got, k.expected), "scalar R" + std::to_string(k.rounds) + " " + hex4(k.ctr) + ": got " + hex4(got));
  }
  std::printf("scalar philox4x32 checked\n");

  constexpr std::uint64_t max_blocks = std::uint64_t{1} << 56;  // block indices are 56-bit
  for (const std::string& isa : sow::available_isas()) {
    sow::set_isa(isa);
    int placed = 0;
    for (const kat& k : kats) {
      if (k.rounds != 10) continue;  // streams are Philox-10
      const sow::stream_id s = kat_file::stream_of(k);
      const std::uint64_t block = kat_file::block_of(k);
      check(same(sow::stream_counter(s, block), k.ctr), isa + " counter layout " + hex4(k.ctr));
      // Every start b0 with b0 <= block < b0 + span inside the stream: the block in every lane.
      const std::uint64_t lo = block >= span - 1 ? block - (span - 1) : 0;
      const std::uint64_t hi = block < max_blocks - span ? block : max_blocks - span;
      for (std::uint64_t b0 = lo; b0 <= hi; ++b0) {
        const std::string what = isa + " R10 " + hex4(k.ctr) + " at run position " + std::to_string(block - b0);
        check(run_matches(s, b0, block, k.expected, what), what);
        ++placed;
      }
    }
    // Lanes whose block index carries into the high word (2^32 - 1 -> 2^32), domain 1.
    const sow::stream_id s{0x0123456789abcdefull, 0xfedcba9876543210ull, 1};
    for (std::uint64_t b0 = (std::uint64_t{1} << 32) - span; b0 < (std::uint64_t{1} << 32); b0 += 7)
      run_matches(s, b0, b0, sow::stream_block(s, b0), isa + " carry run at " + std::to_string(b0));
    std::printf("isa %s placements %d\n", isa.c_str(), placed);
  }
  std::printf("checks %d failures %d\n", checks, failures);
  return failures ? 1 : 0;
}
