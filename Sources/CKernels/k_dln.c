/* The mask decoder's float32 LayerNorm (+ GELU, + int8 row quantization),
 * samq_decoder_layernorm in samq_layernorm.h. Every variant keeps the 8
 * float lanes of the reference (AVX-512 too: a 16-lane sum would add in
 * another order) and only widens the normalize pass; GELU and the codes are
 * samq_gelu_inplace and samq_quantize_rows on blocks of finished rows. */
#include "samq_internal.h"
#include "samq_simd.h"
#include "samq_layernorm.h"

/* Lanes summed in order l0..l7 (Swift's SIMD8.sum()). */
static inline float dln_reduce(const float *l) {
    float s = l[0];
    for (int i = 1; i < 8; i++) s = s + l[i];
    return s;
}

/* Lane tails for c in [c0, C), c0 a multiple of 8. */
static inline void dln_tail_sum(const float *x, size_t c0, size_t C, float *l) {
    for (size_t c = c0; c < C; c++) l[c % 8] = l[c % 8] + x[c];
}
static inline void dln_tail_sq(const float *x, size_t c0, size_t C, float mean, float *l) {
    for (size_t c = c0; c < C; c++) {
        float d = x[c] - mean;
        l[c % 8] = l[c % 8] + d * d;
    }
}
static inline void dln_tail_out(float *x, size_t c0, size_t C, float mean, float inv, const float *w,
                                const float *b) {
    for (size_t c = c0; c < C; c++) x[c] = ((x[c] - mean) * inv) * w[c] + b[c];
}
static inline float dln_inverse(float sq, size_t C, float eps) { return 1.0f / sqrtf(sq / (float)C + eps); }

static void dln_scalar(float *x, size_t C, const float *w, const float *b, float eps) {
    float l[8] = {0};
    dln_tail_sum(x, 0, C, l);
    const float mean = dln_reduce(l) / (float)C;
    float s[8] = {0};
    dln_tail_sq(x, 0, C, mean, s);
    dln_tail_out(x, 0, C, mean, dln_inverse(dln_reduce(s), C, eps), w, b);
}

#if defined(SAMQ_X86)
/* The moments in one ymm: lane l is the reference's lane l. */
TGT_AVX2 INLINE void dln_moments_avx2(const float *x, size_t C, float *mean, float *sq) {
    const size_t C8 = C / 8 * 8;
    float l[8];
    __m256 acc = _mm256_setzero_ps();
    for (size_t c = 0; c < C8; c += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + c));
    _mm256_storeu_ps(l, acc);
    dln_tail_sum(x, C8, C, l);
    const float m = dln_reduce(l) / (float)C;
    const __m256 vm = _mm256_set1_ps(m);
    acc = _mm256_setzero_ps();
    for (size_t c = 0; c < C8; c += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + c), vm);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
    }
    _mm256_storeu_ps(l, acc);
    dln_tail_sq(x, C8, C, m, l);
    *mean = m;
    *sq = dln_reduce(l);
}

TGT_AVX2 static void dln_avx2(float *x, size_t C, const float *w, const float *b, float eps) {
    float mean, sq;
    dln_moments_avx2(x, C, &mean, &sq);
    const float inv = dln_inverse(sq, C, eps);
    const __m256 vm = _mm256_set1_ps(mean), vi = _mm256_set1_ps(inv);
    size_t c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 y = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm), vi), _mm256_loadu_ps(w + c));
        y = _mm256_add_ps(y, _mm256_loadu_ps(b + c));
        _mm256_storeu_ps(x + c, y);
    }
    dln_tail_out(x, c, C, mean, inv, w, b);
}

/* Two rows' moments in one pass: the same per-row lanes and order (so the
 * same bits as dln_moments_avx2), but the two serial add chains interleave. */
TGT_AVX2 INLINE void dln_moments2_avx2(const float *x, const float *y, size_t C, float *mean, float *sq) {
    const size_t C8 = C / 8 * 8;
    float l[8], k[8];
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (size_t c = 0; c < C8; c += 8) a = _mm256_add_ps(a, _mm256_loadu_ps(x + c)), b = _mm256_add_ps(b, _mm256_loadu_ps(y + c));
    _mm256_storeu_ps(l, a), _mm256_storeu_ps(k, b);
    dln_tail_sum(x, C8, C, l), dln_tail_sum(y, C8, C, k);
    const float m0 = dln_reduce(l) / (float)C, m1 = dln_reduce(k) / (float)C;
    const __m256 v0 = _mm256_set1_ps(m0), v1 = _mm256_set1_ps(m1);
    a = b = _mm256_setzero_ps();
    for (size_t c = 0; c < C8; c += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + c), v0), e = _mm256_sub_ps(_mm256_loadu_ps(y + c), v1);
        a = _mm256_add_ps(a, _mm256_mul_ps(d, d)), b = _mm256_add_ps(b, _mm256_mul_ps(e, e));
    }
    _mm256_storeu_ps(l, a), _mm256_storeu_ps(k, b);
    dln_tail_sq(x, C8, C, m0, l), dln_tail_sq(y, C8, C, m1, k);
    mean[0] = m0, mean[1] = m1;
    sq[0] = dln_reduce(l), sq[1] = dln_reduce(k);
}

TGT_512 INLINE void dln_apply_512(float *x, size_t C, float mean, float inv, const float *w, const float *b) {
    const __m512 vm = _mm512_set1_ps(mean), vi = _mm512_set1_ps(inv);
    size_t c = 0;
    for (; c + 16 <= C; c += 16) {
        __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + c), vm), vi), _mm512_loadu_ps(w + c));
        _mm512_storeu_ps(x + c, _mm512_add_ps(y, _mm512_loadu_ps(b + c)));
    }
    dln_tail_out(x, c, C, mean, inv, w, b);
}

TGT_512 static void dln_avx512(float *x, size_t C, const float *w, const float *b, float eps) {
    float mean, sq;
    dln_moments_avx2(x, C, &mean, &sq);
    dln_apply_512(x, C, mean, dln_inverse(sq, C, eps), w, b);
}

/* Rows two at a time (dln_moments2_avx2), then normalized. */
TGT_512 static void dln_rows_avx512(float *x, size_t rows, size_t ldx, size_t C, const float *w, const float *b,
                                    float eps) {
    size_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        float *x0 = x + r * ldx, *x1 = x0 + ldx;
        float mean[2], sq[2];
        dln_moments2_avx2(x0, x1, C, mean, sq);
        dln_apply_512(x0, C, mean[0], dln_inverse(sq[0], C, eps), w, b);
        dln_apply_512(x1, C, mean[1], dln_inverse(sq[1], C, eps), w, b);
    }
    if (r < rows) dln_avx512(x + r * ldx, C, w, b, eps);
}

#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
static void dln_neon(float *x, size_t C, const float *w, const float *b, float eps) {
    const size_t C8 = C / 8 * 8;
    float l[8];
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    for (size_t c = 0; c < C8; c += 8) lo = vaddq_f32(lo, vld1q_f32(x + c)), hi = vaddq_f32(hi, vld1q_f32(x + c + 4));
    vst1q_f32(l, lo), vst1q_f32(l + 4, hi);
    dln_tail_sum(x, C8, C, l);
    const float mean = dln_reduce(l) / (float)C;
    const float32x4_t vm = vdupq_n_f32(mean);
    lo = hi = vdupq_n_f32(0.0f);
    for (size_t c = 0; c < C8; c += 8) {
        float32x4_t d0 = vsubq_f32(vld1q_f32(x + c), vm), d1 = vsubq_f32(vld1q_f32(x + c + 4), vm);
        lo = vaddq_f32(lo, vmulq_f32(d0, d0)), hi = vaddq_f32(hi, vmulq_f32(d1, d1));
    }
    vst1q_f32(l, lo), vst1q_f32(l + 4, hi);
    dln_tail_sq(x, C8, C, mean, l);
    const float inv = dln_inverse(dln_reduce(l), C, eps);
    const float32x4_t vi = vdupq_n_f32(inv);
    size_t c = 0;
    for (; c + 4 <= C; c += 4) {
        float32x4_t y = vmulq_f32(vmulq_f32(vsubq_f32(vld1q_f32(x + c), vm), vi), vld1q_f32(w + c));
        y = vaddq_f32(y, vld1q_f32(b + c));
        vst1q_f32(x + c, y);
    }
    dln_tail_out(x, c, C, mean, inv, w, b);
}
#endif /* SAMQ_ARM64 */

int samq_decoder_layernorm(samq_isa isa, float *x, size_t rows, size_t C, size_t ldx, const float *w,
                           const float *b, float eps, uint32_t flags, int8_t *q, size_t ldq, float *row_scale) {
    if (!samq_isa_supported(isa) || (flags & ~SAMQ_DLN_GELU)) return -1;
    if (rows == 0 || C == 0) return 0;
    if (!x || !w || !b || ldx < C || (q && (ldq < C || !row_scale))) return -1;
    /* Blocks of rows small enough to stay in L1: normalize, then GELU over
     * the whole block (many independent vectors; inside each row's loop it
     * sat behind the row's serial moment chain and ran ~2x slower), then
     * quantize the block (one call; per row it cost as much as the codes). */
    const size_t block = 16;
    const samq_vec unit = samq_vector_unit(isa);
    for (size_t r0 = 0; r0 < rows; r0 += block) {
        const size_t n = SAMQ_MIN(block, rows - r0);
        float *rows0 = x + r0 * ldx;
        switch (unit) {
#if defined(SAMQ_X86)
        case SAMQ_VEC_AVX2:
            for (size_t r = 0; r < n; r++) dln_avx2(rows0 + r * ldx, C, w, b, eps);
            break;
        case SAMQ_VEC_AVX512: dln_rows_avx512(rows0, n, ldx, C, w, b, eps); break;
#endif
#if defined(SAMQ_ARM64)
        case SAMQ_VEC_NEON:
            for (size_t r = 0; r < n; r++) dln_neon(rows0 + r * ldx, C, w, b, eps);
            break;
#endif
        default:
            for (size_t r = 0; r < n; r++) dln_scalar(rows0 + r * ldx, C, w, b, eps);
            break;
        }
        if (flags & SAMQ_DLN_GELU) {
            if (ldx == C) samq_gelu_inplace(isa, x + r0 * ldx, n * C);
            else
                for (size_t r = r0; r < r0 + n; r++) samq_gelu_inplace(isa, x + r * ldx, C);
        }
        if (q) samq_quantize_rows(isa, x + r0 * ldx, n, C, ldx, q + r0 * ldq, ldq, row_scale + r0);
    }
    return 0;
}
