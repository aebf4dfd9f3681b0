/* Internal declarations shared by the kernel translation units. */
#ifndef SAMQ_INTERNAL_H
#define SAMQ_INTERNAL_H

/* The epilogues must give the same bits in scalar and SIMD code, so a*b+c
 * must never become one fused multiply-add behind our back. Clang honours
 * the standard pragma; GCC ignores it, so we also ask GCC per function (the
 * test scripts additionally pass -ffp-contract=off). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include "samq_kernels.h"

#define SAMQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SAMQ_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Unaligned loads without aliasing/alignment UB; compile to one mov/ldr. */
static inline int32_t samq_load_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }
static inline uint32_t samq_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float samq_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* IEEE binary16 -> binary32, exact for every input. */
static inline float samq_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: man * 2^-24, normalized */
        uint32_t e = 113;
        while (!(man & 0x400u)) { man <<= 1; e--; }
        bits = sign | (e << 23) | ((man & 0x3ffu) << 13);
    }
    return samq_bits_f32(bits);
}

/* Constants of the shared GELU (see samq_kernels.h). With u = |y|,
 * h(u) = Phi(-u) = erfc(u/sqrt(2))/2 is a piecewise polynomial on
 * [0, SAMQ_GELU_UMAX]: s = u * SAMQ_GELU_SCALE splits it into 16 equal
 * pieces, i = min(trunc(s), 15) picks one, and h is a degree-4 polynomial in
 * t = s - i (Horner, fused multiply-adds) with the coefficients of row i of
 * samq_gelu_table (fitted by scripts/fit_gelu.py; max |err|/max(1,|y|)
 * 1.42e-7 on [-20, 20]). GELU(y) = y*(1 - h) for y >= 0 and y*h for y < 0.
 * Evaluating the small tail probability h (rather than 1 + erf) keeps the
 * negative tail free of cancellation. Past SAMQ_GELU_UMAX, h < 1.1e-8: GELU
 * is y (y > 0) or -0 (y < 0) there, and the polynomial runs on the clamped
 * u, so nothing goes subnormal (each subnormal result costs a microcode
 * assist on Intel). A 16-entry table is one register per coefficient:
 * AVX-512 looks it up with one vpermps, NEON with one tbl of four
 * registers, AVX2 with two vpermps and a blend. This replaced a rational
 * P/Q (13 FMAs and a Newton reciprocal), which cost ~1.7x as much per value
 * on AVX-512 at the same accuracy (docs/DECISIONS.md). */
#define SAMQ_GELU_UMAX 5.6f
#define SAMQ_GELU_PIECES 16
#define SAMQ_GELU_SCALE (16.0f / 5.6f)
#define SAMQ_GELU_DEGREE 4
/* Row d holds coefficient d of every piece, so a row is one 64-byte vector. */
__attribute__((unused, aligned(64))) static const float samq_gelu_table[SAMQ_GELU_DEGREE + 1][SAMQ_GELU_PIECES] = {
    {4.999999106e-01f, 3.631693125e-01f, 2.419636846e-01f, 1.468591243e-01f, 8.075672388e-02f, 4.005919024e-02f,
     1.786442660e-02f, 7.142802235e-03f, 2.555119339e-03f, 8.163443417e-04f, 2.326248505e-04f, 5.905710714e-05f,
     1.334511217e-05f, 2.682106242e-06f, 4.791351671e-07f, 7.603911456e-08f},
    {-1.396250129e-01f, -1.313318163e-01f, -1.092898548e-01f, -8.046169579e-02f, -5.240748450e-02f,
     -3.019862436e-02f, -1.539449301e-02f, -6.942605600e-03f, -2.769829705e-03f, -9.775790386e-04f,
     -3.052206303e-04f, -8.430133312e-05f, -2.059724829e-05f, -4.451784662e-06f, -8.511494229e-07f,
     -1.439530877e-07f},
    {-3.853055750e-05f, 8.025066927e-03f, 1.339509245e-02f, 1.480763499e-02f, 1.286227349e-02f, 9.260673076e-03f,
     5.659491755e-03f, 2.973173046e-03f, 1.352853491e-03f, 5.357783521e-04f, 1.852973801e-04f, 5.609655636e-05f,
     1.489191891e-05f, 3.471326181e-06f, 7.112551543e-07f, 1.282044906e-07f},
    {2.959769685e-03f, 2.409839770e-03f, 1.120890607e-03f, -2.326032991e-04f, -1.092744642e-03f,
     -1.309014624e-03f, -1.078790985e-03f, -6.992755225e-04f, -3.738160885e-04f, -1.685969182e-04f,
     -6.498526636e-05f, -2.158055759e-05f, -6.208093964e-06f, -1.553037464e-06f, -3.388254015e-07f,
     -6.460827251e-08f},
    {-1.266878680e-04f, -3.087026707e-04f, -3.307669249e-04f, -2.158545394e-04f, -5.966097888e-05f,
     5.216997306e-05f, 9.217403567e-05f, 8.104648441e-05f, 5.203680121e-05f, 2.669016430e-05f, 1.134664853e-05f,
     4.075667221e-06f, 1.251192089e-06f, 3.307449106e-07f, 7.567705751e-08f, 1.504457892e-08f},
};
/* The GELU's Horner chain from h = coefficient 4, in the one order every ISA
 * follows. STEP(h, d) is the ISA's h = fma(h, t, coefficient d of the
 * lane's piece). */
#define SAMQ_GELU_HORNER(STEP, h) STEP(h, 3); STEP(h, 2); STEP(h, 1); STEP(h, 0)
/* exp(z) for z in [-87, 0]: z = n ln2 + r, Taylor degree 7 on |r| <= ln2/2. */
#define SAMQ_EXP_LOG2E 1.44269504088896341f
#define SAMQ_EXP_SHIFT 12582912.0f /* 1.5*2^23: x+S-S rounds to nearest even */
#define SAMQ_EXP_LN2HI 0.693145751953125f
#define SAMQ_EXP_LN2LO 1.428606765330187045e-06f
#define SAMQ_EXP_C7 (1.0f / 5040.0f)
#define SAMQ_EXP_C6 (1.0f / 720.0f)
#define SAMQ_EXP_C5 (1.0f / 120.0f)
#define SAMQ_EXP_C4 (1.0f / 24.0f)
#define SAMQ_EXP_C3 (1.0f / 6.0f)
#define SAMQ_EXP_C2 0.5f
#define SAMQ_EXP_ZMIN (-87.0f)

/* e^z for z <= 0 (Cody-Waite reduction, degree-7 polynomial), for the
 * window-attention softmax. z is clamped at
 * SAMQ_EXP_ZMIN (NaN -> SAMQ_EXP_ZMIN, like maxps). */
static inline float samq_exp_ref(float z) {
    z = (z > SAMQ_EXP_ZMIN) ? z : SAMQ_EXP_ZMIN;
    float n = (z * SAMQ_EXP_LOG2E + SAMQ_EXP_SHIFT) - SAMQ_EXP_SHIFT;
    float r = (z - n * SAMQ_EXP_LN2HI) - n * SAMQ_EXP_LN2LO;
    float p = SAMQ_EXP_C7;
    p = p * r + SAMQ_EXP_C6;
    p = p * r + SAMQ_EXP_C5;
    p = p * r + SAMQ_EXP_C4;
    p = p * r + SAMQ_EXP_C3;
    p = p * r + SAMQ_EXP_C2;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * samq_bits_f32((uint32_t)((int32_t)n + 127) << 23);
}

/* exp_fast_512 (samq_simd.h) op for op: the bf16 window attention's
 * emulation must give its bits. fmaf exactly where it fuses, ldexpf for its
 * scalef (both round to nearest even, subnormal results included). */
static inline float samq_exp_fast_ref(float z) {
    z = (z > SAMQ_EXP_ZMIN) ? z : SAMQ_EXP_ZMIN;
    float n = nearbyintf(z * SAMQ_EXP_LOG2E);
    float r = fmaf(-n, SAMQ_EXP_LN2HI, z);
    r = fmaf(-n, SAMQ_EXP_LN2LO, r);
    float p = SAMQ_EXP_C6;
    p = fmaf(p, r, SAMQ_EXP_C5);
    p = fmaf(p, r, SAMQ_EXP_C4);
    p = fmaf(p, r, SAMQ_EXP_C3);
    p = fmaf(p, r, SAMQ_EXP_C2);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    return ldexpf(p, (int)n);
}

/* vdpbf16ps's view of a bf16 (low 16 bits of `half`): subnormals read as
 * zero. */
static inline float samq_bf16_value(uint32_t half) {
    float x = samq_bits_f32((half & 0xffffu) << 16);
    return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x;
}

/* vdpbf16ps's flush of each step's result: a subnormal becomes its signed zero. */
static inline float samq_ftz(float y) { return fabsf(y) < FLT_MIN ? copysignf(0.0f, y) : y; }

/* The reference op sequence. Every SIMD GELU mirrors it operation by
 * operation (fused multiply-adds exactly where this uses fmaf, separate
 * operations elsewhere); change them together. fmaf is correctly rounded by
 * definition, so a vector FMA gives the same bits. The piece index is the
 * only integer step: s is in [0, 16.000002] (or NaN), the vector code takes
 * min(trunc(s), 15) and this the same without converting a NaN, whose
 * result is NaN on every path anyway. */
static inline float samq_gelu_ref(float y) {
    float a = fabsf(y);
    int big = a > SAMQ_GELU_UMAX;
    float u = (SAMQ_GELU_UMAX < a) ? SAMQ_GELU_UMAX : a; /* NaN stays NaN, like minps(UMAX, a) */
    float s = u * SAMQ_GELU_SCALE;
    int32_t i = (s < (float)(SAMQ_GELU_PIECES - 1)) ? (int32_t)s : SAMQ_GELU_PIECES - 1;
    float t = s - (float)i;
    float h = samq_gelu_table[SAMQ_GELU_DEGREE][i];
#define SAMQ_GELU_STEP_REF(h, d) h = fmaf(h, t, samq_gelu_table[d][i])
    SAMQ_GELU_HORNER(SAMQ_GELU_STEP_REF, h);
#undef SAMQ_GELU_STEP_REF
    float f = (y >= 0.0f) ? (1.0f - h) : h;
    float g = y * f;
    return big ? ((y >= 0.0f) ? y : -0.0f) : g;
}

/* Scalar epilogue of one output row segment; SIMD variants use it for
 * column tails, so it must stay the same op sequence as their vector code. */
static inline void samq_epi_i32_scalar(const int32_t *acc, size_t n, float rs, const float *cs,
                                       const float *bias, const float *res, float *out, uint32_t flags) {
    for (size_t j = 0; j < n; j++) {
        float y = (float)acc[j] * (rs * cs[j]);
        if (bias) y = y + bias[j];
        if (flags & SAMQ_GEMM_GELU) y = samq_gelu_ref(y);
        if (res) y = y + res[j];
        out[j] = y;
    }
}

static inline void samq_epi_f32_scalar(const float *acc, size_t n, const float *bias, const float *res,
                                       float *out, uint32_t flags) {
    for (size_t j = 0; j < n; j++) {
        float y = acc[j];
        if (bias) y = y + bias[j];
        if (flags & SAMQ_SGEMM_GELU) y = samq_gelu_ref(y);
        if (res) y = y + res[j];
        out[j] = y;
    }
}

/* The reference op sequence of samq_dwconv3x3 (see samq_kernels.h) for
 * channels [c0, c1) of output pixel (oy, ox), accumulated in place in y.
 * The scalar kernel is this for every pixel; SIMD kernels use it for their
 * channel tails, so it must stay the sequence their vector code follows. */
static inline void samq_dw_pixel_scalar(const samq_dwconv3x3_args *a, size_t oy, size_t ox, size_t c0,
                                        size_t c1) {
    const size_t W = a->W, C = a->C, s = a->stride;
    const size_t cy = oy * s, cx = ox * s; /* the centre tap, always inside */
    float *out = a->y + (oy * samq_dw_out_size(W, s) + ox) * C;
    for (size_t c = c0; c < c1; c++) out[c] = a->bias ? a->bias[c] : 0.0f;
    for (size_t ky = 0; ky < 3; ky++) {
        if ((ky == 0 && cy == 0) || (ky == 2 && cy + 1 >= a->H)) continue;
        const float *row = a->x + (cy + ky - 1) * W * C;
        for (size_t kx = 0; kx < 3; kx++) {
            if ((kx == 0 && cx == 0) || (kx == 2 && cx + 1 >= W)) continue;
            const float *px = row + (cx + kx - 1) * C;
            const float *wt = a->w + (ky * 3 + kx) * C;
            for (size_t c = c0; c < c1; c++) out[c] = out[c] + px[c] * wt[c];
        }
    }
    if (a->flags & SAMQ_DW_GELU)
        for (size_t c = c0; c < c1; c++) out[c] = samq_gelu_ref(out[c]);
}

/* Micro-tile rows of the x86 int8 kernels (k_x86.c), also reported by
 * samq_gemm_i8_row_tile. The VNNI row tails are written out up to 11 rows,
 * so SAMQ_VNNI_MR is 12. */
#define SAMQ_VNNI_MR 12
#define SAMQ_AVX2_MR 4
/* Rows of the AMX kernel's C block (two 16-row tiles; k_amx.c). */
#define SAMQ_AMX_MR 32

/* Views of a packed weight payload. */
typedef struct {
    const int8_t *panels;
    const float *scales;
    const int32_t *colsum;
    size_t Np, Kp;
} samq_packed_view;

static inline samq_packed_view samq_view(const void *packed, size_t N, size_t K) {
    samq_packed_view v;
    v.Np = samq_round_up(N, 16);
    v.Kp = samq_round_up(K, 8);
    v.panels = (const int8_t *)packed;
    v.scales = (const float *)((const char *)packed + v.Np * v.Kp);
    v.colsum = (const int32_t *)((const char *)packed + v.Np * v.Kp + 4 * v.Np);
    return v;
}

/* The vector unit a kernel other than the int8 GEMM runs on. Only the int8
 * GEMM has a variant per ISA family (AMX, dotprod, i8mm); every other kernel
 * has one per vector unit, so its dispatcher switches on this and a new GEMM
 * family needs no edit there (session 5: five kernels written without an
 * AMX case silently ran scalar under it). An ISA this CPU lacks maps to
 * scalar: every kernel's results are identical across ISAs by contract. */
typedef enum { SAMQ_VEC_SCALAR, SAMQ_VEC_AVX2, SAMQ_VEC_AVX512, SAMQ_VEC_NEON } samq_vec;
samq_vec samq_vector_unit(samq_isa isa);

/* Per-ISA entry points; arguments are validated and ranges non-empty. */
void samq_quantize_scalar(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq, float *rs);
void samq_pack_columns_scalar(const float *x, size_t rows, size_t cols, size_t ld, void *out);
void samq_relpos_fill_scalar(float *s, size_t lds, size_t rows, size_t size, const float *rel_h, const float *rel_w);
void samq_add_f32_scalar(const float *a, const float *b, float *out, size_t n);
void samq_softmax_lanes8_scalar(float *p, size_t rows, size_t groups, size_t ld);
void samq_softmax_partial_scalar(float *s, size_t pixels, size_t rows, size_t group, const float *v, size_t ldv,
                                 size_t hd, float *mx, float *sum, float *acc);
void samq_softmax_q8_scalar(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                            size_t padded, float *scale);
void samq_gemm_scalar(const samq_gemm_args *a);
void samq_sgemm_scalar(const samq_sgemm_args *a);
void samq_hgemm_scalar(const samq_sgemm_args *a);
void samq_bf16gemm_scalar(const samq_bf16gemm_args *a);
/* Both window attentions' argument check (k_attn.c): -1 invalid, 1 nothing
 * to do, 0 go. */
struct samq_window_attention_args;
int samq_window_attention_check(samq_isa isa, const struct samq_window_attention_args *a);
/* Words of scratch samq_window_attention_bf16 needs (k_attn_bf16.c). */
size_t samq_window_attention_bf16_scratch(size_t n, size_t head_dim);
void samq_dwconv3x3_scalar(const samq_dwconv3x3_args *a);
uint64_t samq_peak_scalar(uint64_t it);

#if defined(__x86_64__) || defined(_M_X64)
#define SAMQ_X86 1
void samq_quantize_avx2(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq, float *rs);
void samq_quantize_avx512(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq, float *rs);
void samq_pack_columns_avx2(const float *x, size_t rows, size_t cols, size_t ld, void *out);
void samq_pack_columns_avx512(const float *x, size_t rows, size_t cols, size_t ld, void *out);
void samq_relpos_fill_avx2(float *s, size_t lds, size_t rows, size_t size, const float *rel_h, const float *rel_w);
void samq_relpos_fill_avx512(float *s, size_t lds, size_t rows, size_t size, const float *rel_h, const float *rel_w);
void samq_add_f32_avx2(const float *a, const float *b, float *out, size_t n);
void samq_add_f32_avx512(const float *a, const float *b, float *out, size_t n);
void samq_softmax_lanes8_avx2(float *p, size_t rows, size_t groups, size_t ld);
void samq_softmax_partial_avx2(float *s, size_t pixels, size_t rows, size_t group, const float *v, size_t ldv,
                               size_t hd, float *mx, float *sum, float *acc);
void samq_softmax_partial_avx512(float *s, size_t pixels, size_t rows, size_t group, const float *v, size_t ldv,
                                 size_t hd, float *mx, float *sum, float *acc);
void samq_softmax_q8_avx2(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                          size_t padded, float *scale);
void samq_softmax_q8_avx512(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                            size_t padded, float *scale);
void samq_gemm_avx2(const samq_gemm_args *a);
void samq_gemm_avx512vnni(const samq_gemm_args *a);
void samq_sgemm_avx2(const samq_sgemm_args *a);
void samq_sgemm_avx512(const samq_sgemm_args *a);
void samq_hgemm_avx2(const samq_sgemm_args *a);
void samq_gelu_avx2(float *x, size_t n);
void samq_gelu_avx512(float *x, size_t n);
void samq_hgemm_avx512(const samq_sgemm_args *a);
void samq_dwconv3x3_avx2(const samq_dwconv3x3_args *a);
void samq_dwconv3x3_avx512(const samq_dwconv3x3_args *a);
uint64_t samq_peak_avx2(uint64_t it);
uint64_t samq_peak_avx512vnni(uint64_t it);
/* The AVX-512 int32 -> f32 epilogue of one output row segment (k_x86.c),
 * shared by the VNNI and AMX GEMMs so they give the same bits. */
void samq_epi_i32_avx512(const int32_t *acc, size_t n, float rs, const float *cs, const float *bias,
                         const float *res, float *out, uint32_t flags);
/* The AVX-512 f32 epilogue of samq_sgemm (k_x86.c), shared by samq_bf16gemm. */
void samq_epi_f32_avx512(const float *acc, size_t n, const float *bias, const float *res, float *out,
                         uint32_t flags);
void samq_bf16gemm_avx512(const samq_bf16gemm_args *a);
int samq_amx_usable(void);
int samq_amx_bf16_usable(void);
void samq_amx_configure_square(void);
void samq_gemm_amx(const samq_gemm_args *a);
uint64_t samq_peak_amx(uint64_t it);
#endif

#if defined(__aarch64__)
#define SAMQ_ARM64 1
void samq_quantize_neon(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq, float *rs);
void samq_pack_columns_neon(const float *x, size_t rows, size_t cols, size_t ld, void *out);
void samq_relpos_fill_neon(float *s, size_t lds, size_t rows, size_t size, const float *rel_h, const float *rel_w);
void samq_add_f32_neon(const float *a, const float *b, float *out, size_t n);
void samq_softmax_lanes8_neon(float *p, size_t rows, size_t groups, size_t ld);
void samq_softmax_partial_neon(float *s, size_t pixels, size_t rows, size_t group, const float *v, size_t ldv,
                               size_t hd, float *mx, float *sum, float *acc);
void samq_softmax_q8_neon(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                          size_t padded, float *scale);
void samq_gemm_neon(const samq_gemm_args *a);
void samq_gemm_dotprod(const samq_gemm_args *a);
void samq_gemm_i8mm(const samq_gemm_args *a);
void samq_sgemm_neon(const samq_sgemm_args *a);
void samq_hgemm_neon(const samq_sgemm_args *a);
void samq_gelu_neon(float *x, size_t n);
void samq_dwconv3x3_neon(const samq_dwconv3x3_args *a);
uint64_t samq_peak_neon(uint64_t it);
uint64_t samq_peak_dotprod(uint64_t it);
uint64_t samq_peak_i8mm(uint64_t it);
#endif

#endif
