/* Softmax across groups of 8 lanes (samq_softmax_lanes8 in samq_kernels.h):
 * the decoder's image→token scores, where each pixel row holds one group of
 * 8 heads per token and every head is softmaxed over the tokens.
 *
 * Why C: in Swift (x86-64 baseline, SSE) this took ~3% of a vit_b decode.
 * Every ISA follows the scalar reference per lane: max (x > m ? x : m),
 * samq_exp_ref, the sum in token order, and one reciprocal multiply. */
#include "samq_internal.h"
#include "samq_simd.h"

#include <math.h>

static inline void sl_row_scalar(float *p, size_t groups) {
    for (size_t lane = 0; lane < 8; lane++) {
        float m = -INFINITY;
        for (size_t g = 0; g < groups; g++) m = p[g * 8 + lane] > m ? p[g * 8 + lane] : m;
        float sum = 0.0f;
        for (size_t g = 0; g < groups; g++) {
            float e = samq_exp_ref(p[g * 8 + lane] - m);
            p[g * 8 + lane] = e;
            sum = sum + e;
        }
        float inv = 1.0f / sum;
        for (size_t g = 0; g < groups; g++) p[g * 8 + lane] = p[g * 8 + lane] * inv;
    }
}

void samq_softmax_lanes8_scalar(float *p, size_t rows, size_t groups, size_t ld) {
    for (size_t r = 0; r < rows; r++) sl_row_scalar(p + r * ld, groups);
}

#if defined(SAMQ_X86)
/* One ymm per group; AVX-512 machines run this too (a group is 8 lanes). */
TGT_AVX2 void samq_softmax_lanes8_avx2(float *p, size_t rows, size_t groups, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        float *row = p + r * ld;
        __m256 m = _mm256_set1_ps(-INFINITY);
        for (size_t g = 0; g < groups; g++) m = _mm256_max_ps(_mm256_loadu_ps(row + g * 8), m);
        __m256 sum = _mm256_setzero_ps();
        for (size_t g = 0; g < groups; g++) {
            __m256 e = exp_ref_avx2(_mm256_sub_ps(_mm256_loadu_ps(row + g * 8), m));
            _mm256_storeu_ps(row + g * 8, e);
            sum = _mm256_add_ps(sum, e);
        }
        __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
        for (size_t g = 0; g < groups; g++) _mm256_storeu_ps(row + g * 8, _mm256_mul_ps(_mm256_loadu_ps(row + g * 8), inv));
    }
}
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
/* Two q registers per group of 8 lanes. */
void samq_softmax_lanes8_neon(float *p, size_t rows, size_t groups, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        float *row = p + r * ld;
        for (size_t half = 0; half < 8; half += 4) {
            float32x4_t m = vdupq_n_f32(-INFINITY);
            for (size_t g = 0; g < groups; g++) {
                float32x4_t x = vld1q_f32(row + g * 8 + half);
                m = vbslq_f32(vcgtq_f32(x, m), x, m);
            }
            float32x4_t sum = vdupq_n_f32(0.0f);
            for (size_t g = 0; g < groups; g++) {
                float32x4_t e = exp_ref_neon(vsubq_f32(vld1q_f32(row + g * 8 + half), m));
                vst1q_f32(row + g * 8 + half, e);
                sum = vaddq_f32(sum, e);
            }
            float32x4_t inv = vdivq_f32(vdupq_n_f32(1.0f), sum);
            for (size_t g = 0; g < groups; g++) vst1q_f32(row + g * 8 + half, vmulq_f32(vld1q_f32(row + g * 8 + half), inv));
        }
    }
}
#endif /* SAMQ_ARM64 */
