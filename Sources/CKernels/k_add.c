/* out = a + b over n floats (samq_add_f32 in samq_kernels.h). One add per
 * element, so every ISA writes the same bits.
 *
 * Why C: the package's Swift is built for the x86-64 baseline (4-lane SSE);
 * the decoder adds the positional encoding to every chunk of image rows it
 * quantizes, ~4% of a vit_b decode in Swift. */
#include "samq_internal.h"
#include "samq_simd.h"

void samq_add_f32_scalar(const float *a, const float *b, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

#define ADD_BODY(NAME, TGT, W, LD, ST, ADD)                                                   \
    TGT void NAME(const float *a, const float *b, float *out, size_t n) {                     \
        size_t i = 0;                                                                         \
        for (; i + W <= n; i += W) ST(out + i, ADD(LD(a + i), LD(b + i)));                    \
        for (; i < n; i++) out[i] = a[i] + b[i];                                              \
    }

#if defined(SAMQ_X86)
ADD_BODY(samq_add_f32_avx2, TGT_AVX2, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps)
ADD_BODY(samq_add_f32_avx512, TGT_512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps)
#endif
#if defined(SAMQ_ARM64)
ADD_BODY(samq_add_f32_neon, , 4, vld1q_f32, vst1q_f32, vaddq_f32)
#endif
