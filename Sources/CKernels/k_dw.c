/* Depthwise 3x3 convolution (f32, channels-last): the scalar reference, the
 * packer, and the SIMD kernels instantiated from k_dw_body.h per ISA. */
#include "samq_internal.h"
#include "samq_simd.h"

#define DW_CAT_(a, b) a##b
#define DW_CAT(a, b) DW_CAT_(a, b)

void samq_dwconv3x3_pack(const float *w, size_t C, float *out) {
    for (size_t c = 0; c < C; c++)
        for (size_t t = 0; t < 9; t++) out[t * C + c] = w[c * 9 + t];
}

void samq_dwconv3x3_scalar(const samq_dwconv3x3_args *a) {
    const size_t Wo = samq_dw_out_size(a->W, a->stride);
    for (size_t oy = a->y_begin; oy < a->y_end; oy++)
        for (size_t ox = 0; ox < Wo; ox++) samq_dw_pixel_scalar(a, oy, ox, 0, a->C);
}

#if defined(SAMQ_X86)
#define DW_NAME samq_dwconv3x3_avx2
#define DW_TGT TGT_AVX2
#define DW_V __m256
#define DW_N 8
#define DW_U 4
#define DW_LD(p) _mm256_loadu_ps(p)
#define DW_ST(p, v) _mm256_storeu_ps((p), (v))
#define DW_DUP(f) _mm256_set1_ps(f)
#define DW_ADD(a, b) _mm256_add_ps((a), (b))
#define DW_MUL(a, b) _mm256_mul_ps((a), (b))
#define DW_GELU(v) gelu_avx2(v)
#include "k_dw_body.h"
#undef DW_NAME
#undef DW_TGT
#undef DW_V
#undef DW_N
#undef DW_U
#undef DW_LD
#undef DW_ST
#undef DW_DUP
#undef DW_ADD
#undef DW_MUL
#undef DW_GELU

#define DW_NAME samq_dwconv3x3_avx512
#define DW_TGT TGT_512
#define DW_V __m512
#define DW_N 16
#define DW_U 8
#define DW_LD(p) _mm512_loadu_ps(p)
#define DW_ST(p, v) _mm512_storeu_ps((p), (v))
#define DW_DUP(f) _mm512_set1_ps(f)
#define DW_ADD(a, b) _mm512_add_ps((a), (b))
#define DW_MUL(a, b) _mm512_mul_ps((a), (b))
#define DW_GELU(v) gelu_512(v)
#include "k_dw_body.h"
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
#define DW_NAME samq_dwconv3x3_neon
#define DW_TGT
#define DW_V float32x4_t
#define DW_N 4
#define DW_U 8
#define DW_LD(p) vld1q_f32(p)
#define DW_ST(p, v) vst1q_f32((p), (v))
#define DW_DUP(f) vdupq_n_f32(f)
#define DW_ADD(a, b) vaddq_f32((a), (b))
#define DW_MUL(a, b) vmulq_f32((a), (b))
#define DW_GELU(v) gelu_neon(v)
#include "k_dw_body.h"
#endif /* SAMQ_ARM64 */
