/* SIMD building blocks shared by the kernel translation units: target
 * attributes and the vector GELUs. Each GELU mirrors samq_gelu_ref
 * (samq_internal.h) operation by operation, fused multiply-adds exactly
 * where it calls fmaf and separate operations elsewhere, so every ISA gives
 * the scalar bits; change them together. */
#ifndef SAMQ_SIMD_H
#define SAMQ_SIMD_H

#include "samq_internal.h"

#define INLINE static inline __attribute__((always_inline))

#if defined(SAMQ_X86)
#include <immintrin.h>

#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define TGT_F16C __attribute__((target("avx2,fma,f16c")))
#define TGT_512 __attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma")))

/* samq_exp_ref op for op: clamp (NaN -> the bound, as maxps returns its
 * second operand), Cody-Waite reduction, degree-7 polynomial, no FMA. */
#define SAMQ_EXP_REF_BODY(V, P)                                                                               \
    z = P##_max_ps(z, P##_set1_ps(SAMQ_EXP_ZMIN));                                                            \
    const V shift = P##_set1_ps(SAMQ_EXP_SHIFT), one = P##_set1_ps(1.0f);                                     \
    V n = P##_sub_ps(P##_add_ps(P##_mul_ps(z, P##_set1_ps(SAMQ_EXP_LOG2E)), shift), shift);                   \
    V r = P##_sub_ps(P##_sub_ps(z, P##_mul_ps(n, P##_set1_ps(SAMQ_EXP_LN2HI))),                               \
                     P##_mul_ps(n, P##_set1_ps(SAMQ_EXP_LN2LO)));                                             \
    V p = P##_set1_ps(SAMQ_EXP_C7);                                                                           \
    p = P##_add_ps(P##_mul_ps(p, r), P##_set1_ps(SAMQ_EXP_C6));                                               \
    p = P##_add_ps(P##_mul_ps(p, r), P##_set1_ps(SAMQ_EXP_C5));                                               \
    p = P##_add_ps(P##_mul_ps(p, r), P##_set1_ps(SAMQ_EXP_C4));                                               \
    p = P##_add_ps(P##_mul_ps(p, r), P##_set1_ps(SAMQ_EXP_C3));                                               \
    p = P##_add_ps(P##_mul_ps(p, r), P##_set1_ps(SAMQ_EXP_C2));                                               \
    p = P##_add_ps(P##_mul_ps(p, r), one);                                                                    \
    p = P##_add_ps(P##_mul_ps(p, r), one);

TGT_AVX2 INLINE __m256 exp_ref_avx2(__m256 z) {
    SAMQ_EXP_REF_BODY(__m256, _mm256)
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}
TGT_512 INLINE __m512 exp_ref_512(__m512 z) {
    SAMQ_EXP_REF_BODY(__m512, _mm512)
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

/* The lane's coefficient d: the 16-entry row is two 8-lane vectors; bit 3
 * of the piece index, shifted into the sign, picks one. */
#define GELU_COEF_AVX2(d)                                                                           \
    _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_load_ps(samq_gelu_table[d]), i),               \
                     _mm256_permutevar8x32_ps(_mm256_load_ps(samq_gelu_table[d] + 8), i), upper)
TGT_AVX2 INLINE __m256 gelu_avx2(__m256 y) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_andnot_ps(sign, y);
    const __m256 umax = _mm256_set1_ps(SAMQ_GELU_UMAX);
    __m256 big = _mm256_cmp_ps(a, umax, _CMP_GT_OQ);
    __m256 u = _mm256_min_ps(umax, a); /* NaN -> second operand (NaN), like the ref */
    __m256 s = _mm256_mul_ps(u, _mm256_set1_ps(SAMQ_GELU_SCALE));
    __m256i i = _mm256_min_epi32(_mm256_cvttps_epi32(s), _mm256_set1_epi32(SAMQ_GELU_PIECES - 1));
    __m256 upper = _mm256_castsi256_ps(_mm256_slli_epi32(i, 28));
    __m256 t = _mm256_sub_ps(s, _mm256_cvtepi32_ps(i));
    __m256 h = GELU_COEF_AVX2(SAMQ_GELU_DEGREE);
#define GELU_STEP_AVX2(h, d) h = _mm256_fmadd_ps(h, t, GELU_COEF_AVX2(d))
    SAMQ_GELU_HORNER(GELU_STEP_AVX2, h);
#undef GELU_STEP_AVX2
    __m256 pos = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GE_OQ);
    __m256 f = _mm256_blendv_ps(h, _mm256_sub_ps(_mm256_set1_ps(1.0f), h), pos);
    __m256 g = _mm256_mul_ps(y, f);
    return _mm256_blendv_ps(g, _mm256_blendv_ps(sign, y, pos), big);
}
#undef GELU_COEF_AVX2

TGT_512 INLINE __m512 gelu_512(__m512 y) {
    __m512 a = _mm512_abs_ps(y);
    const __m512 umax = _mm512_set1_ps(SAMQ_GELU_UMAX);
    __mmask16 big = _mm512_cmp_ps_mask(a, umax, _CMP_GT_OQ);
    __m512 u = _mm512_min_ps(umax, a); /* NaN -> second operand (NaN), like the ref */
    __m512 s = _mm512_mul_ps(u, _mm512_set1_ps(SAMQ_GELU_SCALE));
    __m512i i = _mm512_min_epi32(_mm512_cvttps_epi32(s), _mm512_set1_epi32(SAMQ_GELU_PIECES - 1));
    __m512 t = _mm512_sub_ps(s, _mm512_cvtepi32_ps(i));
    __m512 h = _mm512_permutexvar_ps(i, _mm512_load_ps(samq_gelu_table[SAMQ_GELU_DEGREE]));
#define GELU_STEP_512(h, d) h = _mm512_fmadd_ps(h, t, _mm512_permutexvar_ps(i, _mm512_load_ps(samq_gelu_table[d])))
    SAMQ_GELU_HORNER(GELU_STEP_512, h);
#undef GELU_STEP_512
    __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 f = _mm512_mask_blend_ps(pos, h, _mm512_sub_ps(_mm512_set1_ps(1.0f), h));
    __m512 g = _mm512_mul_ps(y, f);
    __m512 tail = _mm512_mask_blend_ps(pos, _mm512_set1_ps(-0.0f), y);
    return _mm512_mask_blend_ps(big, g, tail);
}

/* The window-attention softmax's exps: degree-6 Taylor with fused
 * multiply-adds (relative error < 2e-7 on the reduced range) after the
 * Cody-Waite reduction by the rounded n = z·log2(e); p·2^n last.
 * samq_exp_fast_ref is exp_fast_512 op for op. */
#define SAMQ_EXP_FAST_POLY(V, P)                                                \
    V r = P##_fnmadd_ps(n, P##_set1_ps(SAMQ_EXP_LN2HI), z);                     \
    r = P##_fnmadd_ps(n, P##_set1_ps(SAMQ_EXP_LN2LO), r);                       \
    V p = P##_set1_ps(SAMQ_EXP_C6);                                             \
    p = P##_fmadd_ps(p, r, P##_set1_ps(SAMQ_EXP_C5));                           \
    p = P##_fmadd_ps(p, r, P##_set1_ps(SAMQ_EXP_C4));                           \
    p = P##_fmadd_ps(p, r, P##_set1_ps(SAMQ_EXP_C3));                           \
    p = P##_fmadd_ps(p, r, P##_set1_ps(SAMQ_EXP_C2));                           \
    p = P##_fmadd_ps(p, r, P##_set1_ps(1.0f));                                  \
    p = P##_fmadd_ps(p, r, P##_set1_ps(1.0f));

TGT_AVX2 INLINE __m256 exp_fast_avx2(__m256 z) {
    z = _mm256_max_ps(z, _mm256_set1_ps(SAMQ_EXP_ZMIN));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(z, _mm256_set1_ps(SAMQ_EXP_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    SAMQ_EXP_FAST_POLY(__m256, _mm256)
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}
TGT_512 INLINE __m512 exp_fast_512(__m512 z) {
    z = _mm512_max_ps(z, _mm512_set1_ps(SAMQ_EXP_ZMIN));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(SAMQ_EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    SAMQ_EXP_FAST_POLY(__m512, _mm512)
    return _mm512_scalef_ps(p, n);
}

/* r[0..15], 16 lanes each, transposed: row i of the result (lane i of every
 * r) goes to dst + i * ld, for the first `count` rows. Bit patterns only, so
 * it serves floats and packed bf16 pairs alike. */
TGT_512 INLINE void transpose16_store_512(__m512 r[16], float *dst, size_t ld, int count) {
    __m512 t[16];
#define STORE_ROW(i, v) do { if ((i) < count) _mm512_storeu_ps(dst + (size_t)(i) * ld, (v)); } while (0)
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        STORE_ROW(i, _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88));
        STORE_ROW(i + 8, _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd));
        STORE_ROW(i + 4, _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88));
        STORE_ROW(i + 12, _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd));
    }
#undef STORE_ROW
}

#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
#include <arm_neon.h>

/* samq_exp_ref op for op. */
INLINE float32x4_t exp_ref_neon(float32x4_t z) {
    const float32x4_t zmin = vdupq_n_f32(SAMQ_EXP_ZMIN), one = vdupq_n_f32(1.0f);
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
    return vmulq_f32(p, vreinterpretq_f32_s32(bits));
}

/* The lane's coefficient d: one tbl over the 64-byte row (four registers),
 * with byte indices 4i .. 4i+3 in each lane. */
INLINE float32x4_t gelu_coef_neon(int d, uint8x16_t bytes) {
    const uint8_t *row = (const uint8_t *)samq_gelu_table[d];
    uint8x16x4_t table = {{vld1q_u8(row), vld1q_u8(row + 16), vld1q_u8(row + 32), vld1q_u8(row + 48)}};
    return vreinterpretq_f32_u8(vqtbl4q_u8(table, bytes));
}
/* Mirrors samq_gelu_ref op for op: vfmaq (fused) where it uses fmaf. */
INLINE float32x4_t gelu_neon(float32x4_t y) {
    float32x4_t a = vabsq_f32(y);
    const float32x4_t umax = vdupq_n_f32(SAMQ_GELU_UMAX);
    uint32x4_t big = vcgtq_f32(a, umax);
    float32x4_t u = vbslq_f32(vcltq_f32(umax, a), umax, a); /* not vminq: the ref keeps NaN as is */
    float32x4_t s = vmulq_f32(u, vdupq_n_f32(SAMQ_GELU_SCALE));
    int32x4_t i = vminq_s32(vcvtq_s32_f32(s), vdupq_n_s32(SAMQ_GELU_PIECES - 1));
    uint8x16_t bytes = vreinterpretq_u8_u32(
        vmlaq_u32(vdupq_n_u32(0x03020100u), vreinterpretq_u32_s32(i), vdupq_n_u32(0x04040404u)));
    float32x4_t t = vsubq_f32(s, vcvtq_f32_s32(i));
    float32x4_t h = gelu_coef_neon(SAMQ_GELU_DEGREE, bytes);
#define SAMQ_GELU_STEP_NEON(h, d) h = vfmaq_f32(gelu_coef_neon(d, bytes), h, t)
    SAMQ_GELU_HORNER(SAMQ_GELU_STEP_NEON, h);
#undef SAMQ_GELU_STEP_NEON
    uint32x4_t pos = vcgeq_f32(y, vdupq_n_f32(0.0f));
    float32x4_t f = vbslq_f32(pos, vsubq_f32(vdupq_n_f32(1.0f), h), h);
    float32x4_t g = vmulq_f32(y, f);
    return vbslq_f32(big, vbslq_f32(pos, y, vdupq_n_f32(-0.0f)), g);
}

#endif /* SAMQ_ARM64 */

#endif
