/* Packing Vᵀ for the attention's P·V (samq_pack_columns_i8 in
 * samq_kernels.h): the GEMM weight whose column c is source column c,
 * quantized per column over all rows. The scalar reference and one SIMD
 * kernel per ISA, each computing the same scale, inverse and rounding as
 * samq_quantize_rows, so every ISA writes the same bytes.
 *
 * Why C: the Swift packer ran on 4-lane SSE code (the package's Swift is
 * built for the x86-64 baseline) and took 3.3% of a vit_b encode.
 * Panel by panel: the column maxima and then the codes of one 16-column
 * strip, so the strip (rows x 64 bytes) is read twice while it is in L2
 * and no scratch memory is needed. */
#include <float.h>
#include "samq_internal.h"
#include "samq_simd.h"

/* Destination blocks of the packed layout (see samq_kernels.h). */
typedef struct {
    uint8_t *panels;
    float *scales;
    int32_t *sums;
    size_t Np, Kp;
} pc_out;

static pc_out pc_layout(void *out, size_t rows, size_t cols) {
    pc_out o;
    o.Np = samq_round_up(cols, 16);
    o.Kp = samq_round_up(rows, 8);
    o.panels = (uint8_t *)out;
    o.scales = (float *)(o.panels + o.Np * o.Kp);
    o.sums = (int32_t *)(o.panels + o.Np * o.Kp + 4 * o.Np);
    return o;
}

/* The 16 columns of row r in panel c0; a partial last panel is zero-padded
 * (zero columns get amax 0, scale 0 and codes 0, as the reference). */
static inline const float *pc_row(const float *x, size_t ld, size_t r, size_t c0, size_t width, float *pad) {
    const float *p = x + r * ld + c0;
    if (width == 16) return p;
    memcpy(pad, p, width * sizeof(float));
    return pad;
}

void samq_pack_columns_scalar(const float *x, size_t rows, size_t cols, size_t ld, void *out) {
    pc_out o = pc_layout(out, rows, cols);
    for (size_t c = 0; c < o.Np; c++) {
        float amax = 0.0f;
        if (c < cols)
            for (size_t r = 0; r < rows; r++) {
                float a = fabsf(x[r * ld + c]);
                if (a <= FLT_MAX && a > amax) amax = a; /* skips NaN and inf */
            }
        float scale = 0.0f, inv = 0.0f;
        if (amax >= 1e-30f) scale = amax / 127.0f, inv = 127.0f / amax;
        uint8_t *dst = o.panels + (c / 16) * o.Kp * 16 + (c % 16) * 4;
        int32_t sum = 0;
        for (size_t k = 0; k < o.Kp; k++) {
            int8_t q = 0;
            if (c < cols && k < rows) {
                float v = x[k * ld + c] * inv;
                if (v != v) v = 0.0f;
                if (v > 127.0f) v = 127.0f;
                if (v < -127.0f) v = -127.0f;
                q = (int8_t)lrintf(v);
            }
            dst[(k / 4) * 64 + k % 4] = (uint8_t)q;
            sum += q;
        }
        o.scales[c] = scale;
        o.sums[c] = sum;
    }
}

#if defined(SAMQ_X86)
TGT_512 void samq_pack_columns_avx512(const float *x, size_t rows, size_t cols, size_t ld, void *out) {
    pc_out o = pc_layout(out, rows, cols);
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
    const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f), zero = _mm512_setzero_ps();
    float pad[16] = {0};
    for (size_t c0 = 0; c0 < o.Np; c0 += 16) {
        const size_t width = SAMQ_MIN((size_t)16, cols - c0);
        __m512i amax = _mm512_setzero_si512();
        for (size_t r = 0; r < rows; r++) {
            __m512i a = _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(pc_row(x, ld, r, c0, width, pad))), magnitude);
            amax = _mm512_mask_max_epi32(amax, _mm512_cmplt_epi32_mask(a, inf), amax, a);
        }
        const __m512 vmax = _mm512_castsi512_ps(amax);
        const __mmask16 ok = _mm512_cmp_ps_mask(vmax, _mm512_set1_ps(1e-30f), _CMP_GE_OQ);
        const __m512 inv = _mm512_maskz_div_ps(ok, hi, vmax);
        _mm512_storeu_ps(o.scales + c0, _mm512_maskz_div_ps(ok, vmax, hi));
        uint8_t *dst = o.panels + (c0 / 16) * o.Kp * 16;
        __m512i sum = _mm512_setzero_si512();
        for (size_t g = 0; g < o.Kp / 4; g++) {
            __m512i word = _mm512_setzero_si512();
            for (size_t j = 0; j < 4 && g * 4 + j < rows; j++) {
                __m512 v = _mm512_mul_ps(_mm512_loadu_ps(pc_row(x, ld, g * 4 + j, c0, width, pad)), inv);
                v = _mm512_mask_mov_ps(zero, _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* NaN -> 0 */
                __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi));
                sum = _mm512_add_epi32(sum, q);
                word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_and_si512(q, _mm512_set1_epi32(0xFF)), (unsigned)(8 * j)));
            }
            _mm512_storeu_si512(dst + g * 64, word);
        }
        _mm512_storeu_si512(o.sums + c0, sum);
    }
}

TGT_AVX2 void samq_pack_columns_avx2(const float *x, size_t rows, size_t cols, size_t ld, void *out) {
    pc_out o = pc_layout(out, rows, cols);
    const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f), tiny = _mm256_set1_ps(1e-30f);
    float pad[16] = {0};
    for (size_t c0 = 0; c0 < o.Np; c0 += 16) {
        const size_t width = SAMQ_MIN((size_t)16, cols - c0);
        __m256i amax[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (size_t r = 0; r < rows; r++) {
            const float *row = pc_row(x, ld, r, c0, width, pad);
            for (int h = 0; h < 2; h++) {
                __m256i a = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(row + 8 * h)), magnitude);
                a = _mm256_and_si256(a, _mm256_cmpgt_epi32(inf, a)); /* inf, NaN -> 0 */
                amax[h] = _mm256_max_epi32(amax[h], a);
            }
        }
        __m256 inv[2];
        for (int h = 0; h < 2; h++) {
            const __m256 vmax = _mm256_castsi256_ps(amax[h]);
            const __m256 ok = _mm256_cmp_ps(vmax, tiny, _CMP_GE_OQ);
            inv[h] = _mm256_and_ps(ok, _mm256_div_ps(hi, vmax));
            _mm256_storeu_ps(o.scales + c0 + 8 * h, _mm256_and_ps(ok, _mm256_div_ps(vmax, hi)));
        }
        uint8_t *dst = o.panels + (c0 / 16) * o.Kp * 16;
        __m256i sum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (size_t g = 0; g < o.Kp / 4; g++) {
            __m256i word[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
            for (size_t j = 0; j < 4 && g * 4 + j < rows; j++) {
                const float *row = pc_row(x, ld, g * 4 + j, c0, width, pad);
                for (int h = 0; h < 2; h++) {
                    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(row + 8 * h), inv[h]);
                    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
                    __m256i q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
                    sum[h] = _mm256_add_epi32(sum[h], q);
                    word[h] = _mm256_or_si256(word[h], _mm256_slli_epi32(_mm256_and_si256(q, _mm256_set1_epi32(0xFF)), (int)(8 * j)));
                }
            }
            _mm256_storeu_si256((__m256i *)(dst + g * 64), word[0]);
            _mm256_storeu_si256((__m256i *)(dst + g * 64 + 32), word[1]);
        }
        _mm256_storeu_si256((__m256i *)(o.sums + c0), sum[0]);
        _mm256_storeu_si256((__m256i *)(o.sums + c0 + 8), sum[1]);
    }
}
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
void samq_pack_columns_neon(const float *x, size_t rows, size_t cols, size_t ld, void *out) {
    pc_out o = pc_layout(out, rows, cols);
    const uint32x4_t inf = vdupq_n_u32(0x7F800000);
    const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f), tiny = vdupq_n_f32(1e-30f);
    float pad[16] = {0};
    for (size_t c0 = 0; c0 < o.Np; c0 += 16) {
        const size_t width = SAMQ_MIN((size_t)16, cols - c0);
        uint32x4_t amax[4];
        for (int h = 0; h < 4; h++) amax[h] = vdupq_n_u32(0);
        for (size_t r = 0; r < rows; r++) {
            const float *row = pc_row(x, ld, r, c0, width, pad);
            for (int h = 0; h < 4; h++) {
                uint32x4_t a = vreinterpretq_u32_f32(vabsq_f32(vld1q_f32(row + 4 * h)));
                amax[h] = vmaxq_u32(amax[h], vandq_u32(a, vcltq_u32(a, inf))); /* inf, NaN -> 0 */
            }
        }
        float32x4_t inv[4];
        for (int h = 0; h < 4; h++) {
            const float32x4_t vmax = vreinterpretq_f32_u32(amax[h]);
            const uint32x4_t ok = vcgeq_f32(vmax, tiny);
            inv[h] = vreinterpretq_f32_u32(vandq_u32(ok, vreinterpretq_u32_f32(vdivq_f32(hi, vmax))));
            vst1q_f32(o.scales + c0 + 4 * h,
                      vreinterpretq_f32_u32(vandq_u32(ok, vreinterpretq_u32_f32(vdivq_f32(vmax, hi)))));
        }
        uint8_t *dst = o.panels + (c0 / 16) * o.Kp * 16;
        int32x4_t sum[4];
        for (int h = 0; h < 4; h++) sum[h] = vdupq_n_s32(0);
        for (size_t g = 0; g < o.Kp / 4; g++) {
            int32x4_t word[4];
            for (int h = 0; h < 4; h++) word[h] = vdupq_n_s32(0);
            for (size_t j = 0; j < 4 && g * 4 + j < rows; j++) {
                const float *row = pc_row(x, ld, g * 4 + j, c0, width, pad);
                for (int h = 0; h < 4; h++) {
                    float32x4_t v = vmulq_f32(vld1q_f32(row + 4 * h), inv[h]);
                    v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v))); /* NaN -> 0 */
                    int32x4_t q = vcvtnq_s32_f32(vminq_f32(vmaxq_f32(v, lo), hi));
                    sum[h] = vaddq_s32(sum[h], q);
                    word[h] = vorrq_s32(word[h], vshlq_s32(vandq_s32(q, vdupq_n_s32(0xFF)), vdupq_n_s32((int)(8 * j))));
                }
            }
            for (int h = 0; h < 4; h++) vst1q_s32((int32_t *)(dst + g * 64 + 16 * h), word[h]);
        }
        for (int h = 0; h < 4; h++) vst1q_s32(o.sums + c0 + 4 * h, sum[h]);
    }
}
#endif /* SAMQ_ARM64 */
