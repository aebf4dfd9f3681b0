/* x86_64 kernels: AVX2(+FMA) and AVX-512 (F/BW/VNNI).
 * Function-level target attributes let this file build with any x86_64
 * gcc/clang without global -m flags; dispatch.c only calls in here after
 * checking CPUID. */
#include "samq_internal.h"

#if defined(SAMQ_X86)
#include "samq_simd.h"
#include <float.h>

/* Column block of the int8 GEMM: its packed weights (Kp*256 bytes, 192 KiB
 * at K=768) stay in L2 while every row tile of the range sweeps over it. */
#define I8_NBLK 256
/* Column block of the f32 GEMM. */
#define F32_NBLK 64

/* ===================================================================== */
/* AVX2                                                                   */
/* ===================================================================== */

TGT_AVX2 static void epi_i32_avx2(const int32_t *acc, size_t n, float rs, const float *cs, const float *bias,
                                  const float *res, float *out, uint32_t flags) {
    size_t j = 0;
    __m256 vrs = _mm256_set1_ps(rs);
    for (; j + 8 <= n; j += 8) {
        __m256 s = _mm256_mul_ps(vrs, _mm256_loadu_ps(cs + j));
        __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + j))), s);
        if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + j));
        if (flags & SAMQ_GEMM_GELU) y = gelu_avx2(y);
        if (res) y = _mm256_add_ps(y, _mm256_loadu_ps(res + j));
        _mm256_storeu_ps(out + j, y);
    }
    if (j < n)
        samq_epi_i32_scalar(acc + j, n - j, rs, cs + j, bias ? bias + j : NULL, res ? res + j : NULL, out + j,
                            flags);
}

TGT_AVX2 static void epi_f32_avx2(const float *acc, size_t n, const float *bias, const float *res, float *out,
                                  uint32_t flags) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 y = _mm256_loadu_ps(acc + j);
        if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + j));
        if (flags & SAMQ_SGEMM_GELU) y = gelu_avx2(y);
        if (res) y = _mm256_add_ps(y, _mm256_loadu_ps(res + j));
        _mm256_storeu_ps(out + j, y);
    }
    if (j < n) samq_epi_f32_scalar(acc + j, n - j, bias ? bias + j : NULL, res ? res + j : NULL, out + j, flags);
}

TGT_AVX2 void samq_quantize_avx2(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq,
                                 float *rs) {
    size_t zend = SAMQ_MIN(samq_round_up(K, 8), ldq);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 fmax = _mm256_set1_ps(FLT_MAX);
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        int8_t *qr = q + m * ldq;
        __m256 vmax = _mm256_setzero_ps();
        size_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 a = _mm256_and_ps(_mm256_loadu_ps(xr + k), absmask);
            __m256 fin = _mm256_cmp_ps(a, fmax, _CMP_LE_OQ); /* false for NaN and inf */
            vmax = _mm256_max_ps(vmax, _mm256_and_ps(a, fin));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float amax = _mm_cvtss_f32(h);
        for (; k < K; k++) {
            float a = fabsf(xr[k]);
            if (a <= FLT_MAX && a > amax) amax = a;
        }
        if (!(amax >= 1e-30f)) {
            rs[m] = 0.0f;
            memset(qr, 0, zend);
            continue;
        }
        float inv = 127.0f / amax;
        __m256 vinv = _mm256_set1_ps(inv);
        const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
        for (k = 0; k + 8 <= K; k += 8) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xr + k), vinv);
            v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
            __m256i i = _mm256_cvtps_epi32(v); /* nearest-even (default MXCSR) */
            __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
            _mm_storel_epi64((__m128i *)(qr + k), _mm_packs_epi16(w, w));
        }
        for (; k < K; k++) {
            float v = xr[k] * inv;
            if (v != v) v = 0.0f;
            if (v > 127.0f) v = 127.0f;
            if (v < -127.0f) v = -127.0f;
            qr[k] = (int8_t)lrintf(v);
        }
        for (k = K; k < zend; k++) qr[k] = 0;
        rs[m] = amax / 127.0f;
    }
}

/* 4 rows x 16 columns. vpmaddubsw multiplies u8 x s8 and saturates pair sums
 * at int16; with a+128 a pair can reach 2*255*127 and saturate. Moving the
 * sign of a onto w (|a| x sign(w,a)) keeps every pair within 2*127*127 =
 * 32258, so the int16 stage is exact, and vpmaddwd by 1 widens it. */
#define AVX2_MR SAMQ_AVX2_MR
TGT_AVX2 INLINE void avx2_tile(const int8_t *a0, size_t lda, size_t mr, const int8_t *w, size_t G,
                               int32_t *out, size_t ldo) {
    const int8_t *ar[AVX2_MR];
    for (size_t r = 0; r < AVX2_MR; r++) ar[r] = a0 + (r < mr ? r : mr - 1) * lda;
    __m256i acc[AVX2_MR][2];
    for (int r = 0; r < AVX2_MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t g = 0; g < G; g++) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + g * 64));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(w + g * 64 + 32));
        for (int r = 0; r < AVX2_MR; r++) {
            __m256i a = _mm256_set1_epi32(samq_load_i32(ar[r] + g * 4));
            __m256i ua = _mm256_abs_epi8(a);
            __m256i p0 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w0, a));
            __m256i p1 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w1, a));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        }
    }
    for (size_t r = 0; r < mr; r++) {
        _mm256_storeu_si256((__m256i *)(out + r * ldo), acc[r][0]);
        _mm256_storeu_si256((__m256i *)(out + r * ldo + 8), acc[r][1]);
    }
}

TGT_AVX2 void samq_gemm_avx2(const samq_gemm_args *a) {
    samq_packed_view v = samq_view(a->packed_w, a->N, a->K);
    size_t G = v.Kp / 4, pstride = v.Kp * 16;
    int32_t tmp[AVX2_MR * I8_NBLK];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += I8_NBLK) {
        size_t ne = SAMQ_MIN(nb + I8_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += AVX2_MR) {
            size_t mr = SAMQ_MIN((size_t)AVX2_MR, a->m_end - m);
            const int8_t *am = a->A + m * a->lda;
            for (size_t n = nb; n < ne; n += 16)
                avx2_tile(am, a->lda, mr, v.panels + (n / 16) * pstride, G, tmp + (n - nb), I8_NBLK);
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                if (a->flags & SAMQ_GEMM_RAW_I32)
                    memcpy(a->C_i32 + row * a->ldc + nb, tmp + r * I8_NBLK, width * 4);
                else
                    epi_i32_avx2(tmp + r * I8_NBLK, width, a->row_scale[row], v.scales + nb,
                                 a->bias ? a->bias + nb : NULL,
                                 a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb,
                                 a->flags);
            }
        }
    }
}

/* --- f32 GEMM, AVX2 ---------------------------------------------------- */

TGT_AVX2 INLINE __m256i avx2_tailmask(size_t n) { /* first n (<8) lanes */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

TGT_AVX2 INLINE __m128 avx2_reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* B as [N][K]: both operands are contiguous along k, so each output is a
 * vector dot product reduced at the end; no packing buffer needed.
 * Up to 3 rows x 4 columns = 12 accumulators + 3 A vectors + 1 B vector;
 * MR (constant at each call site) is the rows present, so a row tail
 * computes only its rows, with the same operations per output. */
TGT_AVX2 INLINE void sgemm_nk_rows_avx2(const int MR, const float *A, size_t lda, const float *B, size_t ldb,
                                        size_t nr, size_t K, float *out, size_t ldo) {
    const float *ar[3], *br[4];
    for (int r = 0; r < MR; r++) ar[r] = A + (size_t)r * lda;
    for (size_t c = 0; c < 4; c++) br[c] = B + (c < nr ? c : nr - 1) * ldb;
    __m256 acc[3][4];
    for (int r = 0; r < MR; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 av[3];
        for (int r = 0; r < MR; r++) av[r] = _mm256_loadu_ps(ar[r] + k);
        for (int c = 0; c < 4; c++) {
            __m256 b = _mm256_loadu_ps(br[c] + k);
            for (int r = 0; r < MR; r++) acc[r][c] = _mm256_fmadd_ps(av[r], b, acc[r][c]);
        }
    }
    if (k < K) {
        __m256i mk = avx2_tailmask(K - k);
        __m256 av[3];
        for (int r = 0; r < MR; r++) av[r] = _mm256_maskload_ps(ar[r] + k, mk);
        for (int c = 0; c < 4; c++) {
            __m256 b = _mm256_maskload_ps(br[c] + k, mk);
            for (int r = 0; r < MR; r++) acc[r][c] = _mm256_fmadd_ps(av[r], b, acc[r][c]);
        }
    }
    for (int r = 0; r < MR; r++) _mm_storeu_ps(out + r * ldo, avx2_reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
}

TGT_AVX2 static void sgemm_nk_tile_avx2(const float *A, size_t lda, size_t mr, const float *B, size_t ldb,
                                        size_t nr, size_t K, float *out, size_t ldo) {
    switch (mr) {
    case 1: sgemm_nk_rows_avx2(1, A, lda, B, ldb, nr, K, out, ldo); break;
    case 2: sgemm_nk_rows_avx2(2, A, lda, B, ldb, nr, K, out, ldo); break;
    default: sgemm_nk_rows_avx2(3, A, lda, B, ldb, nr, K, out, ldo); break;
    }
}

/* B as [K][N]: broadcast A[m][k] against 16 contiguous columns of B row k.
 * 6 rows x 16 columns = 12 accumulators. */
TGT_AVX2 static void sgemm_kn_tile_avx2(const float *A, size_t lda, size_t mr, const float *B, size_t ldb,
                                        size_t nc, size_t K, float *out, size_t ldo) {
    const float *ar[6];
    for (size_t r = 0; r < 6; r++) ar[r] = A + (r < mr ? r : mr - 1) * lda;
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    if (nc == 16) {
        for (size_t k = 0; k < K; k++) {
            __m256 b0 = _mm256_loadu_ps(B + k * ldb), b1 = _mm256_loadu_ps(B + k * ldb + 8);
            for (int r = 0; r < 6; r++) {
                __m256 av = _mm256_broadcast_ss(ar[r] + k);
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    } else { /* column tail: masked loads never touch memory past column nc */
        __m256i m0 = avx2_tailmask(SAMQ_MIN(nc, (size_t)8)), m1 = avx2_tailmask(nc > 8 ? nc - 8 : 0);
        for (size_t k = 0; k < K; k++) {
            __m256 b0 = _mm256_maskload_ps(B + k * ldb, m0), b1 = _mm256_maskload_ps(B + k * ldb + 8, m1);
            for (int r = 0; r < 6; r++) {
                __m256 av = _mm256_broadcast_ss(ar[r] + k);
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    }
    for (size_t r = 0; r < mr; r++) {
        _mm256_storeu_ps(out + r * ldo, acc[r][0]);
        _mm256_storeu_ps(out + r * ldo + 8, acc[r][1]);
    }
}

TGT_AVX2 void samq_sgemm_avx2(const samq_sgemm_args *a) {
    int kn = (a->flags & SAMQ_SGEMM_B_KN) != 0;
    size_t MR = kn ? 6 : 3;
    float tmp[6 * (F32_NBLK + 16)];
    const size_t ldt = F32_NBLK + 16;
    for (size_t nb = a->n_begin; nb < a->n_end; nb += F32_NBLK) {
        size_t ne = SAMQ_MIN(nb + F32_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            const float *am = a->A + m * a->lda;
            if (kn) {
                for (size_t n = nb; n < ne; n += 16)
                    sgemm_kn_tile_avx2(am, a->lda, mr, a->B + n, a->ldb, SAMQ_MIN((size_t)16, ne - n), a->K,
                                       tmp + (n - nb), ldt);
            } else {
                for (size_t n = nb; n < ne; n += 4)
                    sgemm_nk_tile_avx2(am, a->lda, mr, a->B + n * a->ldb, a->ldb, SAMQ_MIN((size_t)4, ne - n),
                                       a->K, tmp + (n - nb), ldt);
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                epi_f32_avx2(tmp + r * ldt, width, a->bias ? a->bias + nb : NULL,
                             a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb,
                             a->flags);
            }
        }
    }
}

/* ---- f32 GEMM with f16 weights (SAMQ_SGEMM_B_F16), AVX2 + F16C ---------- */

/* 8 rows x 1 column: the token-side products have ~7 rows, so one pass
 * reads each weight row once (the f32 kernel's 3/4-row tiles read it twice). */
TGT_F16C INLINE void hgemm_tile_avx2(const float *A, size_t lda, const int MR, size_t mr, const uint16_t *B, size_t K,
                                     float *out, size_t ldo) {
    const float *ar[8];
    for (int r = 0; r < MR; r++) ar[r] = A + ((size_t)r < mr ? (size_t)r : mr - 1) * lda;
    __m256 acc[8];
    for (int r = 0; r < MR; r++) acc[r] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(B + k)));
        for (int r = 0; r < MR; r++) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(ar[r] + k), b, acc[r]);
    }
    if (k < K) {
        uint16_t tail[8] = {0};
        memcpy(tail, B + k, (K - k) * sizeof(uint16_t));
        __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)tail));
        __m256i mk = avx2_tailmask(K - k);
        for (int r = 0; r < MR; r++) acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(ar[r] + k, mk), b, acc[r]);
    }
    for (size_t r = 0; r < mr; r++) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        out[r * ldo] = _mm_cvtss_f32(s);
    }
}

TGT_F16C void samq_hgemm_avx2(const samq_sgemm_args *a) {
    const size_t MR = 8, ldt = F32_NBLK;
    float tmp[8 * F32_NBLK];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += F32_NBLK) {
        size_t ne = SAMQ_MIN(nb + F32_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            const float *am = a->A + m * a->lda;
            for (size_t n = nb; n < ne; n++) {
                const uint16_t *bn = a->B_f16 + n * a->ldb;
                float *o = tmp + (n - nb);
                switch (mr > 4 ? 8 : mr > 2 ? 4 : mr) { /* compile-time tiles: one token row (hypernetwork MLPs) must not pay for eight */
                case 8: hgemm_tile_avx2(am, a->lda, 8, mr, bn, a->K, o, ldt); break;
                case 4: hgemm_tile_avx2(am, a->lda, 4, mr, bn, a->K, o, ldt); break;
                case 2: hgemm_tile_avx2(am, a->lda, 2, mr, bn, a->K, o, ldt); break;
                default: hgemm_tile_avx2(am, a->lda, 1, 1, bn, a->K, o, ldt); break;
                }
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                epi_f32_avx2(tmp + r * ldt, width, a->bias ? a->bias + nb : NULL,
                             a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb,
                             a->flags);
            }
        }
    }
}

TGT_AVX2 void samq_gelu_avx2(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu_avx2(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = samq_gelu_ref(x[i]);
}

TGT_AVX2 uint64_t samq_peak_avx2(uint64_t it) {
    /* The GEMM's inner sequence (sign, maddubs, madd, add) on 8 independent
     * accumulators; 32 int8 MACs per sequence. The empty asm makes each
     * weight register look modified every iteration, so the compiler can
     * neither hoist nor merge the identical-looking products. */
    volatile int seed = 3;
    __m256i a = _mm256_set1_epi8((char)seed), ones = _mm256_set1_epi16(1);
    __m256i ua = _mm256_abs_epi8(a);
    __m256i acc[8], w[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_set1_epi32(j), w[j] = _mm256_set1_epi8((char)(seed + j));
    for (uint64_t i = 0; i < it; i++) {
        for (int j = 0; j < 8; j++) {
            __asm__ volatile("" : "+x"(w[j]));
            __m256i p = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w[j], a));
            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(p, ones));
        }
    }
    __m256i s = acc[0];
    for (int j = 1; j < 8; j++) s = _mm256_add_epi32(s, acc[j]);
    volatile int sink = _mm256_extract_epi32(s, 0);
    (void)sink;
    return it * 8 * 32;
}

/* ===================================================================== */
/* AVX-512                                                                */
/* ===================================================================== */

TGT_512 void samq_epi_i32_avx512(const int32_t *acc, size_t n, float rs, const float *cs, const float *bias,
                                 const float *res, float *out, uint32_t flags) {
    size_t j = 0;
    __m512 vrs = _mm512_set1_ps(rs);
    for (; j + 16 <= n; j += 16) {
        __m512 s = _mm512_mul_ps(vrs, _mm512_loadu_ps(cs + j));
        __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(acc + j)), s);
        if (bias) y = _mm512_add_ps(y, _mm512_loadu_ps(bias + j));
        if (flags & SAMQ_GEMM_GELU) y = gelu_512(y);
        if (res) y = _mm512_add_ps(y, _mm512_loadu_ps(res + j));
        _mm512_storeu_ps(out + j, y);
    }
    if (j < n)
        samq_epi_i32_scalar(acc + j, n - j, rs, cs + j, bias ? bias + j : NULL, res ? res + j : NULL, out + j,
                            flags);
}

TGT_512 static void epi_f32_512(const float *acc, size_t n, const float *bias, const float *res, float *out,
                                uint32_t flags) {
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 y = _mm512_loadu_ps(acc + j);
        if (bias) y = _mm512_add_ps(y, _mm512_loadu_ps(bias + j));
        if (flags & SAMQ_SGEMM_GELU) y = gelu_512(y);
        if (res) y = _mm512_add_ps(y, _mm512_loadu_ps(res + j));
        _mm512_storeu_ps(out + j, y);
    }
    if (j < n) samq_epi_f32_scalar(acc + j, n - j, bias ? bias + j : NULL, res ? res + j : NULL, out + j, flags);
}

TGT_512 void samq_epi_f32_avx512(const float *acc, size_t n, const float *bias, const float *res, float *out,
                                 uint32_t flags) {
    epi_f32_512(acc, n, bias, res, out, flags);
}

/* |x| maximum over the finite values of one row: four independent max
 * chains, so a 3072-wide row is not bound by the max latency. */
TGT_512 INLINE float amax_row_512(const float *xr, size_t K) {
    const __m512 fmax = _mm512_set1_ps(FLT_MAX);
    __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    size_t k = 0;
    for (; k + 64 <= K; k += 64) {
        __m512 a0 = _mm512_abs_ps(_mm512_loadu_ps(xr + k)), a1 = _mm512_abs_ps(_mm512_loadu_ps(xr + k + 16));
        __m512 a2 = _mm512_abs_ps(_mm512_loadu_ps(xr + k + 32)), a3 = _mm512_abs_ps(_mm512_loadu_ps(xr + k + 48));
        m0 = _mm512_mask_max_ps(m0, _mm512_cmp_ps_mask(a0, fmax, _CMP_LE_OQ), m0, a0);
        m1 = _mm512_mask_max_ps(m1, _mm512_cmp_ps_mask(a1, fmax, _CMP_LE_OQ), m1, a1);
        m2 = _mm512_mask_max_ps(m2, _mm512_cmp_ps_mask(a2, fmax, _CMP_LE_OQ), m2, a2);
        m3 = _mm512_mask_max_ps(m3, _mm512_cmp_ps_mask(a3, fmax, _CMP_LE_OQ), m3, a3);
    }
    for (; k < K; k += 16) {
        __mmask16 mk = (K - k >= 16) ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1);
        __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(mk, xr + k));
        m0 = _mm512_mask_max_ps(m0, _mm512_cmp_ps_mask(a, fmax, _CMP_LE_OQ), m0, a);
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* Codes of 16 values (zero past K: masked load), as int32 lanes. */
TGT_512 INLINE __m512i codes16_512(const float *p, size_t left, __m512 vinv) {
    __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, p), vinv);
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* NaN -> 0 */
    v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
    return _mm512_cvtps_epi32(v);
}

/* 64 codes per store: the narrowing stores (vpmovsdb to memory) of the
 * 16-wide loop cost more than the whole rest on short rows such as the
 * attention's 64-wide Q heads. The packs interleave 128-bit lanes; one dword
 * permute restores element order. The last block's masked loads give zero
 * codes past K, which is also the required zero fill up to zend. */
TGT_512 void samq_quantize_avx512(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq,
                                  float *rs) {
    size_t zend = SAMQ_MIN(samq_round_up(K, 8), ldq);
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        int8_t *qr = q + m * ldq;
        float amax = amax_row_512(xr, K);
        if (!(amax >= 1e-30f)) {
            rs[m] = 0.0f;
            memset(qr, 0, zend);
            continue;
        }
        __m512 vinv = _mm512_set1_ps(127.0f / amax);
        for (size_t k = 0; k < zend; k += 64) {
            size_t left = K > k ? K - k : 0;
            __m512i a = codes16_512(xr + k, left, vinv);
            __m512i b = codes16_512(xr + k + 16, left > 16 ? left - 16 : 0, vinv);
            __m512i c = codes16_512(xr + k + 32, left > 32 ? left - 32 : 0, vinv);
            __m512i d = codes16_512(xr + k + 48, left > 48 ? left - 48 : 0, vinv);
            __m512i bytes = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(_mm512_packs_epi32(a, b),
                                                                               _mm512_packs_epi32(c, d)));
            size_t n = zend - k;
            if (n >= 64) _mm512_storeu_si512(qr + k, bytes);
            else _mm512_mask_storeu_epi8(qr + k, ((__mmask64)1 << n) - 1, bytes);
        }
        rs[m] = amax / 127.0f;
    }
}

/* MR rows x NP panels (16 columns each) of zmm accumulators; the main tile
 * is 12 x 32 (24 accumulators). vpdpbusd wants unsigned activations, so each
 * row tile's int8 rows are first copied to a stack buffer as a^0x80 = a+128:
 * one xor per 64 bytes instead of one per broadcast (on Intel the 512-bit
 * xor competes with vpdpbusd for ports 0 and 5; it capped the old 6 x 64
 * tile at 80% of peak). The extra 128*sum_k W[n][k] is removed with the
 * packed column sums (exact in int32). The tall, narrow tile reads 2 zmm of
 * weights per 24 vpdpbusd (6 x 64 needed 4), halving the weight stream from
 * L2. K runs in chunks of VNNI_KC so the buffer stays bounded; between
 * chunks the accumulators round-trip through the int32 tile buffer.
 * MR and NP are compile-time constants at every call site (always_inline),
 * so acc[][] lives in registers; row tails get their own exact-size tiles
 * so a 2-row remainder costs 2 rows, not 12.
 * Measured on the vit_b MLP shape, one Sapphire Rapids core (thread CPU
 * time, busy machine): 6 x 64 with per-broadcast xor 238 GMAC/s, this tile
 * 309, plus the output prefetch below 327 (peak 423). */
#define VNNI_MR SAMQ_VNNI_MR
#define VNNI_NP 2
#define VNNI_KC 1024
TGT_512 INLINE void vnni_tile(const uint8_t *ab, const int MR, const int8_t *w, size_t pstride, size_t G,
                              const int NP, int first, int last, const int32_t *cs, int32_t *out, size_t ldo) {
    __m512i acc[VNNI_MR][VNNI_NP];
    for (int r = 0; r < MR; r++)
        for (int p = 0; p < NP; p++)
            acc[r][p] = first ? _mm512_setzero_si512() : _mm512_loadu_si512(out + r * ldo + 16 * p);
    for (size_t g = 0; g < G; g++) {
        __m512i wv[VNNI_NP];
        for (int p = 0; p < NP; p++) wv[p] = _mm512_loadu_si512(w + p * pstride + g * 64);
        for (int r = 0; r < MR; r++) {
            __m512i av = _mm512_set1_epi32(samq_load_i32(ab + r * VNNI_KC + g * 4));
            for (int p = 0; p < NP; p++) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], av, wv[p]);
        }
    }
    for (int p = 0; p < NP; p++) {
        __m512i c = last ? _mm512_slli_epi32(_mm512_loadu_si512(cs + 16 * p), 7) : _mm512_setzero_si512();
        for (int r = 0; r < MR; r++) _mm512_storeu_si512(out + r * ldo + 16 * p, _mm512_sub_epi32(acc[r][p], c));
    }
}

/* Where the epilogue of a row tile will write (and read its residual): on
 * the last K chunk each column tile prefetches its output lines, so the
 * epilogue's stores find them in L2 instead of waiting on L3 (the epilogue
 * was ~18% of the MLP GEMM on Sapphire Rapids without it). */
typedef struct {
    const char *out, *res;
    size_t ld_out, ld_res; /* bytes */
} vnni_prefetch;

/* One row tile across the column block [nb, ne) for k in [k0, k0 + kc):
 * NP=2 panels at a time, then a 1-panel remainder. */
TGT_512 INLINE void vnni_rowtile(const uint8_t *ab, const int MR, const samq_packed_view *v, size_t pstride,
                                 size_t k0, size_t kc, size_t nb, size_t ne, int32_t *tmp, const vnni_prefetch *pf) {
    int first = k0 == 0, last = k0 + kc == v->Kp;
    size_t G = kc / 4;
    for (size_t n = nb; n < ne; n += 16 * VNNI_NP) {
        int two = ne - n > 16;
        if (last)
            for (int r = 0; r < MR; r++) {
                __builtin_prefetch(pf->out + r * pf->ld_out + n * 4, 1, 2);
                if (two) __builtin_prefetch(pf->out + r * pf->ld_out + n * 4 + 64, 1, 2);
                if (pf->res) {
                    __builtin_prefetch(pf->res + r * pf->ld_res + n * 4, 0, 2);
                    if (two) __builtin_prefetch(pf->res + r * pf->ld_res + n * 4 + 64, 0, 2);
                }
            }
        const int8_t *w = v->panels + (n / 16) * pstride + k0 * 16;
        if (two)
            vnni_tile(ab, MR, w, pstride, G, VNNI_NP, first, last, v->colsum + n, tmp + (n - nb), I8_NBLK);
        else
            vnni_tile(ab, MR, w, pstride, G, 1, first, last, v->colsum + n, tmp + (n - nb), I8_NBLK);
    }
}

/* Rows [0, mr) of A, bytes [k0, k0 + kc), as a+128 into ab (rows VNNI_KC apart). */
TGT_512 static void vnni_bias_rows(const int8_t *a, size_t lda, size_t mr, size_t k0, size_t kc, uint8_t *ab) {
    const __m512i x80 = _mm512_set1_epi8((char)0x80);
    for (size_t r = 0; r < mr; r++) {
        const int8_t *src = a + r * lda + k0;
        uint8_t *dst = ab + r * VNNI_KC;
        size_t k = 0;
        /* Plain loads and stores where a whole 64 bytes fit: masked byte stores
         * are slow on Zen 4, and the small-K decoder GEMMs copy rows often. */
        for (; k + 64 <= kc; k += 64) _mm512_storeu_si512(dst + k, _mm512_xor_si512(_mm512_loadu_si512(src + k), x80));
        if (k < kc) {
            __mmask64 mk = ((__mmask64)1 << (kc - k)) - 1;
            _mm512_mask_storeu_epi8(dst + k, mk, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mk, src + k), x80));
        }
    }
}

TGT_512 void samq_gemm_avx512vnni(const samq_gemm_args *a) {
    samq_packed_view v = samq_view(a->packed_w, a->N, a->K);
    size_t pstride = v.Kp * 16;
    int raw = (a->flags & SAMQ_GEMM_RAW_I32) != 0;
    int32_t tmp[VNNI_MR * I8_NBLK];
    uint8_t ab[VNNI_MR * VNNI_KC] __attribute__((aligned(64)));
    for (size_t nb = a->n_begin; nb < a->n_end; nb += I8_NBLK) {
        size_t ne = SAMQ_MIN(nb + I8_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += VNNI_MR) {
            size_t mr = SAMQ_MIN((size_t)VNNI_MR, a->m_end - m);
            vnni_prefetch pf = {raw ? (const char *)(a->C_i32 + m * a->ldc) : (const char *)(a->C + m * a->ldc),
                                a->residual && !raw ? (const char *)(a->residual + m * a->ldr) : NULL,
                                a->ldc * 4, a->ldr * 4};
            if (v.Kp == 0) memset(tmp, 0, sizeof tmp); /* K = 0: all products are 0 */
            for (size_t k0 = 0; k0 < v.Kp; k0 += VNNI_KC) {
                size_t kc = SAMQ_MIN((size_t)VNNI_KC, v.Kp - k0);
                vnni_bias_rows(a->A + m * a->lda, a->lda, mr, k0, kc, ab);
                switch (mr) {
#define VNNI_CASE(R) case R: vnni_rowtile(ab, R, &v, pstride, k0, kc, nb, ne, tmp, &pf); break;
                VNNI_CASE(1) VNNI_CASE(2) VNNI_CASE(3) VNNI_CASE(4) VNNI_CASE(5) VNNI_CASE(6)
                VNNI_CASE(7) VNNI_CASE(8) VNNI_CASE(9) VNNI_CASE(10) VNNI_CASE(11)
#undef VNNI_CASE
                default: vnni_rowtile(ab, VNNI_MR, &v, pstride, k0, kc, nb, ne, tmp, &pf); break;
                }
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                if (raw)
                    memcpy(a->C_i32 + row * a->ldc + nb, tmp + r * I8_NBLK, width * 4);
                else
                    samq_epi_i32_avx512(tmp + r * I8_NBLK, width, a->row_scale[row], v.scales + nb,
                                a->bias ? a->bias + nb : NULL, a->residual ? a->residual + row * a->ldr + nb : NULL,
                                a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}

/* --- f32 GEMM, AVX-512 -------------------------------------------------- */

TGT_512 INLINE __m128 r512_4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1)));
    __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c), 1)));
    __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a8, b8), _mm256_hadd_ps(c8, d8));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* B as [N][K]: up to 4 rows x 4 columns of k-vector dot products (16 zmm),
 * masked k tail. MR (a constant at every call site) is the rows present: a
 * row tail computes only its rows (the decoder's token products have 1, 3 or
 * 7 rows), and each output's accumulator sees the same operations either way. */
TGT_512 INLINE void sgemm_nk_rows_512(const int MR, const float *A, size_t lda, const float *B, size_t ldb,
                                      size_t nr, size_t K, float *out, size_t ldo) {
    const float *ar[4], *br[4];
    for (int r = 0; r < MR; r++) ar[r] = A + (size_t)r * lda;
    for (size_t c = 0; c < 4; c++) br[c] = B + (c < nr ? c : nr - 1) * ldb;
    __m512 acc[4][4];
    for (int r = 0; r < MR; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 av[4], bv[4];
        for (int r = 0; r < MR; r++) av[r] = _mm512_loadu_ps(ar[r] + k);
        for (int c = 0; c < 4; c++) bv[c] = _mm512_loadu_ps(br[c] + k);
        for (int r = 0; r < MR; r++)
            for (int c = 0; c < 4; c++) acc[r][c] = _mm512_fmadd_ps(av[r], bv[c], acc[r][c]);
    }
    if (k < K) {
        __mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
        __m512 av[4], bv[4];
        for (int r = 0; r < MR; r++) av[r] = _mm512_maskz_loadu_ps(mk, ar[r] + k);
        for (int c = 0; c < 4; c++) bv[c] = _mm512_maskz_loadu_ps(mk, br[c] + k);
        for (int r = 0; r < MR; r++)
            for (int c = 0; c < 4; c++) acc[r][c] = _mm512_fmadd_ps(av[r], bv[c], acc[r][c]);
    }
    for (int r = 0; r < MR; r++) _mm_storeu_ps(out + r * ldo, r512_4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
}

TGT_512 static void sgemm_nk_tile_512(const float *A, size_t lda, size_t mr, const float *B, size_t ldb, size_t nr,
                                      size_t K, float *out, size_t ldo) {
    switch (mr) {
    case 1: sgemm_nk_rows_512(1, A, lda, B, ldb, nr, K, out, ldo); break;
    case 2: sgemm_nk_rows_512(2, A, lda, B, ldb, nr, K, out, ldo); break;
    case 3: sgemm_nk_rows_512(3, A, lda, B, ldb, nr, K, out, ldo); break;
    default: sgemm_nk_rows_512(4, A, lda, B, ldb, nr, K, out, ldo); break;
    }
}

/* B as [K][N]: up to 8 rows x 32 columns (16 zmm), masked column tail.
 * MR and NP (constants at every call site) are the rows and 16-column
 * halves present: a row tail or a tile of at most 16 columns (the decoder's
 * per-head P·V, hd = 16) skips the work of absent rows and columns, and each
 * output's accumulator sees the same operations either way. */
TGT_512 INLINE void sgemm_kn_rows_512(const int MR, const int NP, const float *A, size_t lda, const float *B,
                                      size_t ldb, size_t nc, size_t K, float *out, size_t ldo) {
    const float *ar[8];
    for (int r = 0; r < MR; r++) ar[r] = A + (size_t)r * lda;
    __m512 acc[8][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1);
    __mmask16 m1 = nc >= 32 ? (__mmask16)0xffff : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1) : (__mmask16)0;
    for (size_t k = 0; k < K; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb);
        __m512 b1 = NP > 1 ? _mm512_maskz_loadu_ps(m1, B + k * ldb + 16) : b0;
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(ar[r][k]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            if (NP > 1) acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        _mm512_storeu_ps(out + r * ldo, acc[r][0]);
        if (NP > 1) _mm512_storeu_ps(out + r * ldo + 16, acc[r][1]);
    }
}

#define KN_ROWS_512(NP)                                                                                        \
    switch (mr) {                                                                                              \
    case 1: sgemm_kn_rows_512(1, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    case 2: sgemm_kn_rows_512(2, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    case 3: sgemm_kn_rows_512(3, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    case 4: sgemm_kn_rows_512(4, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    case 5: sgemm_kn_rows_512(5, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    case 6: sgemm_kn_rows_512(6, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    case 7: sgemm_kn_rows_512(7, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                 \
    default: sgemm_kn_rows_512(8, NP, A, lda, B, ldb, nc, K, out, ldo); break;                                \
    }

TGT_512 static void sgemm_kn_tile_512(const float *A, size_t lda, size_t mr, const float *B, size_t ldb, size_t nc,
                                      size_t K, float *out, size_t ldo) {
    if (nc <= 16) {
        KN_ROWS_512(1)
    } else {
        KN_ROWS_512(2)
    }
}
#undef KN_ROWS_512

TGT_512 void samq_sgemm_avx512(const samq_sgemm_args *a) {
    int kn = (a->flags & SAMQ_SGEMM_B_KN) != 0;
    size_t MR = kn ? 8 : 4;
    const size_t ldt = F32_NBLK + 32;
    float tmp[8 * (F32_NBLK + 32)];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += F32_NBLK) {
        size_t ne = SAMQ_MIN(nb + F32_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            const float *am = a->A + m * a->lda;
            if (kn) {
                for (size_t n = nb; n < ne; n += 32)
                    sgemm_kn_tile_512(am, a->lda, mr, a->B + n, a->ldb, SAMQ_MIN((size_t)32, ne - n), a->K,
                                      tmp + (n - nb), ldt);
            } else {
                for (size_t n = nb; n < ne; n += 4)
                    sgemm_nk_tile_512(am, a->lda, mr, a->B + n * a->ldb, a->ldb, SAMQ_MIN((size_t)4, ne - n), a->K,
                                      tmp + (n - nb), ldt);
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                epi_f32_512(tmp + r * ldt, width, a->bias ? a->bias + nb : NULL,
                            a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}

/* ---- f32 GEMM with f16 weights (SAMQ_SGEMM_B_F16), AVX-512 --------------- */

/* 8 rows x 2 columns, 16 accumulators: each weight row is read (and widened
 * by vcvtph2ps) once for up to 8 token rows. */
TGT_512 INLINE void hgemm_tile_512(const float *A, size_t lda, const int MR, size_t mr, const uint16_t *B, size_t ldb, size_t nr,
                                   size_t K, float *out, size_t ldo) {
    const float *ar[8];
    const uint16_t *br[2];
    for (int r = 0; r < MR; r++) ar[r] = A + ((size_t)r < mr ? (size_t)r : mr - 1) * lda;
    for (size_t c = 0; c < 2; c++) br[c] = B + (c < nr ? c : nr - 1) * ldb;
    __m512 acc[8][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(br[0] + k)));
        __m512 b1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(br[1] + k)));
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_loadu_ps(ar[r] + k);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    if (k < K) {
        uint16_t t0[16] = {0}, t1[16] = {0};
        memcpy(t0, br[0] + k, (K - k) * sizeof(uint16_t));
        memcpy(t1, br[1] + k, (K - k) * sizeof(uint16_t));
        __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)t0));
        __m512 b1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)t1));
        __mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_maskz_loadu_ps(mk, ar[r] + k);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for (size_t r = 0; r < mr; r++) {
        out[r * ldo] = _mm512_reduce_add_ps(acc[r][0]);
        out[r * ldo + 1] = _mm512_reduce_add_ps(acc[r][1]);
    }
}

TGT_512 void samq_hgemm_avx512(const samq_sgemm_args *a) {
    const size_t MR = 8, ldt = F32_NBLK + 2;
    float tmp[8 * (F32_NBLK + 2)];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += F32_NBLK) {
        size_t ne = SAMQ_MIN(nb + F32_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            const float *am = a->A + m * a->lda;
            for (size_t n = nb; n < ne; n += 2) {
                const uint16_t *bn = a->B_f16 + n * a->ldb;
                size_t nr = SAMQ_MIN((size_t)2, ne - n);
                float *o = tmp + (n - nb);
                switch (mr > 4 ? 8 : mr > 2 ? 4 : mr) { /* compile-time tiles: one token row (hypernetwork MLPs) must not pay for eight */
                case 8: hgemm_tile_512(am, a->lda, 8, mr, bn, a->ldb, nr, a->K, o, ldt); break;
                case 4: hgemm_tile_512(am, a->lda, 4, mr, bn, a->ldb, nr, a->K, o, ldt); break;
                case 2: hgemm_tile_512(am, a->lda, 2, mr, bn, a->ldb, nr, a->K, o, ldt); break;
                default: hgemm_tile_512(am, a->lda, 1, 1, bn, a->ldb, nr, a->K, o, ldt); break;
                }
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                epi_f32_512(tmp + r * ldt, width, a->bias ? a->bias + nb : NULL,
                            a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}

TGT_512 void samq_gelu_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu_512(_mm512_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = samq_gelu_ref(x[i]);
}

TGT_512 uint64_t samq_peak_avx512vnni(uint64_t it) {
    /* 16 independent vpdpbusd chains (enough to cover latency x throughput),
     * 64 MACs each, registers only. */
    volatile int seed = 3;
    __m512i a = _mm512_set1_epi8((char)seed), w = _mm512_set1_epi8((char)(seed + 1));
    __m512i acc[16];
    for (int j = 0; j < 16; j++) acc[j] = _mm512_set1_epi32(j);
    for (uint64_t i = 0; i < it; i++) {
        __asm__ volatile("" : "+v"(w));
        for (int j = 0; j < 16; j++) acc[j] = _mm512_dpbusd_epi32(acc[j], a, w);
    }
    __m512i s = acc[0];
    for (int j = 1; j < 16; j++) s = _mm512_add_epi32(s, acc[j]);
    volatile int sink = _mm512_reduce_add_epi32(s);
    (void)sink;
    return it * 16 * 64;
}

#endif /* SAMQ_X86 */
