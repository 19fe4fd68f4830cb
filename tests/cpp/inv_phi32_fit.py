#!/usr/bin/env python3
"""How the float32 inverse normal CDF table of stream format 2 was made (provenance, not a test).

For t = 2p in [2^-16, 1], |Phi^-1(t/2)| is fitted on 32 segments, the two halves of each binade
[2^E, 2^(E+1)) of t (E = -16 ... -1; segment k covers [s_k, e_k) with e_k - s_k = 2^(E-1)), as a
degree-5 polynomial in r = e_k - t (so r >= 0 and |z| decreases as t grows). The last segment
[0.75, 1] has c0 = 0 (z(1) = 0 exactly). Each fit is a near-minimax relative fit (Lawson's
iteratively reweighted least squares on Chebyshev nodes) against scipy's float64 ndtri, in the
scaled variable r / 2^(E-1) (a power of two, so scaling back is exact); then the coefficients are
rounded to float32; where a segment's value just below a boundary is below the next segment's
value at it, the lower segment's c0 is raised by ulps (make_monotone).

    python3 tests/cpp/inv_phi32_fit.py          # prints the C++ initializer and the docs table

The printed values are pasted into cpp/include/sow/detail/inv_phi32_table.hpp and
docs/stream-format.md; tests/cpp/test_inv_phi32.cpp checks the result over every input.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

DEG = 5
NODES = 2000
ITERS = 60


def segments():
    out = []
    for e in range(-16, 0):
        for h in range(2):
            w = 2.0**e / 2
            out.append((2.0**e + h * w, w))
    return out


def fit_segment(s, w, top):
    k = np.arange(NODES)
    rho = 0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / NODES)
    rho = np.concatenate([[1.0], rho] if top else [[0.0, 1.0], rho])  # g(t=1) = 0: no node there
    t = (s + w) - rho * w
    g = -ndtri(t / 2)
    if top:  # g = rho * Q(rho): fit Q relative to g
        A = np.vander(rho, DEG + 1, increasing=True)[:, 1:]
    else:
        A = np.vander(rho, DEG + 1, increasing=True)
    wt = np.ones_like(g)
    for _ in range(ITERS):  # Lawson: reweighting by the error converges toward the minimax fit
        W = wt / g
        a, *_ = np.linalg.lstsq(A * W[:, None], g * W, rcond=None)
        err = np.abs(A @ a - g) / g
        wt = wt * err
        wt /= wt.sum()
    if top:
        a = np.concatenate([[0.0], a])
    return (a / w ** np.arange(DEG + 1)).astype(np.float32)  # back to r = rho * w (exact scaling)


def horner32(c, r):
    acc = np.float32(c[-1]) + np.zeros_like(r)
    for cj in c[-2::-1]:
        acc = np.float32(cj) + r * acc
    return acc


def make_monotone(coefs):
    """Raises c0 of segment k-1 by ulps until its value just below e_(k-1) = s_k is at least segment
    k's value at s_k: within a segment Horner on r >= 0 is monotone (checked exhaustively by the
    C++ test), so the whole function is monotone once every boundary is."""
    for k in range(31, 0, -1):
        s, w = segments()[k]
        at_start = horner32(coefs[k], np.array([np.float32(s + w) - np.float32(s)], np.float32))[0]
        below = np.nextafter(np.float32(s), np.float32(0))
        while True:
            r = np.array([np.float32(s) - below], np.float32)
            if horner32(coefs[k - 1], r)[0] >= at_start:
                break
            coefs[k - 1, 0] = np.nextafter(coefs[k - 1, 0], np.float32(np.inf))
    return coefs


def main():
    coefs = make_monotone(np.array([fit_segment(s, w, k == 31) for k, (s, w) in enumerate(segments())]))
    print("// c[j][k]: coefficient of r^j on segment k")
    print("{{")
    for j in range(DEG + 1):
        vals = ", ".join(float(v).hex() + "f" for v in coefs[:, j])
        print(f"  {{{vals}}},")
    print("}}")
    print()
    print("| k | t from | c0 | c1 | c2 | c3 | c4 | c5 |")
    print("|---|---|---|---|---|---|---|---|")
    for k, (s, _w) in enumerate(segments()):
        print(f"| {k} | {float(s).hex()} | " + " | ".join(float(v).hex() for v in coefs[k]) + " |")


if __name__ == "__main__":
    main()
