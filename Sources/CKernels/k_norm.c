/* LayerNorm rows (samq_layernorm.h): the scalar reference and the SIMD
 * kernels, all with the same interleaved 8-lane double accumulation so every
 * ISA gives the same bits. */
#include "samq_internal.h"
#include "samq_simd.h"
#include "samq_layernorm.h"

static inline double ln_reduce(const double *l) {
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* Lanes for the tail c in [c0, C) (c0 a multiple of 8), in order of c. */
static inline void ln_tail_sum(const float *x, size_t c0, size_t C, double *l) {
    for (size_t c = c0; c < C; c++) l[c % 8] = l[c % 8] + (double)x[c];
}
static inline void ln_tail_sq(const float *x, size_t c0, size_t C, double mean, double *l) {
    for (size_t c = c0; c < C; c++) {
        double d = (double)x[c] - mean;
        l[c % 8] = l[c % 8] + d * d;
    }
}
static inline void ln_tail_out(const samq_layernorm_args *a, const float *x, float *y, size_t c0, double mean,
                               double inv) {
    for (size_t c = c0; c < a->C; c++) y[c] = (float)(((double)x[c] - mean) * inv) * a->w[c] + a->b[c];
}

static void samq_layernorm_scalar(const samq_layernorm_args *a) {
    const size_t C = a->C;
    for (size_t r = 0; r < a->rows; r++) {
        const float *x = a->x + r * a->ldx;
        float *y = a->y + r * a->ldy;
        double l[8] = {0};
        ln_tail_sum(x, 0, C, l);
        const double mean = ln_reduce(l) / (double)C;
        double q[8] = {0};
        ln_tail_sq(x, 0, C, mean, q);
        const double inv = 1.0 / sqrt(ln_reduce(q) / (double)C + (double)a->eps);
        ln_tail_out(a, x, y, 0, mean, inv);
    }
}

#if defined(SAMQ_X86)
TGT_512 static void samq_layernorm_avx512(const samq_layernorm_args *a) {
    const size_t C = a->C, C8 = C / 8 * 8;
    for (size_t r = 0; r < a->rows; r++) {
        const float *x = a->x + r * a->ldx;
        float *y = a->y + r * a->ldy;
        double l[8];
        __m512d acc = _mm512_setzero_pd();
        for (size_t c = 0; c < C8; c += 8) acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_loadu_ps(x + c)));
        _mm512_storeu_pd(l, acc);
        ln_tail_sum(x, C8, C, l);
        const double mean = ln_reduce(l) / (double)C;
        const __m512d vm = _mm512_set1_pd(mean);
        acc = _mm512_setzero_pd();
        for (size_t c = 0; c < C8; c += 8) {
            __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + c)), vm);
            acc = _mm512_add_pd(acc, _mm512_mul_pd(d, d));
        }
        _mm512_storeu_pd(l, acc);
        ln_tail_sq(x, C8, C, mean, l);
        const double inv = 1.0 / sqrt(ln_reduce(l) / (double)C + (double)a->eps);
        const __m512d vi = _mm512_set1_pd(inv);
        for (size_t c = 0; c < C8; c += 8) {
            __m512d d = _mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + c)), vm), vi);
            __m256 v = _mm256_mul_ps(_mm512_cvtpd_ps(d), _mm256_loadu_ps(a->w + c));
            _mm256_storeu_ps(y + c, _mm256_add_ps(v, _mm256_loadu_ps(a->b + c)));
        }
        ln_tail_out(a, x, y, C8, mean, inv);
    }
}

TGT_AVX2 static void samq_layernorm_avx2(const samq_layernorm_args *a) {
    const size_t C = a->C, C8 = C / 8 * 8;
    for (size_t r = 0; r < a->rows; r++) {
        const float *x = a->x + r * a->ldx;
        float *y = a->y + r * a->ldy;
        double l[8];
        __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
        for (size_t c = 0; c < C8; c += 8) {
            lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm_loadu_ps(x + c)));
            hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm_loadu_ps(x + c + 4)));
        }
        _mm256_storeu_pd(l, lo), _mm256_storeu_pd(l + 4, hi);
        ln_tail_sum(x, C8, C, l);
        const double mean = ln_reduce(l) / (double)C;
        const __m256d vm = _mm256_set1_pd(mean);
        lo = hi = _mm256_setzero_pd();
        for (size_t c = 0; c < C8; c += 8) {
            __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + c)), vm);
            __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + c + 4)), vm);
            lo = _mm256_add_pd(lo, _mm256_mul_pd(d0, d0));
            hi = _mm256_add_pd(hi, _mm256_mul_pd(d1, d1));
        }
        _mm256_storeu_pd(l, lo), _mm256_storeu_pd(l + 4, hi);
        ln_tail_sq(x, C8, C, mean, l);
        const double inv = 1.0 / sqrt(ln_reduce(l) / (double)C + (double)a->eps);
        const __m256d vi = _mm256_set1_pd(inv);
        for (size_t c = 0; c < C8; c += 8) {
            __m128 f0 = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + c)), vm), vi));
            __m128 f1 = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + c + 4)), vm), vi));
            __m256 v = _mm256_mul_ps(_mm256_set_m128(f1, f0), _mm256_loadu_ps(a->w + c));
            _mm256_storeu_ps(y + c, _mm256_add_ps(v, _mm256_loadu_ps(a->b + c)));
        }
        ln_tail_out(a, x, y, C8, mean, inv);
    }
}
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
static void samq_layernorm_neon(const samq_layernorm_args *a) {
    const size_t C = a->C, C8 = C / 8 * 8;
    for (size_t r = 0; r < a->rows; r++) {
        const float *x = a->x + r * a->ldx;
        float *y = a->y + r * a->ldy;
        double l[8];
        float64x2_t s[4];
        for (int k = 0; k < 4; k++) s[k] = vdupq_n_f64(0.0);
        for (size_t c = 0; c < C8; c += 8) {
            float32x4_t v0 = vld1q_f32(x + c), v1 = vld1q_f32(x + c + 4);
            s[0] = vaddq_f64(s[0], vcvt_f64_f32(vget_low_f32(v0)));
            s[1] = vaddq_f64(s[1], vcvt_high_f64_f32(v0));
            s[2] = vaddq_f64(s[2], vcvt_f64_f32(vget_low_f32(v1)));
            s[3] = vaddq_f64(s[3], vcvt_high_f64_f32(v1));
        }
        for (int k = 0; k < 4; k++) vst1q_f64(l + 2 * k, s[k]);
        ln_tail_sum(x, C8, C, l);
        const double mean = ln_reduce(l) / (double)C;
        const float64x2_t vm = vdupq_n_f64(mean);
        for (int k = 0; k < 4; k++) s[k] = vdupq_n_f64(0.0);
        for (size_t c = 0; c < C8; c += 8) {
            float32x4_t v0 = vld1q_f32(x + c), v1 = vld1q_f32(x + c + 4);
            float64x2_t d[4] = {vsubq_f64(vcvt_f64_f32(vget_low_f32(v0)), vm), vsubq_f64(vcvt_high_f64_f32(v0), vm),
                                vsubq_f64(vcvt_f64_f32(vget_low_f32(v1)), vm), vsubq_f64(vcvt_high_f64_f32(v1), vm)};
            for (int k = 0; k < 4; k++) s[k] = vaddq_f64(s[k], vmulq_f64(d[k], d[k]));
        }
        for (int k = 0; k < 4; k++) vst1q_f64(l + 2 * k, s[k]);
        ln_tail_sq(x, C8, C, mean, l);
        const double inv = 1.0 / sqrt(ln_reduce(l) / (double)C + (double)a->eps);
        const float64x2_t vi = vdupq_n_f64(inv);
        for (size_t c = 0; c < C8; c += 4) {
            float32x4_t v = vld1q_f32(x + c);
            float64x2_t d0 = vmulq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), vm), vi);
            float64x2_t d1 = vmulq_f64(vsubq_f64(vcvt_high_f64_f32(v), vm), vi);
            float32x4_t f = vcvt_high_f32_f64(vcvt_f32_f64(d0), d1);
            vst1q_f32(y + c, vaddq_f32(vmulq_f32(f, vld1q_f32(a->w + c)), vld1q_f32(a->b + c)));
        }
        ln_tail_out(a, x, y, C8, mean, inv);
    }
}
#endif /* SAMQ_ARM64 */

int samq_layernorm(samq_isa isa, const samq_layernorm_args *a) {
    if (!a || !samq_isa_supported(isa)) return -1;
    if (a->rows == 0 || a->C == 0) return 0;
    if (!a->x || !a->y || !a->w || !a->b || a->ldx < a->C || a->ldy < a->C) return -1;
    if (a->y != a->x) {
        uintptr_t x0 = (uintptr_t)a->x, x1 = (uintptr_t)(a->x + (a->rows - 1) * a->ldx + a->C);
        uintptr_t y0 = (uintptr_t)a->y, y1 = (uintptr_t)(a->y + (a->rows - 1) * a->ldy + a->C);
        if (x0 < y1 && y0 < x1) return -1;
    } else if (a->ldx != a->ldy) {
        return -1;
    }
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_layernorm_avx2(a); return 0;
    case SAMQ_VEC_AVX512: samq_layernorm_avx512(a); return 0;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_layernorm_neon(a); return 0;
#endif
    default: samq_layernorm_scalar(a); return 0;
    }
}
