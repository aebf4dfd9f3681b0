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

/*
 * The mask decoder's LayerNorm (norm4, output_upscaling.1): float32 moments,
 * optionally followed by GELU and int8 row quantization, in place on rows of
 * C floats (row stride ldx >= C). Per row (bit-exact across every ISA; the
 * very arithmetic of Swift's SIMD8<Float> code it replaces):
 *   8 float lanes, lane l adding x[c] for c % 8 == l in order of c;
 *   sum  = ((((((l0 + l1) + l2) + l3) + l4) + l5) + l6) + l7;  mean = sum / C
 *   the same lanes and order over d * d, d = x[c] - mean (multiply, then add): var = sq / C
 *   inv  = 1 / sqrtf(var + eps)
 *   y[c] = ((x[c] - mean) * inv) * w[c] + b[c]          (never fused)
 *   with SAMQ_DLN_GELU: y[c] = samq_gelu(y[c])
 * y is written over x. With q != NULL each finished row is then quantized
 * exactly as samq_quantize_rows quantizes it (q: rows x ldq int8, ldq >= C,
 * zero-filled up to min(roundup(C, 8), ldq); row_scale: one float per row)
 * while it is still in L1.
 * Rows are independent: split them freely across threads.
 * Returns 0, or -1 on invalid arguments (NULL buffers with work to do,
 * ldx < C, ldq < C with q, unknown flags) or an ISA this CPU lacks.
 */
#define SAMQ_DLN_GELU 1u

int samq_decoder_layernorm(samq_isa isa, float *x, size_t rows, size_t C, size_t ldx, const float *w,
                           const float *b, float eps, uint32_t flags, int8_t *q, size_t ldq, float *row_scale);

#ifdef __cplusplus
}
#endif
#endif
