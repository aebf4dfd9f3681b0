/*
 * Small-window f32 attention for TinyViT (MobileSAM): one (window, head) per
 * call, softmax(q.k^T * scale + bias).v, with the scores kept in a small
 * scratch (a 14x14 window has 196 keys: one score row is < 1 KB).
 * Plain C, no allocation, no threads: the caller splits windows and heads
 * over its pool (calls are independent, so results never depend on the split).
 *
 * Tokens are addressed on the window's grid, so the caller can point straight
 * into a raster band of qkv rows without gathering windows:
 *   input token (r, c), 0 <= r < rows, 0 <= c < cols, n = rows*cols, index
 *   i = r*cols + c:  q + r*row_stride + c*ld  (likewise k and v), d floats.
 *   output token (r, c) for r < out_rows, c < out_cols only (the padding
 *   tokens of an edge window are keys, but their outputs are not needed):
 *   out + r*out_row_stride + c*out_ld, d floats.
 *
 * Numerics (per output row i):
 *   s_j  = sum_t q_i[t] (k_j[t] * scale) + bias[i*n + j]   (bias may be NULL)
 *   e_j  = exp(s_j - max_j s_j)       (Cody-Waite + polynomial: degree 7 in
 *                                      the scalar reference, degree 6 with FMAs
 *                                      in SIMD; inputs clamped at -87;
 *                                      relative error < 4e-7)
 *   out  = (sum_j e_j v_j) * (1 / sum_j e_j)
 * The SIMD kernels use fused multiply-adds and vector partial sums, so they
 * agree with the scalar reference to ~1e-6 relative, not bit for bit (like
 * samq_sgemm). Every ISA is deterministic: the same inputs give the same bits.
 */
#ifndef SAMQ_ATTENTION_H
#define SAMQ_ATTENTION_H

#include <stddef.h>
#include "samq_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct samq_window_attention_args {
    size_t rows, cols;          /* token grid of the window; n = rows*cols keys */
    size_t head_dim;            /* d */
    const float *q, *k, *v;     /* see the addressing above */
    size_t ld, row_stride;      /* floats between tokens of a row / between rows */
    const float *bias;          /* NULL or [n][n] */
    float scale;
    float *out;                 /* must not overlap q, k, v, bias or scratch */
    size_t out_ld, out_row_stride;
    size_t out_rows, out_cols;  /* <= rows, cols */
    float *scratch;             /* samq_window_attention_scratch(n, d) floats */
} samq_window_attention_args;

/* Floats of scratch one call needs. */
size_t samq_window_attention_scratch(size_t n, size_t head_dim);

/* Returns 0 on success, -1 on invalid arguments (NULL buffers with work to
 * do, out_rows/out_cols beyond the grid, ld < d) or an ISA this CPU lacks.
 * DOTPROD/I8MM run the NEON kernel, AVX512VNNI uses AVX-512F. */
int samq_window_attention(samq_isa isa, const samq_window_attention_args *args);

/* The same attention with bf16 products, for the int8 encoder on CPUs with
 * AVX512_BF16, whose vdpbf16ps does two multiply-adds per f32 lane. Per
 * output row i, with bf() = samq_bf16_round read back as vdpbf16ps reads it
 * (subnormals as zero) and ftz() its flush of each step's result:
 *   s_j = bias[i*n + j] + sum over t-pairs p = 0, 1, ...:
 *           acc = ftz(acc + bf(q_i[2p+1]) * bf(k_j[2p+1] * scale));
 *           acc = ftz(acc + bf(q_i[2p]) * bf(k_j[2p] * scale))   (0 past d)
 *   e_j = samq_exp_fast_ref(s_j - max_j s_j)
 *   sum = lane sums L_l of e_j over j = l mod 16 (j ascending), then
 *         ((L_0 + L_1) + L_2) + ... + L_15
 *   out = (the same pairwise sum of bf(e_j) * bf(v_j[t]) over key pairs) *
 *         (1 / sum)
 * so every ISA gives the same bits: samq_bf16_native(isa) runs the
 * AVX-512 kernel, any other the scalar emulation (slow; tests, fallbacks).
 * The one exception is SAMQ_ISA_AMX on a CPU with AMX-BF16
 * (samq_window_attention_bf16_tiles): both products run on AMX tiles, whose
 * f32 sums of bf16 products round differently from vdpbf16ps' chained
 * steps, so outputs agree with the emulation to ~3e-5 of the largest |v_j|
 * (a score that moves by an f32 rounding can move its e_j to the next
 * bf16), not bit for bit; still deterministic.
 * bf16 keeps 8 bits of each value; see docs/DECISIONS.md for its accuracy. */
int samq_window_attention_bf16(samq_isa isa, const samq_window_attention_args *args);

/* 1 if samq_window_attention_bf16(isa, ...) runs on AMX tiles here. */
int samq_window_attention_bf16_tiles(samq_isa isa);

#ifdef __cplusplus
}
#endif
#endif
