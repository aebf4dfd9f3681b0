/*
 * Bilinear resize rows for SAM's mask post-processing (torch's Interpolate<2>,
 * align_corners=False, as x86 torch builds evaluate it with fused multiply-adds).
 * Plain C, no allocation, no threads.
 */
#ifndef SAMQ_RESIZE_H
#define SAMQ_RESIZE_H

#include <stdint.h>

/*
 * One output row: for i in [0, n)
 *   t0     = fma(row0[x0[i]], w0[i], row0[x1[i]] * w1[i])
 *   t1     = fma(row1[x0[i]], w0[i], row1[x1[i]] * w1[i])
 *   out[i] = fma(t0, h0, t1 * h1)
 * Every fma is a true fused multiply-add (one rounding) on every CPU: the x86
 * FMA3 instruction when present, else the C library's fmaf. Indexes must be
 * valid for row0 and row1 (the caller checks).
 */
void samq_bilinear_row(const float *row0, const float *row1, float h0, float h1,
                       const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                       float *out, intptr_t n);

#endif
