"""sow/detail/householder.hpp: the per-column reflector arithmetic that the CPU and the GPU share.

The GPU sums squares on eight lanes (`sum_squares_lane`), the CPU in one interleaved loop
(`sum_squares`); both must give the same bits, and `make_householder` must compute what
docs/stream-format.md section 8 specifies. Checked by compiling the header on the host (the
device build compiles the same source with --fmad=false) and against a Python float64
re-implementation of the specification (Python floats are IEEE doubles, math.sqrt is correctly
rounded)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = r"""
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <vector>
#include "sow/detail/householder.hpp"

template <class T> static int run(FILE* in) {
  long long len;
  int bad = 0;
  while (std::fscanf(in, "%lld", &len) == 1) {
    std::vector<T> x(static_cast<std::size_t>(len) + 1);
    for (auto& v : x) { double d; std::fscanf(in, "%la", &d); v = static_cast<T>(d); }
    const double s = sow::detail::sum_squares(x.data() + 1, len);
    double acc[sow::detail::sum_lanes];
    for (int j = 0; j < sow::detail::sum_lanes; ++j) acc[j] = sow::detail::sum_squares_lane(x.data() + 1, len, j);
    const double s2 = sow::detail::combine_sum_lanes(acc);
    if (std::memcmp(&s, &s2, 8) != 0) ++bad;
    const sow::detail::householder h = sow::detail::make_householder(static_cast<double>(x[0]), s);
    std::printf("%a %a %a %a %d\n", s, h.tau, h.scale, h.sign, h.identity ? 1 : 0);
  }
  return bad;
}

int main(int argc, char** argv) {
  FILE* in = std::fopen(argv[2], "r");
  const int bad = argv[1][0] == 'f' ? run<float>(in) : run<double>(in);
  std::fprintf(stderr, "lane mismatches: %d\n", bad);
  return bad == 0 ? 0 : 1;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    d = tmp_path_factory.mktemp("householder")
    src, exe = d / "h.cpp", d / "h"
    src.write_text(PROGRAM)
    subprocess.run(["g++", "-std=c++20", "-O2", "-ffp-contract=off", "-I",
                    os.path.join(ROOT, "cpp", "include"), str(src), "-o", str(exe)], check=True)
    return exe


def _spec(x: list[float]) -> tuple[float, float, float, float, int]:
    """docs/stream-format.md section 8, in Python floats."""
    parts = [0.0] * 8
    for i, v in enumerate(x[1:]):
        parts[i % 8] += v * v
    s = ((parts[0] + parts[1]) + (parts[2] + parts[3])) + ((parts[4] + parts[5]) + (parts[6] + parts[7]))
    alpha = x[0]
    if s == 0:
        return s, 0.0, 1.0, (1.0 if alpha >= 0 else -1.0), 1
    norm = math.sqrt(alpha * alpha + s)
    beta = -norm if alpha >= 0 else norm
    return s, (beta - alpha) / beta, 1.0 / (alpha - beta), (1.0 if beta >= 0 else -1.0), 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lanes_equal_interleaved_and_match_the_spec(program, dtype, tmp_path):
    rng = np.random.default_rng(7)
    cases = []
    for n in list(range(0, 40)) + [63, 64, 65, 127, 1000, 4097]:
        x = rng.standard_normal(n + 1)
        if n % 5 == 1:
            x[1:] = 0.0  # s == 0: H = I
        if n % 7 == 2:
            x *= 1e-30  # tiny values: many partial sums, none of them zero
        cases.append(x.astype(dtype).astype(np.float64))
    cases.append(np.array([-0.0, 0.0]))
    cases.append(np.array([-1.5]))
    inp = tmp_path / "in.txt"
    with open(inp, "w") as f:
        for x in cases:
            f.write(f"{len(x) - 1}\n" + " ".join(float(v).hex() for v in x) + "\n")
    r = subprocess.run([str(program), dtype[-2:] == "32" and "f" or "d", str(inp)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr  # sum_squares == the eight lanes combined, bit for bit
    lines = r.stdout.split("\n")
    for x, line in zip(cases, lines):
        got = line.split()
        want = _spec([float(v) for v in x])
        assert [float.fromhex(g) for g in got[:4]] == list(want[:4]), (len(x), got, want)
        assert int(got[4]) == want[4]
