/* The decomposed relative-position bias of a score tile (samq_relpos_fill in
 * samq_kernels.h): score[r][kh·size + kw] = rel_h[r][kh] + rel_w[r][kw].
 * One add per element, so every ISA writes the same bits.
 *
 * Why C: the tile is rows × size² floats (a vit_b global block writes
 * 4096² per head); the Swift loop ran on 4-lane SSE stores (the package's
 * Swift is built for the x86-64 baseline) and took ~2% of a vit_b encode. */
#include "samq_internal.h"
#include "samq_simd.h"

void samq_relpos_fill_scalar(float *s, size_t lds, size_t rows, size_t size, const float *rel_h,
                             const float *rel_w) {
    for (size_t r = 0; r < rows; r++) {
        const float *h = rel_h + r * size, *w = rel_w + r * size;
        for (size_t kh = 0; kh < size; kh++) {
            float *o = s + r * lds + kh * size;
            for (size_t kw = 0; kw < size; kw++) o[kw] = h[kh] + w[kw];
        }
    }
}

/* One vector body for every ISA: RP_N lanes per step, scalar tail (the
 * AVX-512 one is a masked step instead). */
#define RP_FILL(NAME, TGT, V, RP_N, DUP, LD, ST, ADD, TAIL)                                          \
    TGT void NAME(float *s, size_t lds, size_t rows, size_t size, const float *rel_h, const float *rel_w) { \
        for (size_t r = 0; r < rows; r++) {                                                          \
            const float *h = rel_h + r * size, *w = rel_w + r * size;                                \
            for (size_t kh = 0; kh < size; kh++) {                                                  \
                float *o = s + r * lds + kh * size;                                                  \
                const V hv = DUP(h[kh]);                                                             \
                size_t kw = 0;                                                                       \
                for (; kw + RP_N <= size; kw += RP_N) ST(o + kw, ADD(hv, LD(w + kw)));              \
                TAIL                                                                                 \
            }                                                                                        \
        }                                                                                            \
    }
#define RP_SCALAR_TAIL for (; kw < size; kw++) o[kw] = h[kh] + w[kw];

#if defined(SAMQ_X86)
#define RP_512_TAIL                                                                                  \
    if (kw < size) {                                                                                 \
        const __mmask16 mk = (__mmask16)((1u << (size - kw)) - 1);                                   \
        _mm512_mask_storeu_ps(o + kw, mk, _mm512_add_ps(hv, _mm512_maskz_loadu_ps(mk, w + kw)));     \
    }
RP_FILL(samq_relpos_fill_avx512, TGT_512, __m512, 16, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
        _mm512_add_ps, RP_512_TAIL)
RP_FILL(samq_relpos_fill_avx2, TGT_AVX2, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
        _mm256_add_ps, RP_SCALAR_TAIL)
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
RP_FILL(samq_relpos_fill_neon, , float32x4_t, 4, vdupq_n_f32, vld1q_f32, vst1q_f32, vaddq_f32, RP_SCALAR_TAIL)
#endif /* SAMQ_ARM64 */
