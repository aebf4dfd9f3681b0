/* Scalar references: the definition every SIMD variant is tested against. */
#include "samq_internal.h"
#include <float.h>

void samq_quantize_scalar(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq, float *rs) {
    size_t zend = SAMQ_MIN(samq_round_up(K, 8), ldq);
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        int8_t *qr = q + m * ldq;
        float amax = 0.0f;
        for (size_t k = 0; k < K; k++) {
            float a = fabsf(xr[k]);
            if (a <= FLT_MAX && a > amax) amax = a; /* skips NaN and inf */
        }
        if (!(amax >= 1e-30f)) {
            rs[m] = 0.0f;
            memset(qr, 0, zend);
            continue;
        }
        float inv = 127.0f / amax;
        for (size_t k = 0; k < K; k++) {
            float v = xr[k] * inv;
            if (v != v) v = 0.0f;
            if (v > 127.0f) v = 127.0f;
            if (v < -127.0f) v = -127.0f;
            qr[k] = (int8_t)lrintf(v); /* nearest-even under the default rounding mode */
        }
        for (size_t k = K; k < zend; k++) qr[k] = 0;
        rs[m] = amax / 127.0f;
    }
}

void samq_gemm_scalar(const samq_gemm_args *a) {
    samq_packed_view v = samq_view(a->packed_w, a->N, a->K);
    for (size_t m = a->m_begin; m < a->m_end; m++) {
        const int8_t *ar = a->A + m * a->lda;
        for (size_t n = a->n_begin; n < a->n_end; n++) {
            const int8_t *panel = v.panels + (n / 16) * v.Kp * 16 + (n % 16) * 4;
            int32_t acc = 0;
            for (size_t k = 0; k < v.Kp; k++) acc += (int32_t)ar[k] * panel[(k / 4) * 64 + (k % 4)];
            if (a->flags & SAMQ_GEMM_RAW_I32) {
                a->C_i32[m * a->ldc + n] = acc;
            } else {
                samq_epi_i32_scalar(&acc, 1, a->row_scale[m], v.scales + n, a->bias ? a->bias + n : NULL,
                                    a->residual ? a->residual + m * a->ldr + n : NULL,
                                    a->C + m * a->ldc + n, a->flags);
            }
        }
    }
}

void samq_sgemm_scalar(const samq_sgemm_args *a) {
    int kn = (a->flags & SAMQ_SGEMM_B_KN) != 0;
    for (size_t m = a->m_begin; m < a->m_end; m++) {
        const float *ar = a->A + m * a->lda;
        for (size_t n = a->n_begin; n < a->n_end; n++) {
            float acc = 0.0f;
            if (kn)
                for (size_t k = 0; k < a->K; k++) acc += ar[k] * a->B[k * a->ldb + n];
            else
                for (size_t k = 0; k < a->K; k++) acc += ar[k] * a->B[n * a->ldb + k];
            samq_epi_f32_scalar(&acc, 1, a->bias ? a->bias + n : NULL,
                                a->residual ? a->residual + m * a->ldr + n : NULL, a->C + m * a->ldc + n,
                                a->flags);
        }
    }
}

void samq_hgemm_scalar(const samq_sgemm_args *a) {
    for (size_t m = a->m_begin; m < a->m_end; m++) {
        const float *ar = a->A + m * a->lda;
        for (size_t n = a->n_begin; n < a->n_end; n++) {
            const uint16_t *br = a->B_f16 + n * a->ldb;
            float acc = 0.0f;
            for (size_t k = 0; k < a->K; k++) acc += ar[k] * samq_half_to_float(br[k]);
            samq_epi_f32_scalar(&acc, 1, a->bias ? a->bias + n : NULL,
                                a->residual ? a->residual + m * a->ldr + n : NULL, a->C + m * a->ldc + n,
                                a->flags);
        }
    }
}

uint64_t samq_peak_scalar(uint64_t it) {
    /* Eight independent multiply-add chains, as a plain int8 dot product
     * would compile to; values stay bounded so nothing overflows. */
    volatile int32_t seed = 3;
    int32_t x = seed, s0 = 0, s1 = 1, s2 = 2, s3 = 3, s4 = 4, s5 = 5, s6 = 6, s7 = 7;
    for (uint64_t i = 0; i < it; i++) {
        s0 = (s0 * x + 1) & 0xffff; s1 = (s1 * x + 1) & 0xffff;
        s2 = (s2 * x + 1) & 0xffff; s3 = (s3 * x + 1) & 0xffff;
        s4 = (s4 * x + 1) & 0xffff; s5 = (s5 * x + 1) & 0xffff;
        s6 = (s6 * x + 1) & 0xffff; s7 = (s7 * x + 1) & 0xffff;
    }
    volatile int32_t sink = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
    (void)sink;
    return it * 8;
}
