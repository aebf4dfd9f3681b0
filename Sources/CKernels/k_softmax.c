/* Softmax of attention score rows fused with the int8 code of P (see
 * samq_softmax_q8_rows in samq_kernels.h): the scalar reference and one SIMD
 * kernel per ISA, each mirroring the reference operation by operation
 * (separate multiplies and adds, the same 16-lane order of the row sum), so
 * every ISA writes the same bytes and scales.
 *
 * Why C: in Swift this ran on 4-lane SSE code (the package is built for the
 * x86-64 baseline) and took 16% of a vit_b encode. */
#include "samq_internal.h"
#include "samq_simd.h"

/* 2^f on f in [-1/2, 1/2]: degree 2, scaled by 1/1.0005 so 2^0 stays <= 1
 * (254·e must round to <= 254); within 2.3e-3 relative, under half a step of
 * P at every magnitude. */
#define SM_C2 0.23770884f
#define SM_C1 0.70303866f
#define SM_FLOOR (-126.0f)   /* 2^-126 quantizes to 0 anyway; no masking needed */
#define SM_SHIFT 12582912.0f /* 1.5·2^23: (x + shift).bits − SM_SHIFT_BITS = rint(x) */
#define SM_SHIFT_BITS 0x4B400000
#define SM_LANES 16

static inline uint32_t sm_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float sm_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* e = 2^(s − m) and its code; the vector kernels do exactly this per lane. */
static inline float sm_exp_code(float s, float m, int8_t *q) {
    float y = s - m;
    if (!(y >= SM_FLOOR)) y = SM_FLOOR;
    float t = y + SM_SHIFT;
    float f = y - (t - SM_SHIFT);
    float p = SM_C2 * f;
    p = p + SM_C1;
    p = p * f;
    p = p + 1.0f;
    float e = p * sm_float(((sm_bits(t) - (uint32_t)(SM_SHIFT_BITS - 127)) << 23));
    float code = e * 254.0f;
    *q = (int8_t)(int32_t)(sm_bits(code + SM_SHIFT) - (uint32_t)(SM_SHIFT_BITS + 127));
    return e;
}

/* The lane sums in a fixed order: every ISA ends with these 16 partials. */
static inline float sm_reduce(const float *lane) {
    float s = 0.0f;
    for (int i = 0; i < SM_LANES; i++) s += lane[i];
    return s;
}

static inline float sm_finish(float sum) { return sum > 0.0f ? 1.0f / (254.0f * sum) : 0.0f; }

/* Tail of a row (j from `from`) into the lane partials, and the padding. */
static inline void sm_tail(const float *s, size_t from, size_t count, size_t padded, float m, int8_t *q,
                           float *lane) {
    for (size_t j = from; j < count; j++) lane[j % SM_LANES] += sm_exp_code(s[j], m, q + j);
    for (size_t j = count; j < padded; j++) q[j] = 0;
}

/* Row max ignoring NaN; −inf for an empty row. */
static inline float sm_max_scalar(const float *s, size_t count) {
    float m = -INFINITY;
    for (size_t j = 0; j < count; j++)
        if (s[j] > m) m = s[j];
    return m;
}

static inline int sm_degenerate(float m, size_t count, size_t padded, int8_t *q, float *scale) {
    if (isfinite(m)) return 0;
    for (size_t j = 0; j < (padded > count ? padded : count); j++) q[j] = 0;
    *scale = 0.0f;
    return 1;
}

void samq_softmax_q8_scalar(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                            size_t padded, float *scale) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = s + r * lds;
        int8_t *qr = q + r * ldq;
        float m = sm_max_scalar(row, count);
        if (sm_degenerate(m, count, padded, qr, scale + r)) continue;
        float lane[SM_LANES] = {0};
        sm_tail(row, 0, count, padded, m, qr, lane);
        scale[r] = sm_finish(sm_reduce(lane));
    }
}

#if defined(SAMQ_X86)
TGT_512 static inline __m512 sm_exp_512(__m512 x, __m512 vm, __m128i *code) {
    __m512 y = _mm512_max_ps(_mm512_sub_ps(x, vm), _mm512_set1_ps(SM_FLOOR)); /* NaN -> floor */
    const __m512 shift = _mm512_set1_ps(SM_SHIFT);
    __m512 t = _mm512_add_ps(y, shift);
    __m512 f = _mm512_sub_ps(y, _mm512_sub_ps(t, shift));
    __m512 p = _mm512_mul_ps(_mm512_set1_ps(SM_C2), f);
    p = _mm512_add_ps(p, _mm512_set1_ps(SM_C1));
    p = _mm512_mul_ps(p, f);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_sub_epi32(_mm512_castps_si512(t),
                                                      _mm512_set1_epi32(SM_SHIFT_BITS - 127)), 23);
    __m512 e = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
    __m512i c = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(_mm512_mul_ps(e, _mm512_set1_ps(254.0f)), shift)),
                                 _mm512_set1_epi32(SM_SHIFT_BITS + 127));
    *code = _mm512_cvtepi32_epi8(c); /* in [−127, 127]: exact */
    return e;
}

TGT_512 void samq_softmax_q8_avx512(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                                    size_t padded, float *scale) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = s + r * lds;
        int8_t *qr = q + r * ldq;
        size_t j = 0;
        __m512 mv = _mm512_set1_ps(-INFINITY);
        for (; j + 16 <= count; j += 16) mv = _mm512_max_ps(_mm512_loadu_ps(row + j), mv); /* NaN -> keep mv */
        float m = _mm512_reduce_max_ps(mv);
        for (; j < count; j++)
            if (row[j] > m) m = row[j];
        if (sm_degenerate(m, count, padded, qr, scale + r)) continue;
        const __m512 vm = _mm512_set1_ps(m);
        __m512 acc = _mm512_setzero_ps();
        for (j = 0; j + 16 <= count; j += 16) {
            __m128i code;
            acc = _mm512_add_ps(acc, sm_exp_512(_mm512_loadu_ps(row + j), vm, &code));
            _mm_storeu_si128((__m128i *)(qr + j), code);
        }
        float lane[SM_LANES];
        _mm512_storeu_ps(lane, acc);
        sm_tail(row, j, count, padded, m, qr, lane);
        scale[r] = sm_finish(sm_reduce(lane));
    }
}

TGT_AVX2 static inline __m256 sm_exp_avx2(__m256 x, __m256 vm, int8_t *q) {
    __m256 y = _mm256_max_ps(_mm256_sub_ps(x, vm), _mm256_set1_ps(SM_FLOOR)); /* NaN -> floor */
    const __m256 shift = _mm256_set1_ps(SM_SHIFT);
    __m256 t = _mm256_add_ps(y, shift);
    __m256 f = _mm256_sub_ps(y, _mm256_sub_ps(t, shift));
    __m256 p = _mm256_mul_ps(_mm256_set1_ps(SM_C2), f);
    p = _mm256_add_ps(p, _mm256_set1_ps(SM_C1));
    p = _mm256_mul_ps(p, f);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(t),
                                                      _mm256_set1_epi32(SM_SHIFT_BITS - 127)), 23);
    __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    __m256i c = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(e, _mm256_set1_ps(254.0f)), shift)),
                                 _mm256_set1_epi32(SM_SHIFT_BITS + 127));
    /* Codes are in [−127, 127]: the saturating packs are exact. */
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
    _mm_storel_epi64((__m128i *)q, _mm_packs_epi16(w, w));
    return e;
}

TGT_AVX2 void samq_softmax_q8_avx2(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                                   size_t padded, float *scale) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = s + r * lds;
        int8_t *qr = q + r * ldq;
        size_t j = 0;
        __m256 mv = _mm256_set1_ps(-INFINITY);
        for (; j + 8 <= count; j += 8) mv = _mm256_max_ps(_mm256_loadu_ps(row + j), mv); /* NaN -> keep mv */
        float mlane[8];
        _mm256_storeu_ps(mlane, mv);
        float m = -INFINITY;
        for (int i = 0; i < 8; i++)
            if (mlane[i] > m) m = mlane[i];
        for (; j < count; j++)
            if (row[j] > m) m = row[j];
        if (sm_degenerate(m, count, padded, qr, scale + r)) continue;
        const __m256 vm = _mm256_set1_ps(m);
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps(); /* lanes 0–7 and 8–15 */
        for (j = 0; j + 16 <= count; j += 16) {
            lo = _mm256_add_ps(lo, sm_exp_avx2(_mm256_loadu_ps(row + j), vm, qr + j));
            hi = _mm256_add_ps(hi, sm_exp_avx2(_mm256_loadu_ps(row + j + 8), vm, qr + j + 8));
        }
        float lane[SM_LANES];
        _mm256_storeu_ps(lane, lo);
        _mm256_storeu_ps(lane + 8, hi);
        sm_tail(row, j, count, padded, m, qr, lane);
        scale[r] = sm_finish(sm_reduce(lane));
    }
}
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
static inline float32x4_t sm_exp_neon(float32x4_t x, float32x4_t vm, int32x4_t *code) {
    float32x4_t y = vsubq_f32(x, vm);
    uint32x4_t keep = vcgeq_f32(y, vdupq_n_f32(SM_FLOOR)); /* false for NaN */
    y = vbslq_f32(keep, y, vdupq_n_f32(SM_FLOOR));
    const float32x4_t shift = vdupq_n_f32(SM_SHIFT);
    float32x4_t t = vaddq_f32(y, shift);
    float32x4_t f = vsubq_f32(y, vsubq_f32(t, shift));
    float32x4_t p = vmulq_f32(vdupq_n_f32(SM_C2), f);
    p = vaddq_f32(p, vdupq_n_f32(SM_C1));
    p = vmulq_f32(p, f);
    p = vaddq_f32(p, vdupq_n_f32(1.0f));
    int32x4_t bits = vshlq_n_s32(vsubq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(SM_SHIFT_BITS - 127)), 23);
    float32x4_t e = vmulq_f32(p, vreinterpretq_f32_s32(bits));
    *code = vsubq_s32(vreinterpretq_s32_f32(vaddq_f32(vmulq_f32(e, vdupq_n_f32(254.0f)), shift)),
                      vdupq_n_s32(SM_SHIFT_BITS + 127));
    return e;
}

void samq_softmax_q8_neon(const float *s, size_t rows, size_t count, size_t lds, int8_t *q, size_t ldq,
                          size_t padded, float *scale) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = s + r * lds;
        int8_t *qr = q + r * ldq;
        size_t j = 0;
        float32x4_t mv = vdupq_n_f32(-INFINITY);
        for (; j + 4 <= count; j += 4) {
            float32x4_t x = vld1q_f32(row + j);
            mv = vbslq_f32(vcgtq_f32(x, mv), x, mv); /* NaN -> keep mv */
        }
        float m = vmaxvq_f32(mv); /* mv holds no NaN */
        for (; j < count; j++)
            if (row[j] > m) m = row[j];
        if (sm_degenerate(m, count, padded, qr, scale + r)) continue;
        const float32x4_t vm = vdupq_n_f32(m);
        float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
        for (j = 0; j + 16 <= count; j += 16) {
            int32x4_t c[4];
            for (int g = 0; g < 4; g++) acc[g] = vaddq_f32(acc[g], sm_exp_neon(vld1q_f32(row + j + 4 * g), vm, &c[g]));
            /* Codes are in [−127, 127]: the saturating narrows are exact. */
            int16x8_t w0 = vcombine_s16(vqmovn_s32(c[0]), vqmovn_s32(c[1]));
            int16x8_t w1 = vcombine_s16(vqmovn_s32(c[2]), vqmovn_s32(c[3]));
            vst1q_s8(qr + j, vcombine_s8(vqmovn_s16(w0), vqmovn_s16(w1)));
        }
        float lane[SM_LANES];
        for (int g = 0; g < 4; g++) vst1q_f32(lane + 4 * g, acc[g]);
        sm_tail(row, j, count, padded, m, qr, lane);
        scale[r] = sm_finish(sm_reduce(lane));
    }
}
#endif /* SAMQ_ARM64 */
