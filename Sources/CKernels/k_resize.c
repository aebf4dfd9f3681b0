/* Bilinear resize rows (samq_resize.h). The x86 variant exists because without
 * the FMA target feature every fmaf is a library call, which made SAM's mask
 * upscaling the largest cost of a decoder request on small models. */
#include <math.h>
#include "samq_internal.h"
#include "samq_resize.h"
#include "samq_simd.h"

/* GCC ignores this pragma; the ARM test build passes -ffp-contract=off instead. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define BILINEAR_BODY(FMA)                                                      \
    for (intptr_t i = 0; i < n; i++) {                                          \
        const float a = w0[i], b = w1[i];                                       \
        const float t0 = FMA(row0[x0[i]], a, row0[x1[i]] * b);                  \
        const float t1 = FMA(row1[x0[i]], a, row1[x1[i]] * b);                  \
        out[i] = FMA(t0, h0, t1 * h1);                                          \
    }

static void bilinear_row_libm(const float *row0, const float *row1, float h0, float h1,
                              const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                              float *out, intptr_t n) {
    BILINEAR_BODY(fmaf)
}

#if defined(SAMQ_X86)
__attribute__((target("fma")))
static void bilinear_row_fma(const float *row0, const float *row1, float h0, float h1,
                             const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                             float *out, intptr_t n) {
    BILINEAR_BODY(__builtin_fmaf)
}
#endif

void samq_bilinear_row(const float *row0, const float *row1, float h0, float h1,
                       const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                       float *out, intptr_t n) {
#if defined(SAMQ_X86)
    if (__builtin_cpu_supports("fma")) {
        bilinear_row_fma(row0, row1, h0, h1, x0, x1, w0, w1, out, n);
        return;
    }
#endif
    bilinear_row_libm(row0, row1, h0, h1, x0, x1, w0, w1, out, n);
}

/* ---- samq_bilinear_h / _v / _v_threshold --------------------------------- */

static void bilinear_h_scalar(const float *row, const int32_t *x0, const int32_t *x1, const float *w0,
                              const float *w1, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = fmaf(row[x0[i]], w0[i], row[x1[i]] * w1[i]);
}
static void bilinear_v_scalar(const float *a, const float *b, float h0, float h1, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = fmaf(a[i], h0, b[i] * h1);
}
static void bilinear_vt_scalar(const float *a, const float *b, float h0, float h1, float t, uint8_t *mask,
                               size_t n) {
    for (size_t i = 0; i < n; i++) mask[i] = fmaf(a[i], h0, b[i] * h1) > t ? 1 : 0;
}

#if defined(SAMQ_X86)
TGT_AVX2 static void bilinear_h_avx2(const float *row, const int32_t *x0, const int32_t *x1, const float *w0,
                                     const float *w1, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_i32gather_ps(row, _mm256_loadu_si256((const __m256i *)(x0 + i)), 4);
        __m256 b = _mm256_i32gather_ps(row, _mm256_loadu_si256((const __m256i *)(x1 + i)), 4);
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(w0 + i),
                                                  _mm256_mul_ps(b, _mm256_loadu_ps(w1 + i))));
    }
    for (; i < n; i++) out[i] = __builtin_fmaf(row[x0[i]], w0[i], row[x1[i]] * w1[i]);
}
TGT_AVX2 static void bilinear_v_avx2(const float *a, const float *b, float h0, float h1, float *out, size_t n) {
    const __m256 v0 = _mm256_set1_ps(h0), v1 = _mm256_set1_ps(h1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_loadu_ps(a + i), v0, _mm256_mul_ps(_mm256_loadu_ps(b + i), v1)));
    for (; i < n; i++) out[i] = __builtin_fmaf(a[i], h0, b[i] * h1);
}
TGT_AVX2 static void bilinear_vt_avx2(const float *a, const float *b, float h0, float h1, float t, uint8_t *mask,
                                      size_t n) {
    const __m256 v0 = _mm256_set1_ps(h0), v1 = _mm256_set1_ps(h1), vt = _mm256_set1_ps(t);
    const __m256i one = _mm256_set1_epi32(1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 y = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), v0, _mm256_mul_ps(_mm256_loadu_ps(b + i), v1));
        __m256i m = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(y, vt, _CMP_GT_OQ)), one);
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
        _mm_storel_epi64((__m128i *)(mask + i), _mm_packus_epi16(w, w));
    }
    for (; i < n; i++) mask[i] = __builtin_fmaf(a[i], h0, b[i] * h1) > t ? 1 : 0;
}

TGT_512 static void bilinear_h_512(const float *row, const int32_t *x0, const int32_t *x1, const float *w0,
                                   const float *w1, float *out, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 a = _mm512_i32gather_ps(_mm512_loadu_si512(x0 + i), row, 4);
        __m512 b = _mm512_i32gather_ps(_mm512_loadu_si512(x1 + i), row, 4);
        _mm512_storeu_ps(out + i, _mm512_fmadd_ps(a, _mm512_loadu_ps(w0 + i), _mm512_mul_ps(b, _mm512_loadu_ps(w1 + i))));
    }
    for (; i < n; i++) out[i] = __builtin_fmaf(row[x0[i]], w0[i], row[x1[i]] * w1[i]);
}
TGT_512 static void bilinear_v_512(const float *a, const float *b, float h0, float h1, float *out, size_t n) {
    const __m512 v0 = _mm512_set1_ps(h0), v1 = _mm512_set1_ps(h1);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_fmadd_ps(_mm512_loadu_ps(a + i), v0, _mm512_mul_ps(_mm512_loadu_ps(b + i), v1)));
    for (; i < n; i++) out[i] = __builtin_fmaf(a[i], h0, b[i] * h1);
}
TGT_512 static void bilinear_vt_512(const float *a, const float *b, float h0, float h1, float t, uint8_t *mask,
                                    size_t n) {
    const __m512 v0 = _mm512_set1_ps(h0), v1 = _mm512_set1_ps(h1), vt = _mm512_set1_ps(t);
    const __m512i one = _mm512_set1_epi32(1);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 y = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), v0, _mm512_mul_ps(_mm512_loadu_ps(b + i), v1));
        __mmask16 m = _mm512_cmp_ps_mask(y, vt, _CMP_GT_OQ);
        _mm_storeu_si128((__m128i *)(mask + i), _mm512_cvtepi32_epi8(_mm512_maskz_mov_epi32(m, one)));
    }
    for (; i < n; i++) mask[i] = __builtin_fmaf(a[i], h0, b[i] * h1) > t ? 1 : 0;
}
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
/* AArch64 fmaf and vfmaq are both the fused instruction. */
static void bilinear_h_neon(const float *row, const int32_t *x0, const int32_t *x1, const float *w0,
                            const float *w1, float *out, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t a = vdupq_n_f32(0.0f), b = vdupq_n_f32(0.0f);
        a = vld1q_lane_f32(row + x0[i], a, 0), b = vld1q_lane_f32(row + x1[i], b, 0);
        a = vld1q_lane_f32(row + x0[i + 1], a, 1), b = vld1q_lane_f32(row + x1[i + 1], b, 1);
        a = vld1q_lane_f32(row + x0[i + 2], a, 2), b = vld1q_lane_f32(row + x1[i + 2], b, 2);
        a = vld1q_lane_f32(row + x0[i + 3], a, 3), b = vld1q_lane_f32(row + x1[i + 3], b, 3);
        vst1q_f32(out + i, vfmaq_f32(vmulq_f32(b, vld1q_f32(w1 + i)), a, vld1q_f32(w0 + i)));
    }
    for (; i < n; i++) out[i] = fmaf(row[x0[i]], w0[i], row[x1[i]] * w1[i]);
}
static void bilinear_v_neon(const float *a, const float *b, float h0, float h1, float *out, size_t n) {
    const float32x4_t v0 = vdupq_n_f32(h0), v1 = vdupq_n_f32(h1);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, vfmaq_f32(vmulq_f32(vld1q_f32(b + i), v1), vld1q_f32(a + i), v0));
    for (; i < n; i++) out[i] = fmaf(a[i], h0, b[i] * h1);
}
static void bilinear_vt_neon(const float *a, const float *b, float h0, float h1, float t, uint8_t *mask,
                             size_t n) {
    const float32x4_t v0 = vdupq_n_f32(h0), v1 = vdupq_n_f32(h1), vt = vdupq_n_f32(t);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t y0 = vfmaq_f32(vmulq_f32(vld1q_f32(b + i), v1), vld1q_f32(a + i), v0);
        float32x4_t y1 = vfmaq_f32(vmulq_f32(vld1q_f32(b + i + 4), v1), vld1q_f32(a + i + 4), v0);
        uint16x8_t m = vcombine_u16(vmovn_u32(vcgtq_f32(y0, vt)), vmovn_u32(vcgtq_f32(y1, vt)));
        vst1_u8(mask + i, vand_u8(vmovn_u16(m), vdup_n_u8(1)));
    }
    for (; i < n; i++) mask[i] = fmaf(a[i], h0, b[i] * h1) > t ? 1 : 0;
}
#endif /* SAMQ_ARM64 */

void samq_bilinear_h(samq_isa isa, const float *row, const int32_t *x0, const int32_t *x1, const float *w0,
                     const float *w1, float *out, size_t n) {
    if (n == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: bilinear_h_avx2(row, x0, x1, w0, w1, out, n); return;
    case SAMQ_VEC_AVX512: bilinear_h_512(row, x0, x1, w0, w1, out, n); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: bilinear_h_neon(row, x0, x1, w0, w1, out, n); return;
#endif
    default: bilinear_h_scalar(row, x0, x1, w0, w1, out, n); return;
    }
}

void samq_bilinear_v(samq_isa isa, const float *a, const float *b, float h0, float h1, float *out, size_t n) {
    if (n == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: bilinear_v_avx2(a, b, h0, h1, out, n); return;
    case SAMQ_VEC_AVX512: bilinear_v_512(a, b, h0, h1, out, n); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: bilinear_v_neon(a, b, h0, h1, out, n); return;
#endif
    default: bilinear_v_scalar(a, b, h0, h1, out, n); return;
    }
}

void samq_bilinear_v_threshold(samq_isa isa, const float *a, const float *b, float h0, float h1, float threshold,
                               uint8_t *mask, size_t n) {
    if (n == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: bilinear_vt_avx2(a, b, h0, h1, threshold, mask, n); return;
    case SAMQ_VEC_AVX512: bilinear_vt_512(a, b, h0, h1, threshold, mask, n); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: bilinear_vt_neon(a, b, h0, h1, threshold, mask, n); return;
#endif
    default: bilinear_vt_scalar(a, b, h0, h1, threshold, mask, n); return;
    }
}
