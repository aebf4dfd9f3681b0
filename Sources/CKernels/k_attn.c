/* Small-window f32 attention (samq_attention.h): the scalar reference, the
 * dispatcher, and the SIMD kernels instantiated from k_attn_body.h per ISA. */
#include "samq_internal.h"
#include "samq_simd.h"
#include "samq_attention.h"
#include <float.h>

/* Scratch: K^T [d][np] + 8 score rows [np] (np = n rounded up to 16), or
 * what samq_window_attention_bf16 needs if that is more. */
size_t samq_window_attention_scratch(size_t n, size_t head_dim) {
    size_t f32 = (head_dim + 8) * samq_round_up(n, 16), bf16 = samq_window_attention_bf16_scratch(n, head_dim);
    return f32 > bf16 ? f32 : bf16;
}

static void samq_window_attention_scalar(const samq_window_attention_args *a) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim;
    float *s = a->scratch;
#define AT_TOKEN(p, j) ((p) + ((j) / cols) * a->row_stride + ((j) % cols) * a->ld)
    for (size_t r = 0; r < a->out_rows; r++)
        for (size_t c = 0; c < a->out_cols; c++) {
            const size_t i = r * cols + c;
            const float *q = AT_TOKEN(a->q, i);
            float mx = -FLT_MAX;
            for (size_t j = 0; j < n; j++) {
                const float *k = AT_TOKEN(a->k, j);
                float acc = 0.0f;
                for (size_t t = 0; t < d; t++) acc = acc + q[t] * (k[t] * a->scale);
                float x = acc;
                if (a->bias) x = x + a->bias[i * n + j];
                s[j] = x;
                mx = x > mx ? x : mx;
            }
            float sum = 0.0f;
            for (size_t j = 0; j < n; j++) {
                s[j] = samq_exp_ref(s[j] - mx);
                sum = sum + s[j];
            }
            const float inv = 1.0f / sum;
            float *o = a->out + r * a->out_row_stride + c * a->out_ld;
            for (size_t t = 0; t < d; t++) {
                float acc = 0.0f;
                for (size_t j = 0; j < n; j++) acc = acc + s[j] * AT_TOKEN(a->v, j)[t];
                o[t] = acc * inv;
            }
        }
#undef AT_TOKEN
}

#define AT_CAT_(a, b) a##b
#define AT_CAT(a, b) AT_CAT_(a, b)

#if defined(SAMQ_X86)
TGT_AVX2 INLINE float hmax_avx2(__m256 v) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}
TGT_AVX2 INLINE float hsum_avx2(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

#define AT_NAME samq_window_attention_avx2
#define AT_TGT TGT_AVX2
#define AT_V __m256
#define AT_N 8
#define AT_LD(p) _mm256_loadu_ps(p)
#define AT_ST(p, v) _mm256_storeu_ps((p), (v))
#define AT_DUP(f) _mm256_set1_ps(f)
#define AT_ZERO _mm256_setzero_ps()
#define AT_ADD(a, b) _mm256_add_ps((a), (b))
#define AT_SUB(a, b) _mm256_sub_ps((a), (b))
#define AT_MUL(a, b) _mm256_mul_ps((a), (b))
#define AT_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define AT_MAX(a, b) _mm256_max_ps((a), (b))
#define AT_EXP(v) exp_fast_avx2(v)
#define AT_HMAX(v) hmax_avx2(v)
#define AT_HSUM(v) hsum_avx2(v)
#include "k_attn_body.h"
#undef AT_NAME
#undef AT_TGT
#undef AT_V
#undef AT_N
#undef AT_LD
#undef AT_ST
#undef AT_DUP
#undef AT_ZERO
#undef AT_ADD
#undef AT_SUB
#undef AT_MUL
#undef AT_FMA
#undef AT_MAX
#undef AT_EXP
#undef AT_HMAX
#undef AT_HSUM



/* 16 keys x 16 channels (times scale) transposed in registers: Kᵀ without
 * scalar stores (they were a sixth of the kernel with 49-key windows). */
TGT_512 INLINE void kt16_512(const float *const kp[16], size_t t0, float scale, float *dst, size_t np) {
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_mul_ps(_mm512_loadu_ps(kp[i] + t0), vs);
    transpose16_store_512(r, dst, np, 16);
}

#define AT_KT16(kp, t0, scale, dst, np) kt16_512((kp), (t0), (scale), (dst), (np))
#define AT_W 2
#define AT_NAME samq_window_attention_avx512
#define AT_TGT TGT_512
#define AT_V __m512
#define AT_N 16
#define AT_LD(p) _mm512_loadu_ps(p)
#define AT_ST(p, v) _mm512_storeu_ps((p), (v))
#define AT_DUP(f) _mm512_set1_ps(f)
#define AT_ZERO _mm512_setzero_ps()
#define AT_ADD(a, b) _mm512_add_ps((a), (b))
#define AT_SUB(a, b) _mm512_sub_ps((a), (b))
#define AT_MUL(a, b) _mm512_mul_ps((a), (b))
#define AT_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define AT_MAX(a, b) _mm512_max_ps((a), (b))
#define AT_EXP(v) exp_fast_512(v)
#define AT_HMAX(v) _mm512_reduce_max_ps(v)
#define AT_HSUM(v) _mm512_reduce_add_ps(v)
#include "k_attn_body.h"
#endif /* SAMQ_X86 */

#if defined(SAMQ_ARM64)
/* Degree-6 Taylor with fused multiply-adds, like the x86 kernels. */
INLINE float32x4_t exp_neon(float32x4_t z) {
    const float32x4_t one = vdupq_n_f32(1.0f), zmin = vdupq_n_f32(SAMQ_EXP_ZMIN);
    z = vbslq_f32(vcgtq_f32(z, zmin), z, zmin);
    float32x4_t n = vrndnq_f32(vmulq_f32(z, vdupq_n_f32(SAMQ_EXP_LOG2E)));
    float32x4_t r = vfmsq_f32(z, n, vdupq_n_f32(SAMQ_EXP_LN2HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(SAMQ_EXP_LN2LO));
    float32x4_t p = vdupq_n_f32(SAMQ_EXP_C6);
    p = vfmaq_f32(vdupq_n_f32(SAMQ_EXP_C5), p, r);
    p = vfmaq_f32(vdupq_n_f32(SAMQ_EXP_C4), p, r);
    p = vfmaq_f32(vdupq_n_f32(SAMQ_EXP_C3), p, r);
    p = vfmaq_f32(vdupq_n_f32(SAMQ_EXP_C2), p, r);
    p = vfmaq_f32(one, p, r);
    p = vfmaq_f32(one, p, r);
    int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(bits));
}

#define AT_W 2
#define AT_NAME samq_window_attention_neon
#define AT_TGT
#define AT_V float32x4_t
#define AT_N 4
#define AT_LD(p) vld1q_f32(p)
#define AT_ST(p, v) vst1q_f32((p), (v))
#define AT_DUP(f) vdupq_n_f32(f)
#define AT_ZERO vdupq_n_f32(0.0f)
#define AT_ADD(a, b) vaddq_f32((a), (b))
#define AT_SUB(a, b) vsubq_f32((a), (b))
#define AT_MUL(a, b) vmulq_f32((a), (b))
#define AT_FMA(a, b, c) vfmaq_f32((c), (a), (b))
#define AT_MAX(a, b) vmaxq_f32((a), (b))
#define AT_EXP(v) exp_neon(v)
#define AT_HMAX(v) vmaxvq_f32(v)
#define AT_HSUM(v) vaddvq_f32(v)
#include "k_attn_body.h"
#endif /* SAMQ_ARM64 */

int samq_window_attention_check(samq_isa isa, const samq_window_attention_args *a) {
    if (!a || !samq_isa_supported(isa)) return -1;
    if (a->out_rows > a->rows || a->out_cols > a->cols) return -1;
    if (a->out_rows == 0 || a->out_cols == 0 || a->head_dim == 0) return 1;
    if (!a->q || !a->k || !a->v || !a->out || !a->scratch) return -1;
    if ((a->cols > 1 && a->ld < a->head_dim) || (a->out_cols > 1 && a->out_ld < a->head_dim)) return -1;
    return 0;
}

int samq_window_attention(samq_isa isa, const samq_window_attention_args *a) {
    int check = samq_window_attention_check(isa, a);
    if (check != 0) return check < 0 ? -1 : 0;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_window_attention_avx2(a); return 0;
    case SAMQ_VEC_AVX512: samq_window_attention_avx512(a); return 0;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_window_attention_neon(a); return 0;
#endif
    default: samq_window_attention_scalar(a); return 0;
    }
}
