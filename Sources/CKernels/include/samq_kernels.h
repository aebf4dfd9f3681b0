/*
 * SAMQ SIMD micro-kernels: int8 W8A8 GEMM, f32 GEMM, f32 depthwise 3x3
 * convolution, row quantization and runtime CPU dispatch. Plain C, no allocation, no threads: the Swift thread
 * pool splits work with the row/column ranges in the argument structs.
 * Companion headers in this directory: samq_attention.h (TinyViT window
 * attention), samq_layernorm.h, samq_resize.h.
 *
 * Packed int8 weight layout ("packedInt8", panel width NR = 16), for a
 * PyTorch Linear weight W of logical shape [N][K] (row n = output channel),
 * int8 values in [-127, 127]:
 *   Np = roundup(N, 16), Kp = roundup(K, 8)
 *   bytes [0, Np*Kp)   panels; panel p (16 output channels) at p*Kp*16.
 *                      Inside a panel, k-group g (4 consecutive k) is 64 bytes
 *                      at g*64; inside it column c (0..15) has 4 bytes at c*4,
 *                      byte j = W[p*16 + c][g*4 + j]. Out-of-range n/k are 0.
 *   then Np float32    per-channel scales (0 for padding columns)
 *   then Np int32      colsum[n] = sum_k W[n][k] (0 for padding)
 *   total              Np*Kp + 8*Np bytes (samq_packed_size).
 * The scale and colsum blocks are 4-byte aligned whenever the payload is.
 *
 * Activations: int8_t q[M][ldq] with ldq >= Kp, columns K..Kp-1 zero (which
 * samq_quantize_rows guarantees), plus one float scale per row.
 *
 * Numerics contract:
 *  - int32 accumulators are bit-exact across every ISA.
 *  - The f32 epilogue of samq_gemm_i8 is bit-exact across every ISA:
 *        y = (float)acc * (row_scale[m] * scale[n])
 *        if bias:     y = y + bias[n]
 *        if GELU:     y = samq_gelu(y)
 *        if residual: y = y + residual[m][n]
 *    evaluated without FP contraction (no fused multiply-add).
 *  - GELU is 0.5*y*(1+erf(y/sqrt(2))) evaluated as y*(1 - h) or y*h, with
 *    h = Phi(-|y|) a fixed piecewise polynomial (16 pieces on [0, 5.6],
 *    degree 4; GELU = y or -0 past |y| = 5.6), the same op sequence in
 *    scalar and SIMD code, so all ISAs give identical bits. Its error
 *    against exact-erf GELU is below 2e-7 * max(1, |y|) (absolute, 1.42e-7
 *    measured); the tests check that bound.
 *  - samq_quantize_rows gives identical bytes and scales on every ISA.
 *  - samq_softmax_q8_rows too (fixed 16-lane summation order, no FMA).
 *  - samq_sgemm is NOT bit-exact across ISAs (summation order differs);
 *    expect agreement to ~1e-6 relative.
 *  - samq_dwconv3x3 is bit-exact across every ISA (fixed summation order,
 *    see its section below).
 */
#ifndef SAMQ_KERNELS_H
#define SAMQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int samq_kernels_version(void);

/* ---- CPU dispatch ------------------------------------------------------ */

typedef enum {
    SAMQ_ISA_SCALAR = 0,
    SAMQ_ISA_AVX2 = 1,        /* x86_64: AVX2 + FMA + F16C */
    SAMQ_ISA_AVX512VNNI = 2,  /* x86_64: AVX-512 F/BW + VNNI */
    SAMQ_ISA_NEON = 3,        /* aarch64 baseline (Cortex-A53/A72) */
    SAMQ_ISA_DOTPROD = 4,     /* aarch64 SDOT (Cortex-A55/A76, Pi 5) */
    SAMQ_ISA_I8MM = 5,        /* aarch64 SMMLA (Armv8.6 i8mm) */
    SAMQ_ISA_AMX = 6          /* x86_64: avx512vnni, with the int8 GEMM on AMX tiles (AMX-INT8) */
} samq_isa;

#define SAMQ_ISA_COUNT 7

/* 1 if this build and this CPU can run `isa`, else 0. Scalar is always 1. */
int samq_isa_supported(samq_isa isa);
/* The fastest supported ISA for the int8 GEMM. */
samq_isa samq_isa_best(void);
/* "scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm", "amx"; "?" if invalid. */
const char *samq_isa_name(samq_isa isa);
/* Inverse of samq_isa_name (case-sensitive); -1 for unknown or NULL. */
int samq_isa_from_name(const char *name);

/* ---- weight packing ---------------------------------------------------- */

#define SAMQ_PACK_NR 16
#define SAMQ_PACK_KGROUP 4

static inline size_t samq_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }
/* Np*Kp + 8*Np with Np = roundup(N,16), Kp = roundup(K,8). */
size_t samq_packed_size(size_t N, size_t K);
/* Reference packer. w: [N][K] row-major int8 in [-127,127]; scales: [N] or
 * NULL (then 0); out: samq_packed_size(N,K) bytes, 4-byte aligned. */
void samq_pack_weights_i8(const int8_t *w, const float *scales, size_t N, size_t K, void *out);
/* One panel (columns 16·panel ..< 16·panel + 16) of the same layout from
 * already-quantized rows: q holds `rows` (<= 16) rows, ldq >= Kp apart, with
 * bytes K..<Kp zero (what samq_quantize_rows writes); columns past `rows`
 * get zero weights, scale 0 and sum 0. Packing panel by panel right after
 * quantizing keeps the rows in L1 (the attention packs K this way per call). */
void samq_pack_panel_i8(const int8_t *q, size_t ldq, const float *scales, size_t rows, size_t N, size_t K,
                        size_t panel, void *out);

/* ---- row quantization -------------------------------------------------- */

/* The transpose of x (rows x cols f32, row stride ld) as a packed weight
 * (samq_packed_size(cols, rows) bytes, the layout above): GEMM column c is
 * source column c, k runs over the rows, one scale per column. Codes,
 * scales and rounding are samq_quantize_rows's (amax over the finite values,
 * amax/127, round half even, NaN -> 0, +-inf -> +-127); every byte of the
 * payload is written (padding too). Identical bytes on every ISA; an ISA
 * this CPU lacks falls back to scalar. cols == 0 is a no-op. This is Vᵀ for
 * the attention's P·V. */
void samq_pack_columns_i8(samq_isa isa, const float *x, size_t rows, size_t cols, size_t ld, void *out);
/* The decomposed relative-position bias of `rows` attention score rows
 * (row stride lds >= size²): scores[r][kh·size + kw] = rel_h[r·size + kh] +
 * rel_w[r·size + kw]. One add per element: identical bits on every ISA. */
void samq_relpos_fill(samq_isa isa, float *scores, size_t lds, size_t rows, size_t size, const float *rel_h,
                      const float *rel_w);
/* out[i] = a[i] + b[i] for n floats (out may alias a or b). Identical bits
 * on every ISA; an ISA this CPU lacks falls back to scalar. */
void samq_add_f32(samq_isa isa, const float *a, const float *b, float *out, size_t n);
/* Softmax across groups of 8 lanes, per row: for every lane l of row r
 * (row stride ld), over g in [0, groups): x = p[r·ld + 8g + l],
 * m = max (x > m ? x : m from −inf), e = samq_exp_ref(x − m), sum in g order,
 * p = e · (1 / sum). Every ISA gives the scalar bits. groups == 0 or
 * rows == 0 is a no-op. */
void samq_softmax_lanes8(samq_isa isa, float *p, size_t rows, size_t groups, size_t ld);
/* One chunk of a streamed softmax-weighted sum. `s` holds `pixels` rows of
 * `rows` scores ([pixels][rows]); for every score column r, with head
 * h = r / group and values v ([pixels][ldv], head h in columns
 * [h·hd, (h+1)·hd)):
 *   mx[r]  = max_j s[j][r]            (x > m ? x : m from −inf: NaN never wins)
 *   s[j][r] = e_jr = exp(s[j][r] − mx[r])    (samq_exp_ref: clamped at −87)
 *   sum[r] = Σ_j e_jr                 (in pixel order)
 *   acc[r·hd + d] = Σ_j e_jr · v[j][h·hd + d]   (in pixel order, mul then add)
 * Every ISA follows this per lane; only FMA contraction of the scalar code
 * by a compiler can change the last bits. Merging chunks t is the caller's:
 * with M = max_t mx_t, Σ_t e^(mx_t − M)·acc_t / Σ_t e^(mx_t − M)·sum_t. An
 * ISA this CPU lacks falls back to scalar; pixels == 0 gives mx = −inf and
 * zero sums. Requires group >= 1 and ldv >= (rows / group)·hd columns' reach. */
void samq_softmax_partial(samq_isa isa, float *s, size_t pixels, size_t rows, size_t group, const float *v,
                          size_t ldv, size_t hd, float *mx, float *sum, float *acc);
/* Per row: amax = max |x| over finite x. If amax < 1e-30 (all zero, no finite
 * values, or only denormal-scale values) the row scale is 0 and q = 0.
 * Else inv = 127.0f / amax, q = clamp(rint_nearest_even(x * inv), -127, 127),
 * row_scale = amax / 127.0f; NaN -> 0, +-inf -> +-127. Columns K..Kp-1
 * (Kp = roundup(K,8), capped at ldq) are zero-filled. Requires ldq >= K.
 * Rows are independent (split M freely across threads). An ISA this CPU
 * lacks falls back to scalar: the results are identical by contract. */
void samq_quantize_rows(samq_isa isa, const float *x, size_t M, size_t K, size_t ldx,
                        int8_t *q, size_t ldq, float *row_scale);

/* Softmax (base 2) of attention score rows fused with the int8 code of P for
 * the P·V GEMM. Row r: m = max_j s[r][j] (NaN ignored), e_j = 2^(s[r][j] − m)
 * (degree-2 polynomial, within 2.3e-3 relative; exponents below −126 give
 * 2^−126), q[r][j] = rint(254·e_j) − 127 ∈ [−127, 127] (offset code, zero
 * point −127) for j < count, 0 for count <= j < padded; scale[r] =
 * 1 / (254·Σ e_j). A row whose max is not finite (empty, all −inf or NaN,
 * or +inf) gets zero codes and scale 0. The sum runs in 16 lane partials
 * (element j into lane j mod 16) added in lane order, so every ISA gives
 * identical bytes and scales. rows == 0 is a no-op. */
void samq_softmax_q8_rows(samq_isa isa, const float *s, size_t rows, size_t count, size_t lds,
                          int8_t *q, size_t ldq, size_t padded, float *scale);

/* ---- int8 GEMM --------------------------------------------------------- */

#define SAMQ_GEMM_GELU    1u  /* apply GELU after the bias */
#define SAMQ_GEMM_RAW_I32 2u  /* write raw int32 accumulators to C_i32 (no epilogue) */

typedef struct samq_gemm_args {
    size_t M, N, K;            /* logical sizes; W was packed with this N, K */
    const int8_t *A;           /* [M][lda] int8, lda >= Kp, zero in K..Kp-1 */
    size_t lda;
    const float *row_scale;    /* [M] (unused with RAW_I32) */
    const void *packed_w;      /* samq_pack_weights_i8 layout, 4-byte aligned */
    const float *bias;         /* NULL or [N] */
    const float *residual;     /* NULL or [M][ldr]; may alias C exactly (same pointer and ld) */
    size_t ldr;
    float *C;                  /* [M][ldc] f32 output */
    size_t ldc;                /* also the row stride of C_i32 */
    int32_t *C_i32;            /* output for SAMQ_GEMM_RAW_I32 */
    uint32_t flags;            /* SAMQ_GEMM_* */
    /* Work range: rows [m_begin, m_end), columns [n_begin, n_end).
     * n_begin must be a multiple of 16; n_end a multiple of 16 or == N.
     * Empty ranges are no-ops. Disjoint ranges may run concurrently. */
    size_t m_begin, m_end;
    size_t n_begin, n_end;
} samq_gemm_args;

/* Returns 0 on success, -1 on invalid arguments or an ISA this CPU lacks
 * (nothing is written then). */
int samq_gemm_i8(samq_isa isa, const samq_gemm_args *args);

/* Rows per micro-tile of samq_gemm_i8 for `isa`. Any row split is correct;
 * splitting at multiples of this wastes no work. (Columns: 16 per panel.) */
size_t samq_gemm_i8_row_tile(samq_isa isa);

/* ---- f32 GEMM (reference path) ----------------------------------------- */

#define SAMQ_SGEMM_GELU 1u  /* same polynomial GELU as the int8 epilogue */
#define SAMQ_SGEMM_B_KN 4u  /* B is [K][N] (ldb >= N) instead of [N][K] (ldb >= K) */
#define SAMQ_SGEMM_B_F16 8u /* B is IEEE binary16 bits in B_f16, [N][ldb] (not with B_KN); each
                             * weight is widened to f32 exactly, so the result is the f32 GEMM's
                             * on the widened matrix (up to summation order) at half the bytes */

typedef struct samq_sgemm_args {
    size_t M, N, K;
    const float *A;            /* [M][lda] */
    size_t lda;
    const float *B;            /* [N][ldb] (PyTorch weight), or [K][ldb] with SAMQ_SGEMM_B_KN */
    size_t ldb;
    const float *bias;         /* NULL or [N] */
    const float *residual;     /* NULL or [M][ldr]; may alias C exactly */
    size_t ldr;
    float *C;                  /* [M][ldc] */
    size_t ldc;
    uint32_t flags;            /* SAMQ_SGEMM_* */
    size_t m_begin, m_end;     /* any row range */
    size_t n_begin, n_end;     /* any column range */
    const uint16_t *B_f16;     /* with SAMQ_SGEMM_B_F16: B's values as f16 bits (B is unused) */
} samq_sgemm_args;

/* C[m][n] = sum_k A[m][k]*B[n][k] (or B[k][n]) (+bias) (GELU) (+residual).
 * With SAMQ_SGEMM_B_F16 (x86 AVX2 needs F16C, which every AVX2 CPU has and
 * samq_isa_supported checks) the kernels keep up to 8 rows in one pass, so
 * the decoder's ~7 token rows read each weight row once.
 * Any ISA works (NEON/DOTPROD/I8MM share the NEON f32 kernel, AVX512VNNI uses
 * AVX-512F). Returns 0 or -1 like samq_gemm_i8. */
int samq_sgemm(samq_isa isa, const samq_sgemm_args *args);

/* ---- f32 GEMM on bf16-rounded operands --------------------------------- */

/* C[m][n] = sum_k bf16(A[m][k]) * B[k][n] (+bias) (GELU) (+residual), for the
 * decoder's attention products P*V, where AVX512_BF16's vdpbf16ps does twice
 * the multiply-adds of an f32 FMA per cycle (Zen 4) and keeps each
 * probability's relative precision (8 bits), which one int8 scale per row
 * does not.
 *
 * B is pre-rounded and packed in pairs along K by samq_bf16_pack_kn: word
 * [j][n] (j < ceil(K/2), row stride ldb >= N words) holds bf16(B[2j][n]) in
 * its low half and bf16(B[2j+1][n]) in its high half (0 past K). A is f32
 * [M][lda], rounded inside the kernel.
 *
 * Numerics contract (bit-exact on every path, the scalar emulation included):
 *  - bf16(x) = vcvtneps2bf16: round to nearest even; |x| < FLT_MIN becomes
 *    zero with x's sign; NaN becomes a quiet NaN.
 *  - per output, acc = 0, then for each pair j (values past K are 0):
 *        acc = ftz(fma(a[2j+1], b[2j+1], acc));  acc = ftz(fma(a[2j], b[2j], acc))
 *    with ftz(y) = y's signed zero when |y| < FLT_MIN (vdpbf16ps; the
 *    product of two bf16 values is exact, so each step rounds once);
 *  - then the samq_sgemm epilogue (bias, GELU, residual; no contraction),
 *    where the residual may be a sum: y + (residual + residual_add), the
 *    decoder's keys entering as image + dense embedding without a pass of
 *    their own.
 * samq_bf16_native(isa) says whether `isa` runs it on bf16 hardware; every
 * other ISA runs the scalar emulation, which is slow (tests, fallbacks). */
typedef struct samq_bf16gemm_args {
    size_t M, N, K;
    const float *A;            /* [M][lda] */
    size_t lda;
    const uint32_t *B;         /* [ceil(K/2)][ldb] bf16 pairs, from samq_bf16_pack_kn */
    size_t ldb;
    const float *bias;         /* NULL or [N] */
    const float *residual;     /* NULL or [M][ldr]; may alias C exactly */
    size_t ldr;
    const float *residual_add; /* NULL or [N] (with residual): the residual term is
                                * residual[m][n] + residual_add[n], added first */
    float *C;                  /* [M][ldc] */
    size_t ldc;
    uint32_t flags;            /* 0 or SAMQ_SGEMM_GELU */
    size_t m_begin, m_end;
    size_t n_begin, n_end;
} samq_bf16gemm_args;

/* 1 if `isa` runs samq_bf16gemm on bf16 hardware: the AVX-512 families on a
 * CPU with AVX512_BF16. */
int samq_bf16_native(samq_isa isa);
/* bf16 of one f32 as the contract above defines it. */
uint16_t samq_bf16_round(float x);
/* B [K][ldb] f32 (N columns) -> out [ceil(K/2)][ldo] pairs, ldo >= N. */
void samq_bf16_pack_kn(const float *B, size_t K, size_t N, size_t ldb, uint32_t *out, size_t ldo);
/* Returns 0, or -1 (nothing written) for NULL/too-small arguments or ranges
 * outside [0, M) x [0, N). */
int samq_bf16gemm(samq_isa isa, const samq_bf16gemm_args *args);

/* ---- depthwise 3x3 convolution (f32) ----------------------------------- */

/* nn.Conv2d(C, C, 3, stride, padding=1, groups=C) on one channels-last image:
 * x[H][W][C] -> y[Ho][Wo][C], Ho = samq_dw_out_size(H, stride), likewise Wo.
 *
 * Weight layout "tap-major" [9][C]: w[t*C + c] = torch_weight[c][0][ky][kx]
 * with t = ky*3 + kx (samq_dwconv3x3_pack converts from PyTorch's
 * [C][1][3][3]), so each tap is one contiguous channel vector.
 *
 * Numerics contract (bit-exact across every ISA):
 *     acc = bias ? bias[c] : 0.0f
 *     for ky in 0..2, kx in 0..2, skipping taps outside the image
 *     (iy = oy*stride + ky - 1, ix = ox*stride + kx - 1):
 *         acc = acc + x[iy][ix][c] * w[ky*3+kx][c]    (rounded product, then add;
 *                                                      never fused)
 *     y = GELU ? samq_gelu(acc) : acc
 * Padding taps are skipped, not added as zeros (a -0.0f accumulator and
 * NaN/inf weights behave as in this sequence, not as in PyTorch's zero pad).
 *
 * Strips: a caller that holds only input rows [i0, i1) of a taller image
 * (i0 a multiple of stride) can pass them as x with H = i1 - i0 and y
 * advanced by i0/stride output rows; local output row j is global row
 * j + i0/stride and is exact whenever its taps lie inside the strip or on
 * the real image border (i.e. skip the local rows next to a cut). This lets
 * an encoder fuse pointwise -> depthwise -> pointwise over cache-sized strips. */

#define SAMQ_DW_GELU 1u  /* apply samq_gelu after the bias and the taps */

typedef struct samq_dwconv3x3_args {
    size_t H, W, C;            /* input size; any value, 0 gives an empty output */
    size_t stride;             /* 1 or 2; padding is always 1 */
    const float *x;            /* [H][W][C] */
    const float *w;            /* [9][C] tap-major */
    const float *bias;         /* NULL or [C] */
    float *y;                  /* [Ho][Wo][C]; must not overlap x */
    uint32_t flags;            /* SAMQ_DW_* */
    /* Output rows [y_begin, y_end) within [0, Ho). Empty ranges are no-ops;
     * disjoint ranges may run concurrently and compose to one full call. */
    size_t y_begin, y_end;
} samq_dwconv3x3_args;

/* Output size along one axis: (n + 2 - 3) / stride + 1, 0 for n == 0. */
static inline size_t samq_dw_out_size(size_t n, size_t stride) {
    return (n == 0 || stride == 0) ? 0 : (n - 1) / stride + 1;
}

/* PyTorch [C][1][3][3] -> tap-major [9][C]. `out` must not overlap `w`. */
void samq_dwconv3x3_pack(const float *w, size_t C, float *out);

/* Returns 0 on success, -1 on invalid arguments (stride not 1 or 2, unknown
 * flags, row range outside [0, Ho), NULL buffers with work to do, x and y
 * overlapping) or an ISA this CPU lacks; nothing is written then. Every ISA
 * works: DOTPROD/I8MM run the NEON kernel, AVX512VNNI uses AVX-512F. */
int samq_dwconv3x3(samq_isa isa, const samq_dwconv3x3_args *args);

/* ---- misc -------------------------------------------------------------- */

/* IEEE binary16 bits -> float, exact (subnormals, inf and NaN included). */
float samq_f16_to_f32(uint16_t h);

/* The scalar GELU used by every epilogue (see the numerics contract). */
float samq_gelu(float y);
/* x[i] = samq_gelu(x[i]) for i < n, vectorized: the same bits on every ISA
 * (an ISA this CPU lacks falls back to scalar, like samq_quantize_rows). */
void samq_gelu_inplace(samq_isa isa, float *x, size_t n);

/* Register-only int8 multiply-accumulate loop with independent chains (the
 * instruction the GEMM for `isa` is built on). Returns the number of int8
 * MACs performed, 0 if the ISA is unsupported; time it to get peak GMAC/s. */
uint64_t samq_peak_i8(samq_isa isa, uint64_t iterations);

#ifdef __cplusplus
}
#endif
#endif
