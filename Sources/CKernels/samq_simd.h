/* SIMD building blocks shared by the kernel translation units: target
 * attributes and the vector GELUs. Each GELU mirrors samq_gelu_ref
 * (samq_internal.h) operation by operation, with separate multiplies and
 * adds (never FMA), so every ISA gives the scalar bits; change them together. */
#ifndef SAMQ_SIMD_H
#define SAMQ_SIMD_H

#include "samq_internal.h"

#define INLINE static inline __attribute__((always_inline))

#if defined(SAMQ_X86)
#include <immintrin.h>

#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define TGT_F16C __attribute__((target("avx2,fma,f16c")))
#define TGT_512 __attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma")))

/* Mirrors samq_gelu_ref op for op (no FMA: separate mul and add). */
TGT_AVX2 INLINE __m256 gelu_avx2(__m256 y) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_mul_ps(_mm256_andnot_ps(sign, y), _mm256_set1_ps(SAMQ_GELU_RSQRT2));
    const __m256 axmax = _mm256_set1_ps(SAMQ_GELU_AXMAX);
    __m256 big = _mm256_cmp_ps(ax, axmax, _CMP_GT_OQ);
    ax = _mm256_min_ps(axmax, ax); /* NaN -> second operand (NaN), like the ref */
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = _mm256_div_ps(one, _mm256_add_ps(one, _mm256_mul_ps(_mm256_set1_ps(SAMQ_GELU_P), ax)));
    __m256 poly = _mm256_set1_ps(SAMQ_GELU_A5);
    poly = _mm256_add_ps(_mm256_mul_ps(poly, t), _mm256_set1_ps(SAMQ_GELU_A4));
    poly = _mm256_add_ps(_mm256_mul_ps(poly, t), _mm256_set1_ps(SAMQ_GELU_A3));
    poly = _mm256_add_ps(_mm256_mul_ps(poly, t), _mm256_set1_ps(SAMQ_GELU_A2));
    poly = _mm256_add_ps(_mm256_mul_ps(poly, t), _mm256_set1_ps(SAMQ_GELU_A1));
    poly = _mm256_mul_ps(poly, t);
    __m256 z = _mm256_xor_ps(_mm256_mul_ps(ax, ax), sign);
    z = _mm256_max_ps(z, _mm256_set1_ps(SAMQ_EXP_ZMIN)); /* NaN -> second operand, like the ref */
    const __m256 shift = _mm256_set1_ps(SAMQ_EXP_SHIFT);
    __m256 n = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(z, _mm256_set1_ps(SAMQ_EXP_LOG2E)), shift), shift);
    __m256 r = _mm256_sub_ps(_mm256_sub_ps(z, _mm256_mul_ps(n, _mm256_set1_ps(SAMQ_EXP_LN2HI))),
                             _mm256_mul_ps(n, _mm256_set1_ps(SAMQ_EXP_LN2LO)));
    __m256 p = _mm256_set1_ps(SAMQ_EXP_C7);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(SAMQ_EXP_C6));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(SAMQ_EXP_C5));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(SAMQ_EXP_C4));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(SAMQ_EXP_C3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(SAMQ_EXP_C2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), one);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), one);
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    __m256 erfc = _mm256_mul_ps(poly, e);
    __m256 pos = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GE_OQ);
    __m256 f = _mm256_blendv_ps(erfc, _mm256_sub_ps(_mm256_set1_ps(2.0f), erfc), pos);
    __m256 g = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), y), f);
    return _mm256_blendv_ps(g, _mm256_blendv_ps(sign, y, pos), big);
}

TGT_512 INLINE __m512 gelu_512(__m512 y) {
    const __m512i signi = _mm512_set1_epi32((int)0x80000000u);
    __m512 ax = _mm512_mul_ps(_mm512_abs_ps(y), _mm512_set1_ps(SAMQ_GELU_RSQRT2));
    const __m512 axmax = _mm512_set1_ps(SAMQ_GELU_AXMAX);
    __mmask16 big = _mm512_cmp_ps_mask(ax, axmax, _CMP_GT_OQ);
    ax = _mm512_min_ps(axmax, ax); /* NaN -> second operand (NaN), like the ref */
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 t = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(_mm512_set1_ps(SAMQ_GELU_P), ax)));
    __m512 poly = _mm512_set1_ps(SAMQ_GELU_A5);
    poly = _mm512_add_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(SAMQ_GELU_A4));
    poly = _mm512_add_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(SAMQ_GELU_A3));
    poly = _mm512_add_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(SAMQ_GELU_A2));
    poly = _mm512_add_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(SAMQ_GELU_A1));
    poly = _mm512_mul_ps(poly, t);
    __m512 z = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(ax, ax)), signi));
    z = _mm512_max_ps(z, _mm512_set1_ps(SAMQ_EXP_ZMIN));
    const __m512 shift = _mm512_set1_ps(SAMQ_EXP_SHIFT);
    __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(z, _mm512_set1_ps(SAMQ_EXP_LOG2E)), shift), shift);
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(z, _mm512_mul_ps(n, _mm512_set1_ps(SAMQ_EXP_LN2HI))),
                             _mm512_mul_ps(n, _mm512_set1_ps(SAMQ_EXP_LN2LO)));
    __m512 p = _mm512_set1_ps(SAMQ_EXP_C7);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(SAMQ_EXP_C6));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(SAMQ_EXP_C5));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(SAMQ_EXP_C4));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(SAMQ_EXP_C3));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(SAMQ_EXP_C2));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), one);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), one);
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
    __m512 e = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
    __m512 erfc = _mm512_mul_ps(poly, e);
    __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 f = _mm512_mask_blend_ps(pos, erfc, _mm512_sub_ps(_mm512_set1_ps(2.0f), erfc));
    __m512 g = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), y), f);
    __m512 tail = _mm512_mask_blend_ps(pos, _mm512_castsi512_ps(signi), y);
    return _mm512_mask_blend_ps(big, g, tail);
}

#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
#include <arm_neon.h>

/* Mirrors samq_gelu_ref op for op; explicit mul/add (never vmla/vfma). */
INLINE float32x4_t gelu_neon(float32x4_t y) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t ax = vmulq_f32(vabsq_f32(y), vdupq_n_f32(SAMQ_GELU_RSQRT2));
    const float32x4_t axmax = vdupq_n_f32(SAMQ_GELU_AXMAX);
    uint32x4_t big = vcgtq_f32(ax, axmax);
    ax = vbslq_f32(vcltq_f32(axmax, ax), axmax, ax); /* not vminq: the ref keeps NaN as is */
    float32x4_t t = vdivq_f32(one, vaddq_f32(one, vmulq_f32(vdupq_n_f32(SAMQ_GELU_P), ax)));
    float32x4_t poly = vdupq_n_f32(SAMQ_GELU_A5);
    poly = vaddq_f32(vmulq_f32(poly, t), vdupq_n_f32(SAMQ_GELU_A4));
    poly = vaddq_f32(vmulq_f32(poly, t), vdupq_n_f32(SAMQ_GELU_A3));
    poly = vaddq_f32(vmulq_f32(poly, t), vdupq_n_f32(SAMQ_GELU_A2));
    poly = vaddq_f32(vmulq_f32(poly, t), vdupq_n_f32(SAMQ_GELU_A1));
    poly = vmulq_f32(poly, t);
    float32x4_t z = vnegq_f32(vmulq_f32(ax, ax));
    const float32x4_t zmin = vdupq_n_f32(SAMQ_EXP_ZMIN);
    z = vbslq_f32(vcgtq_f32(z, zmin), z, zmin); /* not vmaxq: FMAX propagates NaN, the ref does not */
    const float32x4_t shift = vdupq_n_f32(SAMQ_EXP_SHIFT);
    float32x4_t n = vsubq_f32(vaddq_f32(vmulq_f32(z, vdupq_n_f32(SAMQ_EXP_LOG2E)), shift), shift);
    float32x4_t r = vsubq_f32(vsubq_f32(z, vmulq_f32(n, vdupq_n_f32(SAMQ_EXP_LN2HI))),
                              vmulq_f32(n, vdupq_n_f32(SAMQ_EXP_LN2LO)));
    float32x4_t p = vdupq_n_f32(SAMQ_EXP_C7);
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(SAMQ_EXP_C6));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(SAMQ_EXP_C5));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(SAMQ_EXP_C4));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(SAMQ_EXP_C3));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(SAMQ_EXP_C2));
    p = vaddq_f32(vmulq_f32(p, r), one);
    p = vaddq_f32(vmulq_f32(p, r), one);
    int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    float32x4_t e = vmulq_f32(p, vreinterpretq_f32_s32(bits));
    float32x4_t erfc = vmulq_f32(poly, e);
    uint32x4_t pos = vcgeq_f32(y, vdupq_n_f32(0.0f));
    float32x4_t f = vbslq_f32(pos, vsubq_f32(vdupq_n_f32(2.0f), erfc), erfc);
    float32x4_t g = vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), y), f);
    return vbslq_f32(big, vbslq_f32(pos, y, vdupq_n_f32(-0.0f)), g);
}

#endif /* SAMQ_ARM64 */

#endif
