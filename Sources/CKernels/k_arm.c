/* AArch64 kernels: NEON baseline (smull/smlal/sadalp), dotprod (sdot) and
 * i8mm (smmla). dotprod/i8mm functions carry their own target attribute so
 * the file builds for plain armv8-a and is only entered after the HWCAP
 * check in dispatch.c. */
#include "samq_internal.h"

#if defined(SAMQ_ARM64)
#include "samq_simd.h"
#include <float.h>

/* GCC 12 declares the vdot and vmmla intrinsics under "arch=armv8.2-a+..."; clang accepts the same spelling. */
#define TGT_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#define TGT_MM __attribute__((target("arch=armv8.2-a+i8mm")))

#define I8_NBLK 256
#define F32_NBLK 64

static void epi_i32_neon(const int32_t *acc, size_t n, float rs, const float *cs, const float *bias,
                         const float *res, float *out, uint32_t flags) {
    size_t j = 0;
    float32x4_t vrs = vdupq_n_f32(rs);
    for (; j + 4 <= n; j += 4) {
        float32x4_t s = vmulq_f32(vrs, vld1q_f32(cs + j));
        float32x4_t y = vmulq_f32(vcvtq_f32_s32(vld1q_s32(acc + j)), s);
        if (bias) y = vaddq_f32(y, vld1q_f32(bias + j));
        if (flags & SAMQ_GEMM_GELU) y = gelu_neon(y);
        if (res) y = vaddq_f32(y, vld1q_f32(res + j));
        vst1q_f32(out + j, y);
    }
    if (j < n)
        samq_epi_i32_scalar(acc + j, n - j, rs, cs + j, bias ? bias + j : NULL, res ? res + j : NULL, out + j,
                            flags);
}

static void epi_f32_neon(const float *acc, size_t n, const float *bias, const float *res, float *out,
                         uint32_t flags) {
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        float32x4_t y = vld1q_f32(acc + j);
        if (bias) y = vaddq_f32(y, vld1q_f32(bias + j));
        if (flags & SAMQ_SGEMM_GELU) y = gelu_neon(y);
        if (res) y = vaddq_f32(y, vld1q_f32(res + j));
        vst1q_f32(out + j, y);
    }
    if (j < n) samq_epi_f32_scalar(acc + j, n - j, bias ? bias + j : NULL, res ? res + j : NULL, out + j, flags);
}

void samq_quantize_neon(const float *x, size_t M, size_t K, size_t ldx, int8_t *q, size_t ldq, float *rs) {
    size_t zend = SAMQ_MIN(samq_round_up(K, 8), ldq);
    const float32x4_t fmax = vdupq_n_f32(FLT_MAX);
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        int8_t *qr = q + m * ldq;
        float32x4_t vmax = vdupq_n_f32(0.0f);
        size_t k = 0;
        for (; k + 4 <= K; k += 4) {
            float32x4_t a = vabsq_f32(vld1q_f32(xr + k));
            uint32x4_t fin = vcleq_f32(a, fmax); /* false for NaN and inf */
            vmax = vmaxq_f32(vmax, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), fin)));
        }
        float amax = vmaxvq_f32(vmax);
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
        float32x4_t vinv = vdupq_n_f32(inv);
        const float32x4_t hi = vdupq_n_f32(127.0f), lo = vdupq_n_f32(-127.0f);
        for (k = 0; k + 8 <= K; k += 8) {
            float32x4_t v0 = vmulq_f32(vld1q_f32(xr + k), vinv), v1 = vmulq_f32(vld1q_f32(xr + k + 4), vinv);
            v0 = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v0), vceqq_f32(v0, v0))); /* NaN -> 0 */
            v1 = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v1), vceqq_f32(v1, v1)));
            v0 = vminq_f32(vmaxq_f32(v0, lo), hi);
            v1 = vminq_f32(vmaxq_f32(v1, lo), hi);
            int16x8_t h = vcombine_s16(vqmovn_s32(vcvtnq_s32_f32(v0)), vqmovn_s32(vcvtnq_s32_f32(v1)));
            vst1_s8(qr + k, vqmovn_s16(h));
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

/* Shared driver: column blocks of I8_NBLK, row tiles of MR, a tile function
 * that fills `tmp` with int32 sums, then the vector epilogue. */
typedef void (*arm_tile_fn)(const int8_t *a0, size_t lda, size_t mr, const int8_t *panel, size_t G,
                            int32_t *out, size_t ldo);

static void arm_gemm_driver(const samq_gemm_args *a, size_t MR, size_t TW, arm_tile_fn tile) {
    samq_packed_view v = samq_view(a->packed_w, a->N, a->K);
    size_t G = v.Kp / 4, pstride = v.Kp * 16;
    int32_t tmp[4 * I8_NBLK];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += I8_NBLK) {
        size_t ne = SAMQ_MIN(nb + I8_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            const int8_t *am = a->A + m * a->lda;
            /* TW = 8: a tile covers half a panel (byte offset 32 inside each k-group). */
            for (size_t n = nb; n < ne; n += TW)
                tile(am, a->lda, mr, v.panels + (n / 16) * pstride + (n % 16) * 4, G, tmp + (n - nb), I8_NBLK);
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                if (a->flags & SAMQ_GEMM_RAW_I32)
                    memcpy(a->C_i32 + row * a->ldc + nb, tmp + r * I8_NBLK, width * 4);
                else
                    epi_i32_neon(tmp + r * I8_NBLK, width, a->row_scale[row], v.scales + nb,
                                 a->bias ? a->bias + nb : NULL, a->residual ? a->residual + row * a->ldr + nb : NULL,
                                 a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}

/* Baseline: 4 rows x 8 columns. smull gives 8 int16 products (2 columns x
 * 4 k), smlal adds the next k-group's products: |sum| <= 2*127*127 = 32258
 * fits int16 exactly; sadalp widens pairs into int32. Two int32 lanes per
 * column are folded with addp at the end. 64-bit weight loads suit the
 * in-order A53, where a q-register load stalls issue. */
static void neon_tile(const int8_t *a0, size_t lda, size_t mr, const int8_t *w, size_t G, int32_t *out,
                      size_t ldo) {
    const int8_t *ar[4];
    for (size_t r = 0; r < 4; r++) ar[r] = a0 + (r < mr ? r : mr - 1) * lda;
    int32x4_t acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = vdupq_n_s32(0);
    for (size_t g = 0; g < G; g += 2) { /* G is even: Kp is a multiple of 8 */
        int8x8_t b0[4], b1[4];
        for (int c = 0; c < 4; c++) {
            b0[c] = vld1_s8(w + g * 64 + c * 8);
            b1[c] = vld1_s8(w + (g + 1) * 64 + c * 8);
        }
        for (int r = 0; r < 4; r++) {
            int8x8_t x0 = vreinterpret_s8_s32(vdup_n_s32(samq_load_i32(ar[r] + g * 4)));
            int8x8_t x1 = vreinterpret_s8_s32(vdup_n_s32(samq_load_i32(ar[r] + g * 4 + 4)));
            for (int c = 0; c < 4; c++) {
                int16x8_t p = vmull_s8(b0[c], x0);
                p = vmlal_s8(p, b1[c], x1);
                acc[r][c] = vpadalq_s16(acc[r][c], p);
            }
        }
    }
    /* constant trip count + guard: keeps acc[][] promotable to registers */
    for (size_t r = 0; r < 4; r++) {
        if (r >= mr) break;
        vst1q_s32(out + r * ldo, vpaddq_s32(acc[r][0], acc[r][1]));
        vst1q_s32(out + r * ldo + 4, vpaddq_s32(acc[r][2], acc[r][3]));
    }
}

void samq_gemm_neon(const samq_gemm_args *a) { arm_gemm_driver(a, 4, 8, neon_tile); }

/* dotprod: 4 rows x 16 columns. One q-register of activations holds 4
 * k-groups; sdot by lane g multiplies it against the 4 columns x 4 k of
 * each weight register. */
TGT_DOT static void dot_tile(const int8_t *a0, size_t lda, size_t mr, const int8_t *w, size_t G, int32_t *out,
                             size_t ldo) {
    const int8_t *ar[4];
    for (size_t r = 0; r < 4; r++) ar[r] = a0 + (r < mr ? r : mr - 1) * lda;
    int32x4_t acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = vdupq_n_s32(0);
    size_t g = 0;
#define SAMQ_DOT_STEP(GG)                                                                      \
    do {                                                                                       \
        int8x16_t b[4];                                                                        \
        for (int c = 0; c < 4; c++) b[c] = vld1q_s8(w + (g + (GG)) * 64 + c * 16);             \
        for (int r = 0; r < 4; r++)                                                            \
            for (int c = 0; c < 4; c++) acc[r][c] = vdotq_laneq_s32(acc[r][c], b[c], x[r], GG); \
    } while (0)
    for (; g + 4 <= G; g += 4) {
        int8x16_t x[4];
        for (int r = 0; r < 4; r++) x[r] = vld1q_s8(ar[r] + g * 4);
        SAMQ_DOT_STEP(0);
        SAMQ_DOT_STEP(1);
        SAMQ_DOT_STEP(2);
        SAMQ_DOT_STEP(3);
    }
#undef SAMQ_DOT_STEP
    if (g < G) { /* exactly two groups left: load 8 bytes so we never read past Kp */
        int8x8_t x[4];
        for (int r = 0; r < 4; r++) x[r] = vld1_s8(ar[r] + g * 4);
        for (int gg = 0; gg < 2; gg++) {
            int8x16_t b[4];
            for (int c = 0; c < 4; c++) b[c] = vld1q_s8(w + (g + gg) * 64 + c * 16);
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    acc[r][c] = gg == 0 ? vdotq_lane_s32(acc[r][c], b[c], x[r], 0)
                                        : vdotq_lane_s32(acc[r][c], b[c], x[r], 1);
        }
    }
    for (size_t r = 0; r < 4; r++) {
        if (r >= mr) break;
        for (int c = 0; c < 4; c++) vst1q_s32(out + r * ldo + c * 4, acc[r][c]);
    }
}

TGT_DOT void samq_gemm_dotprod(const samq_gemm_args *a) { arm_gemm_driver(a, 4, 16, dot_tile); }

/* i8mm: 4 rows x 16 columns as 2 row-pairs x 8 column-pairs of smmla 2x2
 * blocks. smmla wants 8 consecutive k of each column; zipping the 32-bit
 * lanes of k-groups g and g+1 produces exactly that from the packed layout. */
TGT_MM static void mm_tile(const int8_t *a0, size_t lda, size_t mr, const int8_t *w, size_t G, int32_t *out,
                           size_t ldo) {
    const int8_t *ar[4];
    for (size_t r = 0; r < 4; r++) ar[r] = a0 + (r < mr ? r : mr - 1) * lda;
    int32x4_t acc[2][8];
    for (int p = 0; p < 2; p++)
        for (int c = 0; c < 8; c++) acc[p][c] = vdupq_n_s32(0);
    for (size_t g = 0; g < G; g += 2) {
        int8x16_t x0 = vcombine_s8(vld1_s8(ar[0] + g * 4), vld1_s8(ar[1] + g * 4));
        int8x16_t x1 = vcombine_s8(vld1_s8(ar[2] + g * 4), vld1_s8(ar[3] + g * 4));
        for (int q = 0; q < 4; q++) {
            int32x4_t lo = vreinterpretq_s32_s8(vld1q_s8(w + g * 64 + q * 16));
            int32x4_t hi = vreinterpretq_s32_s8(vld1q_s8(w + (g + 1) * 64 + q * 16));
            int8x16_t b0 = vreinterpretq_s8_s32(vzip1q_s32(lo, hi)); /* columns 4q, 4q+1 */
            int8x16_t b1 = vreinterpretq_s8_s32(vzip2q_s32(lo, hi)); /* columns 4q+2, 4q+3 */
            acc[0][2 * q] = vmmlaq_s32(acc[0][2 * q], x0, b0);
            acc[0][2 * q + 1] = vmmlaq_s32(acc[0][2 * q + 1], x0, b1);
            acc[1][2 * q] = vmmlaq_s32(acc[1][2 * q], x1, b0);
            acc[1][2 * q + 1] = vmmlaq_s32(acc[1][2 * q + 1], x1, b1);
        }
    }
    /* acc[p][c] = [row 2p: col 2c, 2c+1 | row 2p+1: col 2c, 2c+1] */
    for (size_t r = 0; r < 4; r++) {
        if (r >= mr) break;
        int p = (int)(r >> 1);
        for (int q = 0; q < 4; q++) {
            int64x2_t u = vreinterpretq_s64_s32(acc[p][2 * q]), v = vreinterpretq_s64_s32(acc[p][2 * q + 1]);
            int32x4_t row = vreinterpretq_s32_s64((r & 1) ? vzip2q_s64(u, v) : vzip1q_s64(u, v));
            vst1q_s32(out + r * ldo + q * 4, row);
        }
    }
}

TGT_MM void samq_gemm_i8mm(const samq_gemm_args *a) { arm_gemm_driver(a, 4, 16, mm_tile); }

/* --- f32 GEMM ----------------------------------------------------------- */

/* B as [N][K]: 4 rows x 4 columns of 4-wide dot products. */
static void sgemm_nk_tile_neon(const float *A, size_t lda, size_t mr, const float *B, size_t ldb, size_t nr,
                               size_t K, float *out, size_t ldo) {
    const float *ar[4], *br[4];
    for (size_t r = 0; r < 4; r++) ar[r] = A + (r < mr ? r : mr - 1) * lda;
    for (size_t c = 0; c < 4; c++) br[c] = B + (c < nr ? c : nr - 1) * ldb;
    float32x4_t acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = vdupq_n_f32(0.0f);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t av[4], bv[4];
        for (int r = 0; r < 4; r++) av[r] = vld1q_f32(ar[r] + k);
        for (int c = 0; c < 4; c++) bv[c] = vld1q_f32(br[c] + k);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++) acc[r][c] = vfmaq_f32(acc[r][c], av[r], bv[c]);
    }
    for (size_t r = 0; r < 4; r++) {
        if (r >= mr) break;
        for (int c = 0; c < 4; c++) {
            float s = vaddvq_f32(acc[r][c]);
            for (size_t kk = k; kk < K; kk++) s += ar[r][kk] * br[c][kk];
            out[r * ldo + c] = s;
        }
    }
}

/* B as [K][N]: 4 rows x 16 columns, broadcast A[m][k]. */
static void sgemm_kn_tile_neon(const float *A, size_t lda, size_t mr, const float *B, size_t ldb, size_t nc,
                               size_t K, float *out, size_t ldo) {
    const float *ar[4];
    for (size_t r = 0; r < 4; r++) ar[r] = A + (r < mr ? r : mr - 1) * lda;
    float32x4_t acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = vdupq_n_f32(0.0f);
    float bt[16];
    for (size_t k = 0; k < K; k++) {
        const float *brow = B + k * ldb;
        if (nc < 16) { /* column tail: copy so we never read past column nc */
            memset(bt, 0, sizeof bt);
            memcpy(bt, brow, nc * sizeof(float));
            brow = bt;
        }
        float32x4_t b[4];
        for (int c = 0; c < 4; c++) b[c] = vld1q_f32(brow + 4 * c);
        for (int r = 0; r < 4; r++) {
            float av = ar[r][k];
            for (int c = 0; c < 4; c++) acc[r][c] = vfmaq_n_f32(acc[r][c], b[c], av);
        }
    }
    for (size_t r = 0; r < 4; r++) {
        if (r >= mr) break;
        for (int c = 0; c < 4; c++) vst1q_f32(out + r * ldo + 4 * c, acc[r][c]);
    }
}

void samq_sgemm_neon(const samq_sgemm_args *a) {
    int kn = (a->flags & SAMQ_SGEMM_B_KN) != 0;
    const size_t MR = 4, ldt = F32_NBLK + 16;
    float tmp[4 * (F32_NBLK + 16)];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += F32_NBLK) {
        size_t ne = SAMQ_MIN(nb + F32_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            const float *am = a->A + m * a->lda;
            if (kn) {
                for (size_t n = nb; n < ne; n += 16)
                    sgemm_kn_tile_neon(am, a->lda, mr, a->B + n, a->ldb, SAMQ_MIN((size_t)16, ne - n), a->K,
                                       tmp + (n - nb), ldt);
            } else {
                for (size_t n = nb; n < ne; n += 4)
                    sgemm_nk_tile_neon(am, a->lda, mr, a->B + n * a->ldb, a->ldb, SAMQ_MIN((size_t)4, ne - n), a->K,
                                       tmp + (n - nb), ldt);
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                epi_f32_neon(tmp + r * ldt, width, a->bias ? a->bias + nb : NULL,
                             a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}

/* --- f32 GEMM with f16 weights (SAMQ_SGEMM_B_F16) ----------------------- */

/* 8 rows x 2 columns of 4-wide dot products; fcvtl widens 4 weights at a
 * time (baseline AArch64, no FP16 arithmetic needed). */
static void hgemm_tile_neon(const float *A, size_t lda, size_t mr, const uint16_t *B, size_t ldb, size_t nr,
                            size_t K, float *out, size_t ldo) {
    const float *ar[8];
    const uint16_t *br[2];
    for (size_t r = 0; r < 8; r++) ar[r] = A + (r < mr ? r : mr - 1) * lda;
    for (size_t c = 0; c < 2; c++) br[c] = B + (c < nr ? c : nr - 1) * ldb;
    float32x4_t acc[8][2];
    for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t b0 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(br[0] + k)));
        float32x4_t b1 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(br[1] + k)));
        for (int r = 0; r < 8; r++) {
            float32x4_t av = vld1q_f32(ar[r] + k);
            acc[r][0] = vfmaq_f32(acc[r][0], av, b0);
            acc[r][1] = vfmaq_f32(acc[r][1], av, b1);
        }
    }
    for (size_t r = 0; r < mr; r++) {
        for (int c = 0; c < 2; c++) {
            float s = vaddvq_f32(acc[r][c]);
            for (size_t kk = k; kk < K; kk++) s += ar[r][kk] * samq_half_to_float(br[c][kk]);
            out[r * ldo + c] = s;
        }
    }
}

void samq_hgemm_neon(const samq_sgemm_args *a) {
    const size_t MR = 8, ldt = F32_NBLK + 2;
    float tmp[8 * (F32_NBLK + 2)];
    for (size_t nb = a->n_begin; nb < a->n_end; nb += F32_NBLK) {
        size_t ne = SAMQ_MIN(nb + F32_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += MR) {
            size_t mr = SAMQ_MIN(MR, a->m_end - m);
            for (size_t n = nb; n < ne; n += 2)
                hgemm_tile_neon(a->A + m * a->lda, a->lda, mr, a->B_f16 + n * a->ldb, a->ldb,
                                SAMQ_MIN((size_t)2, ne - n), a->K, tmp + (n - nb), ldt);
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                epi_f32_neon(tmp + r * ldt, width, a->bias ? a->bias + nb : NULL,
                             a->residual ? a->residual + row * a->ldr + nb : NULL, a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
}

void samq_gelu_neon(float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, gelu_neon(vld1q_f32(x + i)));
    for (; i < n; i++) x[i] = samq_gelu_ref(x[i]);
}

/* --- peak loops: independent accumulator chains, registers only ---------- */

uint64_t samq_peak_neon(uint64_t it) {
    /* The GEMM's smull + smlal + sadalp sequence on 8 independent
     * accumulators, 16 MACs each. The empty asm makes every weight register
     * look modified so the compiler cannot merge or hoist the products. */
    volatile int seed = 3;
    int8x8_t a = vdup_n_s8((int8_t)seed), w[8];
    int32x4_t acc[8];
    for (int j = 0; j < 8; j++) acc[j] = vdupq_n_s32(j), w[j] = vdup_n_s8((int8_t)(seed + j));
    for (uint64_t i = 0; i < it; i++) {
        for (int j = 0; j < 8; j++) {
            __asm__ volatile("" : "+w"(w[j]));
            acc[j] = vpadalq_s16(acc[j], vmlal_s8(vmull_s8(a, w[j]), w[j], a));
        }
    }
    int32x4_t s = acc[0];
    for (int j = 1; j < 8; j++) s = vaddq_s32(s, acc[j]);
    volatile int sink = vaddvq_s32(s);
    (void)sink;
    return it * 8 * 16;
}

TGT_DOT uint64_t samq_peak_dotprod(uint64_t it) {
    volatile int seed = 3;
    int8x16_t a = vdupq_n_s8((int8_t)seed), w = vdupq_n_s8((int8_t)(seed + 1));
    int32x4_t acc[16];
    for (int j = 0; j < 16; j++) acc[j] = vdupq_n_s32(j);
    for (uint64_t i = 0; i < it; i++) {
        __asm__ volatile("" : "+w"(w));
        for (int j = 0; j < 16; j++) acc[j] = vdotq_s32(acc[j], a, w);
    }
    int32x4_t s = acc[0];
    for (int j = 1; j < 16; j++) s = vaddq_s32(s, acc[j]);
    volatile int sink = vaddvq_s32(s);
    (void)sink;
    return it * 16 * 16;
}

TGT_MM uint64_t samq_peak_i8mm(uint64_t it) {
    volatile int seed = 3;
    int8x16_t a = vdupq_n_s8((int8_t)seed), w = vdupq_n_s8((int8_t)(seed + 1));
    int32x4_t acc[16];
    for (int j = 0; j < 16; j++) acc[j] = vdupq_n_s32(j);
    for (uint64_t i = 0; i < it; i++) {
        __asm__ volatile("" : "+w"(w));
        for (int j = 0; j < 16; j++) acc[j] = vmmlaq_s32(acc[j], a, w);
    }
    int32x4_t s = acc[0];
    for (int j = 1; j < 16; j++) s = vaddq_s32(s, acc[j]);
    volatile int sink = vaddvq_s32(s);
    (void)sink;
    return it * 16 * 32;
}

#endif /* SAMQ_ARM64 */
