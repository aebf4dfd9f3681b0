/* f32 GEMM on bf16-rounded operands (samq_bf16gemm): the scalar emulation
 * that defines the bits, B's packer, and the AVX512_BF16 kernel. */
#include "samq_internal.h"
#include <float.h>

uint16_t samq_bf16_round(float x) {
    uint32_t v = samq_f32_bits(x);
    if ((v & 0x7f800000u) == 0) return (uint16_t)((v >> 16) & 0x8000u);          /* zero, subnormal */
    if ((v & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v >> 16) | 0x0040u);  /* quiet NaN */
    return (uint16_t)((v + 0x7fffu + ((v >> 16) & 1u)) >> 16);                    /* nearest even */
}

void samq_bf16_pack_kn(const float *B, size_t K, size_t N, size_t ldb, uint32_t *out, size_t ldo) {
    for (size_t j = 0; j < (K + 1) / 2; j++)
        for (size_t n = 0; n < N; n++) {
            uint32_t lo = samq_bf16_round(B[2 * j * ldb + n]);
            uint32_t hi = 2 * j + 1 < K ? samq_bf16_round(B[(2 * j + 1) * ldb + n]) : 0;
            out[j * ldo + n] = lo | hi << 16;
        }
}

void samq_bf16gemm_scalar(const samq_bf16gemm_args *a) {
    size_t pairs = (a->K + 1) / 2;
    for (size_t m = a->m_begin; m < a->m_end; m++) {
        const float *ar = a->A + m * a->lda;
        for (size_t n = a->n_begin; n < a->n_end; n++) {
            float acc = 0.0f;
            for (size_t j = 0; j < pairs; j++) {
                uint32_t b = a->B[j * a->ldb + n];
                float lo = samq_bf16_value(samq_bf16_round(ar[2 * j]));
                float hi = 2 * j + 1 < a->K ? samq_bf16_value(samq_bf16_round(ar[2 * j + 1])) : 0.0f;
                acc = samq_ftz(fmaf(hi, samq_bf16_value(b >> 16), acc));
                acc = samq_ftz(fmaf(lo, samq_bf16_value(b), acc));
            }
            float term = 0.0f, *res = NULL;
            if (a->residual) {
                term = a->residual[m * a->ldr + n];
                if (a->residual_add) term = term + a->residual_add[n];
                res = &term;
            }
            samq_epi_f32_scalar(&acc, 1, a->bias ? a->bias + n : NULL, res, a->C + m * a->ldc + n, a->flags);
        }
    }
}

#if defined(SAMQ_X86)
#include "samq_simd.h"

#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16,avx2,fma")))
/* Output columns per block: the 8-row f32 tile buffer stays in L1. */
#define BF_NBLK 256
/* Pairs of K converted at a time: 8 rows of them (8 KiB) stay in L1 while
 * every column tile of the block reads them. */
#define BF_KB 256

/* Rows of A from column k0, kc values, to bf16 pairs (zero past kc); rows at
 * or past mr repeat row mr-1 so the tile needs no row masks. */
TGT_BF16 static void bf16_rows_512(const float *A, size_t lda, size_t mr, size_t k0, size_t kc, uint32_t *out) {
    for (size_t r = 0; r < 8; r++) {
        const float *x = A + (r < mr ? r : mr - 1) * lda + k0;
        uint32_t *o = out + r * BF_KB;
        for (size_t k = 0; k < kc; k += 32) {
            size_t left = kc - k;
            __mmask16 m0 = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __mmask16 m1 = left >= 32 ? (__mmask16)0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, x + k + 16), _mm512_maskz_loadu_ps(m0, x + k));
            _mm512_storeu_si512((void *)(o + k / 2), (__m512i)v);
        }
    }
}

/* 8 rows x 32 columns (16 zmm accumulators) over `pairs` pairs of K;
 * `carry` continues the sums already in `out`. */
TGT_BF16 static void bf16_tile_512(const uint32_t *a, const uint32_t *B, size_t ldb, size_t nc, size_t pairs,
                                   float *out, size_t ldo, int carry) {
    __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1);
    __mmask16 m1 = nc >= 32 ? (__mmask16)0xffff : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1) : (__mmask16)0;
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++) {
        acc[r][0] = carry ? _mm512_loadu_ps(out + r * ldo) : _mm512_setzero_ps();
        acc[r][1] = carry ? _mm512_loadu_ps(out + r * ldo + 16) : _mm512_setzero_ps();
    }
    for (size_t j = 0; j < pairs; j++) {
        __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi32(m0, B + j * ldb);
        __m512bh b1 = (__m512bh)_mm512_maskz_loadu_epi32(m1, B + j * ldb + 16);
        for (int r = 0; r < 8; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r * BF_KB + j]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    for (int r = 0; r < 8; r++) {
        _mm512_storeu_ps(out + r * ldo, acc[r][0]);
        _mm512_storeu_ps(out + r * ldo + 16, acc[r][1]);
    }
}

/* The epilogue with a summed residual, y + (res + add); see samq_epi_f32_scalar. */
TGT_BF16 static void epi_sum_512(const float *acc, size_t n, const float *bias, const float *res, const float *add,
                                 float *out, uint32_t flags) {
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 y = _mm512_loadu_ps(acc + j);
        if (bias) y = _mm512_add_ps(y, _mm512_loadu_ps(bias + j));
        if (flags & SAMQ_SGEMM_GELU) y = gelu_512(y);
        y = _mm512_add_ps(y, _mm512_add_ps(_mm512_loadu_ps(res + j), _mm512_loadu_ps(add + j)));
        _mm512_storeu_ps(out + j, y);
    }
    for (; j < n; j++) {
        float term = res[j] + add[j];
        samq_epi_f32_scalar(acc + j, 1, bias ? bias + j : NULL, &term, out + j, flags);
    }
}

TGT_BF16 void samq_bf16gemm_avx512(const samq_bf16gemm_args *a) {
    const size_t ldt = BF_NBLK + 32;
    float tmp[8 * (BF_NBLK + 32)];
    uint32_t rows[8 * BF_KB];
    size_t pairs = (a->K + 1) / 2;
    for (size_t nb = a->n_begin; nb < a->n_end; nb += BF_NBLK) {
        size_t ne = SAMQ_MIN(nb + BF_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += 8) {
            size_t mr = SAMQ_MIN((size_t)8, a->m_end - m);
            if (pairs == 0) /* K = 0: every product sum is 0 (and A, B may be NULL) */
                memset(tmp, 0, sizeof tmp);
            for (size_t j0 = 0; j0 < pairs; j0 += BF_KB) {
                size_t pc = SAMQ_MIN((size_t)BF_KB, pairs - j0);
                bf16_rows_512(a->A + m * a->lda, a->lda, mr, 2 * j0, SAMQ_MIN(2 * pc, a->K - 2 * j0), rows);
                for (size_t n = nb; n < ne; n += 32)
                    bf16_tile_512(rows, a->B + j0 * a->ldb + n, a->ldb, SAMQ_MIN((size_t)32, ne - n), pc,
                                  tmp + (n - nb), ldt, j0 > 0);
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                const float *bias = a->bias ? a->bias + nb : NULL;
                if (a->residual && a->residual_add)
                    epi_sum_512(tmp + r * ldt, width, bias, a->residual + row * a->ldr + nb, a->residual_add + nb,
                                a->C + row * a->ldc + nb, a->flags);
                else
                    samq_epi_f32_avx512(tmp + r * ldt, width, bias, a->residual ? a->residual + row * a->ldr + nb : NULL,
                                        a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}
#endif
