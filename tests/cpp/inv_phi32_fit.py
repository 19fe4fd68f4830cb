#!/usr/bin/env python3
"""How the float32 inverse normal CDF table of stream format 3 was made (provenance, not a test).

For t = 2p in (0, 1], |Phi^-1(t/2)| is fitted on 32 segments q = 0 ... 31 that straddle the
binades: segment q covers [0.75 * 2^(q-31), 1.5 * 2^(q-31)), cut at t = 1 for the last one
(q = 31: [0.75, 1]). They are what `(bits(t) + 0x400000) >> 23` selects: adding half a mantissa
carries into the exponent from 1.5 on. Ending the top segment at 0.75 rather than 0.5 halves the
interval next to z = 0, where a relative fit is hardest: with it one degree-7 polynomial per
segment is accurate to ~2.4e-7 (whole binades would need degree 8 on the top one).

On each segment a degree-7 polynomial in r = e_q - t (e_q the segment's end, so r >= 0 and |z|
decreases as t grows) is a near-minimax relative fit (Lawson's iteratively reweighted least
squares on Chebyshev nodes) against scipy's float64 ndtri, in the scaled variable r / w_q (w_q the
segment's width); the top segment has c0 = 0 (z(1) = 0 exactly). Then the coefficients are
rounded to float32 from the top degree down, each lower one refitted after the higher ones are
rounded (so their rounding is absorbed); where a segment's value just below a boundary is below
the next segment's value at it, the lower segment's c0 is raised by ulps (make_monotone), with
the polynomial evaluated as the format does: Horner with fused multiply-adds, computed exactly.

    python3 tests/cpp/inv_phi32_fit.py          # prints the C++ initializer and the docs table

The printed values are pasted into cpp/include/sow/detail/inv_phi32_table.hpp and
docs/stream-format.md; tests/cpp/test_inv_phi32.cpp checks the result over every input.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.special import ndtri

DEG = 7
SCALE = 2.0**16  # r = (e - t) 2^16: keeps every coefficient a normal float32 (2^-115 .. 2^99)
SEGMENTS = 32
NODES = 3000
ITERS = 100


def segment(q):
    """(start, end) of segment q in t."""
    s = 0.75 * 2.0 ** (q - 31)
    return s, min(2 * s, 1.0)


def fit_segment(q):
    s, e = segment(q)
    w = e - s
    ws = w * SCALE  # the width in the format's r = (e - t) 2^16
    top = q == SEGMENTS - 1
    k = np.arange(NODES)
    rho = 0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / NODES)
    rho = np.concatenate([[1.0], rho] if top else [[0.0, 1.0], rho])  # g(t=1) = 0: no node there
    t = e - rho * w
    g = -ndtri(t / 2)
    A = np.vander(rho, DEG + 1, increasing=True)
    first = 1 if top else 0  # c0 = 0 on the top segment
    coefs = np.zeros(DEG + 1)
    # Highest degree first: fit, round that coefficient to float32 (in the variable r), refit the
    # lower ones with it fixed.
    for j in range(DEG, first - 1, -1):
        free = A[:, first:j + 1]
        target = g - A[:, j + 1:] @ coefs[j + 1:]
        wt = np.ones_like(g)
        for _ in range(ITERS):  # Lawson: reweighting by the error converges toward the minimax fit
            W = wt / g
            a, *_ = np.linalg.lstsq(free * W[:, None], target * W, rcond=None)
            err = np.abs(free @ a - target) / g
            wt = wt * err
            wt /= wt.sum()
        coefs[first:j + 1] = a
        coefs[j] = float(np.float32(a[-1] / ws**j)) * ws**j  # rounded in r, kept in rho
    return np.array([np.float32(coefs[j] / ws**j) for j in range(DEG + 1)], dtype=np.float32)


def _round32(x: Fraction) -> float:
    """x rounded to the nearest float32 (ties to even), for normal-range x."""
    if x == 0:
        return 0.0
    f = float(np.float32(float(x)))  # within an ulp; fix up exactly below
    cands = [float(np.nextafter(np.float32(f), np.float32(-np.inf))), f,
             float(np.nextafter(np.float32(f), np.float32(np.inf)))]
    best = min(cands, key=lambda c: (abs(Fraction(c) - x), int(np.float32(c).view(np.uint32)) & 1))
    return best


def horner_fma32(c, r: float) -> float:
    """The format's evaluation: a = c7; a = fma(r, a, c_j) for j = 6 .. 0, each fma rounded once."""
    acc = float(c[-1])
    for cj in c[-2::-1]:
        acc = _round32(Fraction(r) * Fraction(acc) + Fraction(float(cj)))
    return acc


def make_monotone(coefs):
    """Raises c0 of segment q-1 by ulps until its value just below e_(q-1) = s_q is at least
    segment q's value at s_q: within a segment the evaluation on r >= 0 is monotone (checked
    exhaustively by the C++ test), so the whole function is monotone once every boundary is."""
    for q in range(SEGMENTS - 1, 0, -1):
        s, e = segment(q)
        at_start = horner_fma32(coefs[q], (float(np.float32(e)) - float(np.float32(s))) * SCALE)
        below = np.nextafter(np.float32(s), np.float32(0))
        r = (float(np.float32(s)) - float(below)) * SCALE
        while horner_fma32(coefs[q - 1], r) < at_start:
            coefs[q - 1, 0] = np.nextafter(coefs[q - 1, 0], np.float32(np.inf))
    return coefs


def hex32(v) -> str:
    """A float32 value as C/Python hex float text, trailing zero digits dropped: 0x1.46496p-2."""
    h = float(v).hex()
    if "p" in h and "." in h:
        mant, exp = h.split("p")
        h = mant.rstrip("0").rstrip(".") + "p" + exp
    return h


def main():
    coefs = make_monotone(np.array([fit_segment(q) for q in range(SEGMENTS)]))
    print("// c[j][q]: coefficient of r^j on segment q")
    print("{{")
    for j in range(DEG + 1):
        vals = ", ".join(hex32(v) + "f" for v in coefs[:, j])
        print(f"  {{{vals}}},")
    print("}}")
    print()
    print("| q | segment of t | " + " | ".join(f"c{j}" for j in range(DEG + 1)) + " |")
    print("|---|---|" + "---|" * (DEG + 1))
    for q in range(SEGMENTS):
        s, e = segment(q)
        close = "]" if q == SEGMENTS - 1 else ")"
        print(f"| {q} | [{hex32(s)}, {hex32(e)}{close} | " + " | ".join(hex32(v) for v in coefs[q]) + " |")


if __name__ == "__main__":
    main()
