// tests/kat/philox4x32.txt read by the C++ and CUDA test programs (philox_kat.cpp,
// tests/gpu/philox_kat.cu): Random123's format, "philox4x32 R CTR[4] KEY[2] EXPECTED[4]" in hex.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sow/philox.hpp"
#include "sow/stream.hpp"

namespace kat_file {

struct kat {
  int rounds;
  sow::philox4x32_ctr ctr;
  sow::philox4x32_key key;
  sow::philox4x32_ctr expected;
};

inline std::string hex4(const sow::philox4x32_ctr& c) {
  char b[48];
  std::snprintf(b, sizeof b, "%08x %08x %08x %08x", c.v[0], c.v[1], c.v[2], c.v[3]);
  return b;
}

inline bool same(const sow::philox4x32_ctr& a, const sow::philox4x32_ctr& b) {
  return a.v[0] == b.v[0] && a.v[1] == b.v[1] && a.v[2] == b.v[2] && a.v[3] == b.v[3];
}

/// The stream (docs/stream-format.md section 2) whose block `block` has the counter and key of a
/// Philox-10 input: every 4x32 counter is some stream's block.
inline sow::stream_id stream_of(const kat& k) {
  return {k.key.v[0] | std::uint64_t{k.key.v[1]} << 32, k.ctr.v[2] | std::uint64_t{k.ctr.v[3]} << 32, k.ctr.v[1] >> 24};
}
inline std::uint64_t block_of(const kat& k) { return k.ctr.v[0] | std::uint64_t{k.ctr.v[1] & 0xffffffu} << 32; }

/// Every known answer of the file; exits with status 2 if it cannot be read.
inline std::vector<kat> read(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::printf("FAIL cannot open %s\n", path);
    std::exit(2);
  }
  std::vector<kat> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name;
    kat k{};
    f >> name >> k.rounds >> std::hex;
    for (auto& w : k.ctr.v) f >> w;
    for (auto& w : k.key.v) f >> w;
    for (auto& w : k.expected.v) f >> w;
    if (!f || name != "philox4x32") {
      std::printf("FAIL unreadable line: %s\n", line.c_str());
      std::exit(2);
    }
    out.push_back(k);
  }
  return out;
}

}  // namespace kat_file
