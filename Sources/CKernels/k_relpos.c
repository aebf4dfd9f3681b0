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

#if defined(SAMQ_X86)
TGT_512 void samq_relpos_fill_avx512(float *s, size_t lds, size_t rows, size_t size, const float *rel_h,
                                     const float *rel_w) {
    const size_t tail = size % 16;
    const __mmask16 mk = (__mmask16)((1u << tail) - 1);
    for (size_t r = 0; r < rows; r++) {
        const float *h = rel_h + r * size, *w = rel_w + r * size;
        for (size_t kh = 0; kh < size; kh++) {
            float *o = s + r * lds + kh * size;
            const __m512 hv = _mm512_set1_ps(h[kh]);
            size_t kw = 0;
            for (; kw + 16 <= size; kw += 16) _mm512_storeu_ps(o + kw, _mm512_add_ps(hv, _mm512_loadu_ps(w + kw)));
            if (tail) _mm512_mask_storeu_ps(o + kw, mk, _mm512_add_ps(hv, _mm512_maskz_loadu_ps(mk, w + kw)));
        }
    }
}

TGT_AVX2 void samq_relpos_fill_avx2(float *s, size_t lds, size_t rows, size_t size, const float *rel_h,
                                    const float *rel_w) {
    for (size_t r = 0; r < rows; r++) {
        const float *h = rel_h + r * size, *w = rel_w + r * size;
        for (size_t kh = 0; kh < size; kh++) {
            float *o = s + r * lds + kh * size;
            const __m256 hv = _mm256_set1_ps(h[kh]);
            size_t kw = 0;
            for (; kw + 8 <= size; kw += 8) _mm256_storeu_ps(o + kw, _mm256_add_ps(hv, _mm256_loadu_ps(w + kw)));
            for (; kw < size; kw++) o[kw] = h[kh] + w[kw];
        }
    }
}
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
void samq_relpos_fill_neon(float *s, size_t lds, size_t rows, size_t size, const float *rel_h,
                           const float *rel_w) {
    for (size_t r = 0; r < rows; r++) {
        const float *h = rel_h + r * size, *w = rel_w + r * size;
        for (size_t kh = 0; kh < size; kh++) {
            float *o = s + r * lds + kh * size;
            const float32x4_t hv = vdupq_n_f32(h[kh]);
            size_t kw = 0;
            for (; kw + 4 <= size; kw += 4) vst1q_f32(o + kw, vaddq_f32(hv, vld1q_f32(w + kw)));
            for (; kw < size; kw++) o[kw] = h[kh] + w[kw];
        }
    }
}
#endif /* SAMQ_ARM64 */
