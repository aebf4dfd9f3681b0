/*
 * LayerNorm over the last axis of channels-last rows (TinyViT's norms).
 * Plain C, no allocation, no threads: split rows freely across threads.
 *
 * Numerics, per row of C values (bit-exact across every ISA):
 *   the moments are accumulated in double in 8 interleaved lanes (lane l
 *   takes x[c] for c % 8 == l, in order of c) and the lanes are summed as
 *   ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
 *   mean = sum / C;  var = sum((x - mean) * (x - mean)) / C  (same lanes)
 *   inv  = 1.0 / sqrt(var + (double)eps)
 *   y[c] = (float)(((double)x[c] - mean) * inv) * w[c] + b[c]
 *   (float multiply, then add: never fused).
 */
#ifndef SAMQ_LAYERNORM_H
#define SAMQ_LAYERNORM_H

#include <stddef.h>
#include "samq_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct samq_layernorm_args {
    size_t rows, C;
    const float *x;       /* [rows][ldx] */
    size_t ldx;
    float *y;             /* [rows][ldy]; may be x itself (same ld), else must not overlap it */
    size_t ldy;
    const float *w, *b;   /* [C] each */
    float eps;
} samq_layernorm_args;

/* Returns 0 on success, -1 on invalid arguments (NULL buffers with work to
 * do, ld < C, y overlapping x other than exactly) or an ISA this CPU lacks. */
int samq_layernorm(samq_isa isa, const samq_layernorm_args *args);

#ifdef __cplusplus
}
#endif
#endif
