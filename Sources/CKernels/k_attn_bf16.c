/* Small-window attention with bf16 products (samq_window_attention_bf16,
 * samq_attention.h): the scalar emulation that defines the bits, and the
 * AVX512_BF16 kernel. Same grid addressing and softmax as k_attn.c. */
#include "samq_internal.h"
#include "samq_attention.h"

/* Scratch (32-bit words), sized for BF_ROWS query rows per group (the AMX
 * kernel's 16; the AVX-512 kernel uses the first BF_R of each row block):
 * Kᵀ as bf16 pairs [kt_rows][np], the group's scores [np], its e_j as bf16
 * pairs [np32/2], V as bf16 pairs [np32/2][dp], its queries as bf16 pairs
 * [qstride]; np = n rounded up to 16, np32 to 32, dp = d to 16, qstride =
 * ceil(d/2) to 16, kt_rows likewise (the score rows are at least 48 wide). Pair rows past the data are zero, so
 * whole 16-row AMX tiles read zeros there. */
typedef struct { size_t np, np32, dp, qstride, kt_rows, kt, scores, probs, values, queries, total; } bf16_layout;

#define BF_R 8     /* query rows per group, AVX-512 kernel */
#define BF_ROWS 16 /* query rows per group, AMX kernel (one tile) */

static bf16_layout layout(size_t n, size_t d) {
    bf16_layout l;
    l.np = samq_round_up(n, 16), l.np32 = samq_round_up(n, 32), l.dp = samq_round_up(d, 16);
    l.qstride = samq_round_up((d + 1) / 2, 16), l.kt_rows = l.qstride;
    l.kt = 0;
    l.scores = l.kt + l.kt_rows * l.np;
    /* The AMX kernel also lands its P·V tiles here, 16 rows of 48 floats. */
    l.probs = l.scores + BF_ROWS * SAMQ_MAX(l.np, (size_t)48);
    l.values = l.probs + BF_ROWS * (l.np32 / 2);
    l.queries = l.values + l.np32 / 2 * l.dp;
    l.total = l.queries + BF_ROWS * l.qstride;
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

/* Kᵀ·scale as pairs, 16 keys at a time through a register transpose; pair
 * rows [ceil(d/2), kt_rows) zero. */
TGT_BF16 static void pack_keys(const samq_window_attention_args *a, const bf16_layout *l, uint32_t *kt) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim, pairs = (d + 1) / 2;
    const __m512 scale = _mm512_set1_ps(a->scale);
    for (size_t j0 = 0; j0 < l->np; j0 += 16) {
        for (size_t t0 = 0; t0 < d; t0 += 32) {
            __m512 r[16];
            for (size_t i = 0; i < 16; i++)
                r[i] = j0 + i < n ? pairs32(TOKEN(a->k, j0 + i) + t0, d - t0, scale) : _mm512_setzero_ps();
            size_t left = pairs - t0 / 2;
            transpose16_store_512(r, (float *)(kt + (t0 / 2) * l->np + j0), l->np, left < 16 ? (int)left : 16);
        }
    }
    memset(kt + pairs * l->np, 0, (l->kt_rows - pairs) * l->np * sizeof(uint32_t));
}

/* V as key pairs: word (jp, t) holds v[2jp][t] low, v[2jp+1][t] high; pair
 * rows [ceil(n/2), np32/2) zero. */
TGT_BF16 static void pack_values(const samq_window_attention_args *a, const bf16_layout *l, uint32_t *vp) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim;
    for (size_t jp = 0; jp < (n + 1) / 2; jp++)
        for (size_t t0 = 0; t0 < l->dp; t0 += 16) {
            __mmask16 m = lanes_from(t0, d);
            __m512 lo = _mm512_maskz_loadu_ps(m, TOKEN(a->v, 2 * jp) + t0);
            __m512 hi = 2 * jp + 1 < n ? _mm512_maskz_loadu_ps(m, TOKEN(a->v, 2 * jp + 1) + t0) : _mm512_setzero_ps();
            __m512i wl = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
            __m512i wh = _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi)), 16);
            _mm512_storeu_si512((void *)(vp + jp * l->dp + t0), _mm512_or_si512(wl, wh));
        }
    const size_t filled = (n + 1) / 2;
    memset(vp + filled * l->dp, 0, (l->np32 / 2 - filled) * l->dp * sizeof(uint32_t));
}

/* The next `rows` query tokens in raster order of the output grid (the last
 * one repeated past the end); returns how many are real. */
static size_t next_group(const samq_window_attention_args *a, size_t *r0, size_t *c0, size_t *qi, size_t rows) {
    size_t m = 0;
    while (m < rows && *r0 < a->out_rows) {
        qi[m++] = *r0 * a->cols + *c0;
        if (++*c0 == a->out_cols) *c0 = 0, ++*r0;
    }
    for (size_t r = m; r < rows; r++) qi[r] = qi[m - 1];
    return m;
}

/* The group's query rows as bf16 pairs (0 past d). */
TGT_BF16 static void pack_queries(const samq_window_attention_args *a, const bf16_layout *l, const size_t *qi,
                                  size_t rows, uint32_t *qp) {
    const size_t d = a->head_dim, pairs = (d + 1) / 2;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t r = 0; r < rows; r++) {
        const float *q = TOKEN(a->q, qi[r]);
        for (size_t p0 = 0; p0 < pairs; p0 += 16)
            _mm512_storeu_ps((float *)(qp + r * l->qstride + p0), pairs32(q + 2 * p0, d - 2 * p0, one));
    }
}

/* Softmax numerators of one score row (zero past n, up to np32) straight to
 * bf16 pairs; returns 1 / their sum, summed as the emulation does. */
TGT_BF16 static float softmax_pairs(const float *s, size_t n, float max, uint32_t *pairs) {
    const __m512 vm = _mm512_set1_ps(max);
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
        _mm512_storeu_ps((float *)(pairs + j / 2), (__m512)_mm512_cvtne2ps_pbh(e1, e0));
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, vsum);
    float sum = lanes[0];
    for (int k = 1; k < 16; k++) sum = sum + lanes[k];
    return 1.0f / sum;
}

TGT_BF16 static void attention_bf16_512(const samq_window_attention_args *a) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim, pairs = (d + 1) / 2;
    const bf16_layout l = layout(n, d);
    uint32_t *kt = (uint32_t *)a->scratch + l.kt, *pr = (uint32_t *)a->scratch + l.probs;
    uint32_t *vp = (uint32_t *)a->scratch + l.values, *qp = (uint32_t *)a->scratch + l.queries;
    float *sc = a->scratch + l.scores;
    pack_keys(a, &l, kt);
    pack_values(a, &l, vp);
    size_t qi[BF_R], r0 = 0, c0 = 0;
    while (r0 < a->out_rows) {
        const size_t m = next_group(a, &r0, &c0, qi, BF_R);
        float inv[BF_R];
        pack_queries(a, &l, qi, BF_R, qp);
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
        for (size_t r = 0; r < m; r++)
            inv[r] = softmax_pairs(sc + r * l.np, n, _mm512_reduce_max_ps(vmax[r]), pr + r * (l.np32 / 2));
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

#define TGT_AMX_BF16 __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16,avx2,fma")))

/* C[16 x 16·blocks] = A · B on tiles, `blocks` (1-3) column blocks at once:
 * their tdpbf16ps are independent, so the tile unit is not waiting on one
 * accumulator's latency (one block at a time measured ~1.15x slower on
 * 7x7 windows). A: 16 rows of `steps` 64-byte k-steps (row stride lda); B:
 * `steps` blocks of 16 pair rows (b_step bytes apart, row stride ldb), the
 * column blocks 64 bytes apart; C: rows ldc bytes apart. Bytes throughout. */
TGT_AMX_BF16 INLINE void tile_product(int blocks, const void *a, size_t lda, const void *b, size_t ldb,
                                      size_t b_step, size_t steps, float *c, size_t ldc) {
    const char *pa = (const char *)a, *pb = (const char *)b;
    _tile_zero(0);
    if (blocks > 1) _tile_zero(1);
    if (blocks > 2) _tile_zero(2);
    for (size_t s = 0; s < steps; s++, pa += 64, pb += b_step) {
        _tile_loadd(3, pa, lda);
        _tile_loadd(4, pb, ldb);
        _tile_dpbf16ps(0, 3, 4);
        if (blocks > 1) {
            _tile_loadd(5, pb + 64, ldb);
            _tile_dpbf16ps(1, 3, 5);
        }
        if (blocks > 2) {
            _tile_loadd(6, pb + 128, ldb);
            _tile_dpbf16ps(2, 3, 6);
        }
    }
    _tile_stored(0, c, ldc);
    if (blocks > 1) _tile_stored(1, c + 16, ldc);
    if (blocks > 2) _tile_stored(2, c + 32, ldc);
}

/* The same attention with both products on AMX tiles (tdpbf16ps), 16 query
 * rows per group. Not the emulation's bits: the tile unit's f32 sums of the
 * bf16 products round differently from vdpbf16ps' two chained fused steps
 * (measured: ~64% of outputs differ in the last bits), so it agrees with the
 * emulation to f32 rounding of the sums, like the f32 kernels across ISAs.
 * It is deterministic: the same inputs give the same bits. */
TGT_AMX_BF16 static void attention_bf16_amx(const samq_window_attention_args *a) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim;
    const bf16_layout l = layout(n, d);
    uint32_t *kt = (uint32_t *)a->scratch + l.kt, *pr = (uint32_t *)a->scratch + l.probs;
    uint32_t *vp = (uint32_t *)a->scratch + l.values, *qp = (uint32_t *)a->scratch + l.queries;
    float *sc = a->scratch + l.scores;
    samq_amx_configure_square();
    pack_keys(a, &l, kt);
    pack_values(a, &l, vp);
    const size_t ksteps = l.kt_rows / 16, psteps = l.np32 / 32, pstride = l.np32 / 2;
    size_t qi[BF_ROWS], r0 = 0, c0 = 0;
    while (r0 < a->out_rows) {
        const size_t m = next_group(a, &r0, &c0, qi, BF_ROWS);
        pack_queries(a, &l, qi, m, qp);
        memset(qp + m * l.qstride, 0, (BF_ROWS - m) * l.qstride * sizeof(uint32_t));
        /* Scores: 16 rows × up to 48 keys per pass, over the pair rows of Kᵀ. */
        for (size_t jb = 0; jb < l.np; jb += 48) {
            const int blocks = (int)SAMQ_MIN((size_t)3, (l.np - jb) / 16);
            tile_product(blocks, qp, l.qstride * 4, kt + jb, l.np * 4, 16 * l.np * 4, ksteps, sc + jb, l.np * 4);
        }
        /* Bias, max and softmax per row. Rows past m (the last group of a
         * window) get zero queries above and zero probabilities here instead:
         * a tile row's products depend on that row alone, and their outputs
         * are never stored. */
        float inv[BF_ROWS];
        memset(pr + m * pstride, 0, (BF_ROWS - m) * pstride * sizeof(uint32_t));
        for (size_t r = 0; r < m; r++) {
            float *s = sc + r * l.np;
            const float *b = a->bias ? a->bias + qi[r] * n : NULL;
            __m512 vmax = _mm512_set1_ps(-FLT_MAX);
            for (size_t j = 0; j < n; j += 16) {
                const __mmask16 mj = lanes_from(j, n);
                __m512 x = _mm512_loadu_ps(s + j);
                if (b) {
                    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mj, b + j));
                    _mm512_storeu_ps(s + j, x);
                }
                vmax = _mm512_mask_max_ps(vmax, mj, vmax, x);
            }
            inv[r] = softmax_pairs(s, n, _mm512_reduce_max_ps(vmax), pr + r * pstride);
        }
        /* P·V: 16 rows × up to 48 channels per pass, over the key pairs; the
         * products land in the (consumed) score rows, 48 floats apart. */
        for (size_t t0 = 0; t0 < d; t0 += 48) {
            const int blocks = (int)SAMQ_MIN((size_t)3, (l.dp - t0) / 16);
            tile_product(blocks, pr, pstride * 4, vp + t0, l.dp * 4, 16 * l.dp * 4, psteps, sc, 48 * 4);
            for (size_t r = 0; r < m; r++) {
                float *o = a->out + (qi[r] / cols) * a->out_row_stride + (qi[r] % cols) * a->out_ld + t0;
                const __m512 vi = _mm512_set1_ps(inv[r]);
                for (int b = 0; b < blocks; b++)
                    _mm512_mask_storeu_ps(o + 16 * b, lanes_from(t0 + 16 * b, d),
                                          _mm512_mul_ps(_mm512_loadu_ps(sc + r * 48 + 16 * b), vi));
            }
        }
    }
    /* As samq_gemm_amx: an idle thread's tile state is then not saved on
     * every context switch. */
    _tile_release();
}
#endif /* SAMQ_X86 */

int samq_window_attention_bf16_tiles(samq_isa isa) {
#if defined(SAMQ_X86)
    return isa == SAMQ_ISA_AMX && samq_isa_supported(isa) && samq_amx_bf16_usable();
#else
    (void)isa;
    return 0;
#endif
}

int samq_window_attention_bf16(samq_isa isa, const samq_window_attention_args *a) {
    int check = samq_window_attention_check(isa, a);
    if (check != 0) return check < 0 ? -1 : 0;
#if defined(SAMQ_X86)
    if (samq_window_attention_bf16_tiles(isa)) {
        attention_bf16_amx(a);
        return 0;
    }
    if (samq_bf16_native(isa)) {
        attention_bf16_512(a);
        return 0;
    }
#endif
    attention_bf16_scalar(a);
    return 0;
}
