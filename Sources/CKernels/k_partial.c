/* One chunk of a streamed softmax-weighted sum (samq_softmax_partial in
 * samq_kernels.h): the mask decoder's token→image attention, computed pixel
 * chunk by pixel chunk so that no [rows][pixels] probability matrix exists.
 *
 * Why C: the package's Swift is built for the x86-64 baseline (4-lane SSE,
 * no FMA units used), where this loop cost ~7% of a vit_b decode.
 *
 * Every ISA mirrors the scalar reference per lane: the exponential is
 * samq_exp_ref's op sequence, and each sum runs over the pixels in order
 * with a separate multiply and add, so results differ from the reference
 * only where a compiler contracts the scalar code into FMAs. */
#include "samq_internal.h"
#include "samq_simd.h"

#include <math.h>

/* Maximum, exponentials and their sum of score column r. */
static inline void sp_column_scalar(float *s, size_t pixels, size_t rows, size_t r, float *mx, float *sum) {
    float m = -INFINITY;
    for (size_t j = 0; j < pixels; j++) m = s[j * rows + r] > m ? s[j * rows + r] : m;
    float t = 0.0f;
    for (size_t j = 0; j < pixels; j++) {
        float e = samq_exp_ref(s[j * rows + r] - m);
        s[j * rows + r] = e;
        t = t + e;
    }
    mx[r] = m;
    sum[r] = t;
}

/* acc[r][d] = Σ_j e[j][r] · v[j][head(r)·hd + d] for d in [from, hd). */
static inline void sp_weighted_scalar(const float *s, size_t pixels, size_t rows, size_t r, const float *col,
                                      size_t ldv, size_t from, size_t hd, float *out) {
    for (size_t d = from; d < hd; d++) {
        float a = 0.0f;
        for (size_t j = 0; j < pixels; j++) {
            float x = s[j * rows + r] * col[j * ldv + d];
            a = a + x;
        }
        out[d] = a;
    }
}

void samq_softmax_partial_scalar(float *s, size_t pixels, size_t rows, size_t group, const float *v, size_t ldv,
                                 size_t hd, float *mx, float *sum, float *acc) {
    for (size_t r = 0; r < rows; r++) sp_column_scalar(s, pixels, rows, r, mx, sum);
    for (size_t r = 0; r < rows; r++) sp_weighted_scalar(s, pixels, rows, r, v + (r / group) * hd, ldv, 0, hd, acc + r * hd);
}

/* One body per ISA. Columns go W at a time through max and exp (a scalar
 * tail after); the weighted sums take four score rows at once, in vectors of
 * WV lanes over the head dimension, two vectors per row where the head has
 * them (vit_b's hd = 16 with AVX2 lanes), so eight independent add chains
 * hide the add latency and each broadcast serves two products (a single
 * vector, then a scalar tail after). Every sum keeps its pixel order. */
#define SP_KERNEL(NAME, TGT, V, W, LD, ST, DUP, ZERO, ADD, SUB, MAX, EXP, VV, WV, LDV, STV, DUPV, ZEROV, ADDV,     \
                  MULV)                                                                                         \
    TGT void NAME(float *s, size_t pixels, size_t rows, size_t group, const float *v, size_t ldv, size_t hd,      \
                  float *mx, float *sum, float *acc) {                                                          \
        size_t r = 0;                                                                                           \
        for (; r + W <= rows; r += W) {                                                                         \
            V m = DUP(-INFINITY);                                                                               \
            for (size_t j = 0; j < pixels; j++) m = MAX(LD(s + j * rows + r), m);                               \
            V t = ZERO();                                                                                       \
            for (size_t j = 0; j < pixels; j++) {                                                               \
                V e = EXP(SUB(LD(s + j * rows + r), m));                                                        \
                ST(s + j * rows + r, e);                                                                        \
                t = ADD(t, e);                                                                                  \
            }                                                                                                   \
            ST(mx + r, m);                                                                                      \
            ST(sum + r, t);                                                                                     \
        }                                                                                                       \
        for (; r < rows; r++) sp_column_scalar(s, pixels, rows, r, mx, sum);                                    \
        const size_t hv = hd / WV * WV;                                                                         \
        for (r = 0; r + 4 <= rows; r += 4) {                                                                    \
            const float *c0 = v + (r / group) * hd, *c1 = v + ((r + 1) / group) * hd;                           \
            const float *c2 = v + ((r + 2) / group) * hd, *c3 = v + ((r + 3) / group) * hd;                     \
            size_t d = 0;                                                                                       \
            for (; d + 2 * WV <= hv; d += 2 * WV) {                                                             \
                VV a0 = ZEROV(), a1 = ZEROV(), a2 = ZEROV(), a3 = ZEROV();                                      \
                VV b0 = ZEROV(), b1 = ZEROV(), b2 = ZEROV(), b3 = ZEROV();                                      \
                for (size_t j = 0; j < pixels; j++) {                                                           \
                    const float *e = s + j * rows + r;                                                          \
                    const size_t o = j * ldv + d;                                                               \
                    VV e0 = DUPV(e[0]), e1 = DUPV(e[1]), e2 = DUPV(e[2]), e3 = DUPV(e[3]);                      \
                    a0 = ADDV(a0, MULV(e0, LDV(c0 + o)));                                                       \
                    b0 = ADDV(b0, MULV(e0, LDV(c0 + o + WV)));                                                  \
                    a1 = ADDV(a1, MULV(e1, LDV(c1 + o)));                                                       \
                    b1 = ADDV(b1, MULV(e1, LDV(c1 + o + WV)));                                                  \
                    a2 = ADDV(a2, MULV(e2, LDV(c2 + o)));                                                       \
                    b2 = ADDV(b2, MULV(e2, LDV(c2 + o + WV)));                                                  \
                    a3 = ADDV(a3, MULV(e3, LDV(c3 + o)));                                                       \
                    b3 = ADDV(b3, MULV(e3, LDV(c3 + o + WV)));                                                  \
                }                                                                                               \
                STV(acc + r * hd + d, a0);                                                                      \
                STV(acc + (r + 1) * hd + d, a1);                                                                \
                STV(acc + (r + 2) * hd + d, a2);                                                                \
                STV(acc + (r + 3) * hd + d, a3);                                                                \
                STV(acc + r * hd + d + WV, b0);                                                                 \
                STV(acc + (r + 1) * hd + d + WV, b1);                                                           \
                STV(acc + (r + 2) * hd + d + WV, b2);                                                           \
                STV(acc + (r + 3) * hd + d + WV, b3);                                                           \
            }                                                                                                   \
            for (; d < hv; d += WV) {                                                                           \
                VV a0 = ZEROV(), a1 = ZEROV(), a2 = ZEROV(), a3 = ZEROV();                                      \
                for (size_t j = 0; j < pixels; j++) {                                                           \
                    const float *e = s + j * rows + r;                                                          \
                    const size_t o = j * ldv + d;                                                               \
                    a0 = ADDV(a0, MULV(DUPV(e[0]), LDV(c0 + o)));                                               \
                    a1 = ADDV(a1, MULV(DUPV(e[1]), LDV(c1 + o)));                                               \
                    a2 = ADDV(a2, MULV(DUPV(e[2]), LDV(c2 + o)));                                               \
                    a3 = ADDV(a3, MULV(DUPV(e[3]), LDV(c3 + o)));                                               \
                }                                                                                               \
                STV(acc + r * hd + d, a0);                                                                      \
                STV(acc + (r + 1) * hd + d, a1);                                                                \
                STV(acc + (r + 2) * hd + d, a2);                                                                \
                STV(acc + (r + 3) * hd + d, a3);                                                                \
            }                                                                                                   \
            for (size_t k = 0; k < 4; k++)                                                                      \
                sp_weighted_scalar(s, pixels, rows, r + k, v + ((r + k) / group) * hd, ldv, hv, hd,            \
                                   acc + (r + k) * hd);                                                         \
        }                                                                                                       \
        for (; r < rows; r++) {                                                                                 \
            const float *c = v + (r / group) * hd;                                                              \
            for (size_t d = 0; d < hv; d += WV) {                                                               \
                VV a = ZEROV();                                                                                 \
                for (size_t j = 0; j < pixels; j++) a = ADDV(a, MULV(DUPV(s[j * rows + r]), LDV(c + j * ldv + d))); \
                STV(acc + r * hd + d, a);                                                                       \
            }                                                                                                   \
            sp_weighted_scalar(s, pixels, rows, r, c, ldv, hv, hd, acc + r * hd);                               \
        }                                                                                                       \
    }

#if defined(SAMQ_X86)
SP_KERNEL(samq_softmax_partial_avx2, TGT_AVX2, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps,
          _mm256_setzero_ps, _mm256_add_ps, _mm256_sub_ps, _mm256_max_ps, exp_ref_avx2, __m256, 8, _mm256_loadu_ps,
          _mm256_storeu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_add_ps, _mm256_mul_ps)
/* AVX-512: 16 columns per step for the exponentials; the weighted sums stay
 * 8 lanes wide, so a head dimension of 8 (the demo model) still vectorizes
 * and 16 (SAM) makes eight chains. */
SP_KERNEL(samq_softmax_partial_avx512, TGT_512, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps,
          _mm512_setzero_ps, _mm512_add_ps, _mm512_sub_ps, _mm512_max_ps, exp_ref_512, __m256, 8, _mm256_loadu_ps,
          _mm256_storeu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_add_ps, _mm256_mul_ps)
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
/* Column maximum as the reference: x > m ? x : m (a NaN score never wins). */
INLINE float32x4_t sp_max_neon(float32x4_t x, float32x4_t m) { return vbslq_f32(vcgtq_f32(x, m), x, m); }
INLINE float32x4_t sp_zero_neon(void) { return vdupq_n_f32(0.0f); }

SP_KERNEL(samq_softmax_partial_neon, , float32x4_t, 4, vld1q_f32, vst1q_f32, vdupq_n_f32, sp_zero_neon, vaddq_f32,
          vsubq_f32, sp_max_neon, exp_ref_neon, float32x4_t, 4, vld1q_f32, vst1q_f32, vdupq_n_f32, sp_zero_neon,
          vaddq_f32, vmulq_f32)
#endif /* SAMQ_ARM64 */
