/*
 * Bilinear resize rows for SAM's mask post-processing (torch's Interpolate<2>,
 * align_corners=False, as x86 torch builds evaluate it with fused multiply-adds).
 * Plain C, no allocation, no threads.
 */
#ifndef SAMQ_RESIZE_H
#define SAMQ_RESIZE_H

#include <stddef.h>
#include <stdint.h>
#include "samq_kernels.h"

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

/*
 * The two halves of samq_bilinear_row, for callers that reuse them: a source
 * row's horizontal pass feeds several output rows when upscaling, and the
 * vertical pass of contiguous rows vectorizes. Composed they give
 * samq_bilinear_row's bits:
 *   samq_bilinear_h:  out[i]  = fma(row[x0[i]], w0[i], row[x1[i]] * w1[i])
 *   samq_bilinear_v:  out[i]  = fma(a[i], h0, b[i] * h1)
 *   samq_bilinear_v_threshold: mask[i] = fma(a[i], h0, b[i] * h1) > threshold ? 1 : 0
 * (true fused multiply-adds on every ISA). Indexes must be valid for row.
 * An ISA this CPU lacks falls back to scalar (identical results); n == 0 is a no-op.
 */
void samq_bilinear_h(samq_isa isa, const float *row, const int32_t *x0, const int32_t *x1, const float *w0,
                     const float *w1, float *out, size_t n);
void samq_bilinear_v(samq_isa isa, const float *a, const float *b, float h0, float h1, float *out, size_t n);
void samq_bilinear_v_threshold(samq_isa isa, const float *a, const float *b, float h0, float h1, float threshold,
                               uint8_t *mask, size_t n);

#endif
