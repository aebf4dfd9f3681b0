/* Small-window attention with bf16 products (samq_window_attention_bf16,
 * samq_attention.h): the scalar emulation that defines the bits, and the
 * AVX512_BF16 kernel. Same grid addressing and softmax as k_attn.c. */
#include "samq_internal.h"
#include "samq_attention.h"

/* Scratch (32-bit words): Kᵀ as bf16 pairs [ceil(d/2)][np], BF_R rows of
 * scores [np], the same rows' e_j as bf16 pairs [np32/2], V as bf16 pairs
 * [ceil(n/2)][dp], the rows' queries as bf16 pairs [qstride]; np = n
 * rounded up to 16, np32 to 32, dp = d to 16, qstride = ceil(d/2) to 16. */
typedef struct { size_t np, np32, dp, qstride, kt, scores, probs, values, queries, total; } bf16_layout;

#define BF_R 8 /* query rows per group */

static bf16_layout layout(size_t n, size_t d) {
    bf16_layout l;
    l.np = samq_round_up(n, 16), l.np32 = samq_round_up(n, 32), l.dp = samq_round_up(d, 16);
    l.kt = 0;
    l.scores = l.kt + (d + 1) / 2 * l.np;
    l.probs = l.scores + BF_R * l.np;
    l.values = l.probs + BF_R * (l.np32 / 2);
    l.queries = l.values + (n + 1) / 2 * l.dp;
    l.qstride = samq_round_up((d + 1) / 2, 16);
    l.total = l.queries + BF_R * l.qstride;
    return l;
}

size_t samq_window_attention_bf16_scratch(size_t n, size_t head_dim) { return layout(n, head_dim).total; }

static float bf(float x) { return samq_bf16_value(samq_bf16_round(x)); }

#define TOKEN(p, j) ((p) + ((j) / a->cols) * a->row_stride + ((j) % a->cols) * a->ld)

static void attention_bf16_scalar(const samq_window_attention_args *a) {
    const size_t n = a->rows * a->cols, d = a->head_dim;
    float *s = a->scratch;
    for (size_t r = 0; r < a->out_rows; r++)
        for (size_t c = 0; c < a->out_cols; c++) {
            const size_t i = r * a->cols + c;
            const float *q = TOKEN(a->q, i);
            float mx = -FLT_MAX;
            for (size_t j = 0; j < n; j++) {
                const float *k = TOKEN(a->k, j);
                float acc = 0.0f;
                for (size_t t = 0; t < d; t += 2) {
                    /* Past d the pair's high half is zero, and 0·0 is still added (−0 + 0 = +0). */
                    const int odd = t + 1 < d;
                    acc = samq_ftz(fmaf(odd ? bf(q[t + 1]) : 0.0f, odd ? bf(k[t + 1] * a->scale) : 0.0f, acc));
                    acc = samq_ftz(fmaf(bf(q[t]), bf(k[t] * a->scale), acc));
                }
                float x = acc;
                if (a->bias) x = x + a->bias[i * n + j];
                s[j] = x;
                mx = x > mx ? x : mx;
            }
            float lanes[16] = {0};
            for (size_t j = 0; j < n; j++) {
                s[j] = samq_exp_fast_ref(s[j] - mx);
                lanes[j % 16] = lanes[j % 16] + s[j];
            }
            float sum = lanes[0];
            for (int l = 1; l < 16; l++) sum = sum + lanes[l];
            const float inv = 1.0f / sum;
            float *o = a->out + r * a->out_row_stride + c * a->out_ld;
            for (size_t t = 0; t < d; t++) {
                float acc = 0.0f;
                for (size_t j = 0; j < n; j += 2) {
                    const int odd = j + 1 < n;
                    acc = samq_ftz(fmaf(odd ? bf(s[j + 1]) : 0.0f, odd ? bf(TOKEN(a->v, j + 1)[t]) : 0.0f, acc));
                    acc = samq_ftz(fmaf(bf(s[j]), bf(TOKEN(a->v, j)[t]), acc));
                }
                o[t] = acc * inv;
            }
        }
}

#if defined(SAMQ_X86)
#include "samq_simd.h"

#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16,avx2,fma")))

/* Lanes [lo, lo + 16) of a run of `count` values, zero past it. */
TGT_BF16 INLINE __mmask16 lanes_from(size_t lo, size_t count) {
    return lo >= count ? 0 : count - lo >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (count - lo)) - 1);
}

/* 32 values from x (zero past count) as 16 bf16 pairs, x[0] in the low half. */
TGT_BF16 INLINE __m512 pairs32(const float *x, size_t count, __m512 scale) {
    __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes_from(0, count), x), scale);
    __m512 hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes_from(16, count), x + 16), scale);
    return (__m512)_mm512_cvtne2ps_pbh(hi, lo);
}

TGT_BF16 static void attention_bf16_512(const samq_window_attention_args *a) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim, pairs = (d + 1) / 2;
    const bf16_layout l = layout(n, d);
    uint32_t *kt = (uint32_t *)a->scratch + l.kt, *pr = (uint32_t *)a->scratch + l.probs;
    uint32_t *vp = (uint32_t *)a->scratch + l.values, *qp = (uint32_t *)a->scratch + l.queries;
    float *sc = a->scratch + l.scores;
    const __m512 one = _mm512_set1_ps(1.0f), scale = _mm512_set1_ps(a->scale);
    /* Kᵀ·scale as pairs, 16 keys at a time through a register transpose. */
    for (size_t j0 = 0; j0 < l.np; j0 += 16) {
        for (size_t t0 = 0; t0 < d; t0 += 32) {
            __m512 r[16];
            for (size_t i = 0; i < 16; i++)
                r[i] = j0 + i < n ? pairs32(TOKEN(a->k, j0 + i) + t0, d - t0, scale) : _mm512_setzero_ps();
            size_t left = pairs - t0 / 2;
            transpose16_store_512(r, (float *)(kt + (t0 / 2) * l.np + j0), l.np, left < 16 ? (int)left : 16);
        }
    }
    /* V as key pairs: word (jp, t) holds v[2jp][t] low, v[2jp+1][t] high. */
    for (size_t jp = 0; jp < (n + 1) / 2; jp++)
        for (size_t t0 = 0; t0 < l.dp; t0 += 16) {
            __mmask16 m = lanes_from(t0, d);
            __m512 lo = _mm512_maskz_loadu_ps(m, TOKEN(a->v, 2 * jp) + t0);
            __m512 hi = 2 * jp + 1 < n ? _mm512_maskz_loadu_ps(m, TOKEN(a->v, 2 * jp + 1) + t0) : _mm512_setzero_ps();
            __m512i wl = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
            __m512i wh = _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi)), 16);
            _mm512_storeu_si512((void *)(vp + jp * l.dp + t0), _mm512_or_si512(wl, wh));
        }
    size_t qi[BF_R], r0 = 0, c0 = 0;
    while (r0 < a->out_rows) {
        size_t m = 0;
        while (m < BF_R && r0 < a->out_rows) {
            qi[m++] = r0 * cols + c0;
            if (++c0 == a->out_cols) c0 = 0, r0++;
        }
        float inv[BF_R];
        /* The group's query rows as bf16 pairs (0 past d). */
        for (size_t r = 0; r < BF_R; r++) {
            const float *q = TOKEN(a->q, qi[r < m ? r : m - 1]);
            for (size_t p0 = 0; p0 < pairs; p0 += 16)
                _mm512_storeu_ps((float *)(qp + r * l.qstride + p0), pairs32(q + 2 * p0, d - 2 * p0, one));
        }
        /* Scores plus bias, 32 keys per pass, and each row's running max. */
        __m512 vmax[BF_R];
        for (int r = 0; r < BF_R; r++) vmax[r] = _mm512_set1_ps(-FLT_MAX);
        for (size_t jb = 0; jb < l.np; jb += 32) {
            const int w2 = jb + 16 < l.np;
            __m512 acc[BF_R][2];
            for (int r = 0; r < BF_R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
            for (size_t p = 0; p < pairs; p++) {
                const uint32_t *krow = kt + p * l.np + jb;
                __m512bh k0 = (__m512bh)_mm512_loadu_ps((const float *)krow);
                __m512bh k1 = w2 ? (__m512bh)_mm512_loadu_ps((const float *)krow + 16) : k0;
                for (int r = 0; r < BF_R; r++) {
                    __m512bh qb = (__m512bh)_mm512_set1_epi32((int)qp[r * l.qstride + p]);
                    acc[r][0] = _mm512_dpbf16_ps(acc[r][0], qb, k0);
                    acc[r][1] = _mm512_dpbf16_ps(acc[r][1], qb, k1);
                }
            }
            const __mmask16 m0 = lanes_from(jb, n), m1 = lanes_from(jb + 16, n);
            for (size_t r = 0; r < m; r++) {
                __m512 x0 = acc[r][0], x1 = acc[r][1];
                if (a->bias) {
                    const float *b = a->bias + qi[r] * n + jb;
                    x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, b));
                    x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, b + 16));
                }
                _mm512_storeu_ps(sc + r * l.np + jb, x0);
                vmax[r] = _mm512_mask_max_ps(vmax[r], m0, vmax[r], x0);
                if (w2) {
                    _mm512_storeu_ps(sc + r * l.np + jb + 16, x1);
                    vmax[r] = _mm512_mask_max_ps(vmax[r], m1, vmax[r], x1);
                }
            }
        }
        /* Softmax numerators (zero past n) straight to bf16 pairs, with their lane sums. */
        for (size_t r = 0; r < m; r++) {
            const float *s = sc + r * l.np;
            const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(vmax[r]));
            __m512 vsum = _mm512_setzero_ps();
            for (size_t j = 0; j < n; j += 32) {
                const __mmask16 m0 = lanes_from(j, n), m1 = lanes_from(j + 16, n);
                __m512 e0 = _mm512_maskz_mov_ps(m0, exp_fast_512(_mm512_sub_ps(_mm512_loadu_ps(s + j), vm)));
                vsum = _mm512_add_ps(vsum, e0);
                __m512 e1 = _mm512_setzero_ps();
                if (m1) {
                    e1 = _mm512_maskz_mov_ps(m1, exp_fast_512(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), vm)));
                    vsum = _mm512_add_ps(vsum, e1);
                }
                _mm512_storeu_ps((float *)(pr + r * (l.np32 / 2) + j / 2), (__m512)_mm512_cvtne2ps_pbh(e1, e0));
            }
            float lanes[16];
            _mm512_storeu_ps(lanes, vsum);
            float sum = lanes[0];
            for (int k = 1; k < 16; k++) sum = sum + lanes[k];
            inv[r] = 1.0f / sum;
        }
        /* P·V, 16 channels per vector, key pairs along the sum. */
        for (size_t t0 = 0; t0 < d; t0 += 32) {
            const int w2 = t0 + 16 < d;
            __m512 acc[BF_R][2];
            for (int r = 0; r < BF_R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
            for (size_t jp = 0; jp < (n + 1) / 2; jp++) {
                const uint32_t *vrow = vp + jp * l.dp + t0;
                __m512bh v0 = (__m512bh)_mm512_loadu_ps((const float *)vrow);
                __m512bh v1 = w2 ? (__m512bh)_mm512_loadu_ps((const float *)vrow + 16) : v0;
                for (int r = 0; r < BF_R; r++) {
                    __m512bh pb = (__m512bh)_mm512_set1_epi32((int)pr[(r < (int)m ? (size_t)r : m - 1) * (l.np32 / 2) + jp]);
                    acc[r][0] = _mm512_dpbf16_ps(acc[r][0], pb, v0);
                    acc[r][1] = _mm512_dpbf16_ps(acc[r][1], pb, v1);
                }
            }
            for (size_t r = 0; r < m; r++) {
                float *o = a->out + (qi[r] / cols) * a->out_row_stride + (qi[r] % cols) * a->out_ld + t0;
                const __m512 vi = _mm512_set1_ps(inv[r]);
                _mm512_mask_storeu_ps(o, lanes_from(t0, d), _mm512_mul_ps(acc[r][0], vi));
                if (w2) _mm512_mask_storeu_ps(o + 16, lanes_from(t0 + 16, d), _mm512_mul_ps(acc[r][1], vi));
            }
        }
    }
}
#endif /* SAMQ_X86 */

int samq_window_attention_bf16(samq_isa isa, const samq_window_attention_args *a) {
    int check = samq_window_attention_check(isa, a);
    if (check != 0) return check < 0 ? -1 : 0;
#if defined(SAMQ_X86)
    if (samq_bf16_native(isa)) {
        attention_bf16_512(a);
        return 0;
    }
#endif
    attention_bf16_scalar(a);
    return 0;
}
