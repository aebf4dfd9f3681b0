#!/usr/bin/env python3
"""Fit the GELU table of Sources/CKernels/samq_internal.h (numpy only).

GELU(y) = y * (1 - h(|y|)) for y >= 0 and y * h(|y|) below, where
h(u) = Phi(-u) = erfc(u / sqrt(2)) / 2. On [0, UMAX] the kernels split u into
PIECES equal intervals (s = u * PIECES / UMAX, i = min(trunc(s), PIECES - 1),
t = s - i in [0, 1]) and evaluate one degree-DEGREE polynomial in t per
interval by Horner with fused multiply-adds. The coefficients below are
least-squares fits on Chebyshev nodes (close to minimax), rounded to float.
The script prints the C initializers and the maximum error measured with
float32 arithmetic, max |err| / max(1, |y|).
"""
import math

import numpy as np

PIECES, DEGREE, UMAX = 16, 4, np.float32(5.6)
SCALE = np.float32(np.float32(PIECES) / UMAX)


def tail(u):
    return 0.5 * math.erfc(u / math.sqrt(2.0))


def fit():
    nodes = 0.5 - 0.5 * np.cos((2 * np.arange(256) + 1) * np.pi / 512)
    rows = []
    for i in range(PIECES):
        u = (i + nodes) / float(SCALE)
        values = np.array([tail(x) for x in u])
        rows.append(np.polynomial.polynomial.polyfit(nodes, values, DEGREE))
    return np.array(rows, dtype=np.float32)


def gelu(y, table):
    f32 = np.float32
    u = min(abs(y), UMAX)
    s = f32(u * SCALE)
    i = min(int(s), PIECES - 1)
    t = f32(s - f32(i))
    h = table[i][DEGREE]
    for d in range(DEGREE - 1, -1, -1):  # fma: exact in double, then one rounding
        h = f32(float(h) * float(t) + float(table[i][d]))
    if abs(y) > UMAX:
        return float(y) if y >= 0 else -0.0
    return float(f32(y * (f32(1) - h) if y >= 0 else y * h))


def main():
    table = fit()
    worst = 0.0
    for y in np.linspace(-20, 20, 400001, dtype=np.float32):
        exact = float(y) * (1.0 - tail(float(y))) if y >= 0 else float(y) * tail(-float(y))
        worst = max(worst, abs(gelu(y, table) - exact) / max(1.0, abs(float(y))))
    for d in range(DEGREE + 1):
        values = ", ".join("%.9e" % float(c) for c in table[:, d])
        print(f"c{d}: {{{values}}}")
    print(f"max |err| / max(1, |y|) = {worst:.3g}")


if __name__ == "__main__":
    main()
