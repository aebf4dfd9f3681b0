/* Self-contained test of the SAMQ C kernels: every ISA this CPU supports is
 * compared with the scalar reference (and the scalar reference with naive
 * loops over the unpacked weights). Builds natively and with
 * aarch64-linux-gnu-gcc -static (see scripts/test-arm-kernels.sh).
 *
 *   kernel_test [--expect-isa NAME] [--quick]
 *
 * --expect-isa fails unless samq_isa_best() is NAME, so a qemu run proves
 * which kernel it exercised. Last line: "<passed> passed, <failed> failed". */
#include "samq_kernels.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (cond) {                                        \
            g_pass++;                                      \
        } else {                                           \
            g_fail++;                                      \
            if (g_fail <= 30) {                            \
                printf("FAIL %s:%d: ", __FILE__, __LINE__); \
                printf(__VA_ARGS__);                       \
                printf("\n");                              \
            }                                              \
        }                                                  \
    } while (0)

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
/* int8 in [-127,127] with many exact extremes: +-127 pairs are what
 * saturate vpmaddubsw if the sign trick is wrong. */
static int8_t rnd_i8(void) {
    uint32_t r = rnd() % 8;
    if (r == 0) return 127;
    if (r == 1) return -127;
    return (int8_t)((int)(rnd() % 255) - 127);
}
static float rnd_f(void) { return ((float)(rnd() % 2000001) - 1000000.0f) / 1000000.0f; }

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static const size_t Ms[] = {0, 1, 3, 5, 17};
static const size_t Ks[] = {0, 1, 3, 7, 8, 13, 64, 100, 257};
static const size_t Ns[] = {0, 1, 15, 16, 17, 33, 100};
#define SAMQ_MIN_T(a, b) ((a) < (b) ? (a) : (b))
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static samq_isa g_isas[SAMQ_ISA_COUNT];
static int g_nisa;

/* ---- packer ------------------------------------------------------------ */
static void test_packer(void) {
    for (size_t ni = 0; ni < COUNT(Ns); ni++)
        for (size_t ki = 0; ki < COUNT(Ks); ki++) {
            size_t N = Ns[ni], K = Ks[ki];
            size_t Np = (N + 15) / 16 * 16, Kp = (K + 7) / 8 * 8;
            size_t sz = samq_packed_size(N, K);
            CHECK(sz == Np * Kp + 8 * Np, "packed_size N=%zu K=%zu", N, K);
            int8_t *w = malloc(N * K + 1);
            float *sc = malloc((N + 1) * sizeof(float));
            for (size_t i = 0; i < N * K; i++) w[i] = rnd_i8();
            for (size_t i = 0; i < N; i++) sc[i] = rnd_f() + 2.0f;
            uint8_t *p = malloc(sz + 64);
            memset(p, 0xAB, sz + 64);
            samq_pack_weights_i8(w, sc, N, K, p);
            int ok = 1;
            for (size_t n = 0; n < Np; n++) {
                int32_t sum = 0;
                for (size_t k = 0; k < Kp; k++) {
                    int8_t expect = (n < N && k < K) ? w[n * K + k] : 0;
                    size_t off = (n / 16) * Kp * 16 + (k / 4) * 64 + (n % 16) * 4 + (k % 4);
                    if ((int8_t)p[off] != expect) ok = 0;
                    sum += expect;
                }
                float s;
                int32_t cs;
                memcpy(&s, p + Np * Kp + 4 * n, 4);
                memcpy(&cs, p + Np * Kp + 4 * Np + 4 * n, 4);
                if (s != (n < N ? sc[n] : 0.0f) || cs != sum) ok = 0;
            }
            for (size_t i = sz; i < sz + 64; i++)
                if (p[i] != 0xAB) ok = 0;
            CHECK(ok, "packer layout N=%zu K=%zu", N, K);
            free(w);
            free(sc);
            free(p);
        }
}

/* ---- quantize ---------------------------------------------------------- */
static void test_quantize(void) {
    const size_t Kq[] = {0, 1, 3, 7, 8, 13, 15, 16, 17, 31, 64, 100, 257};
    for (size_t ki = 0; ki < COUNT(Kq); ki++) {
        size_t K = Kq[ki], M = 9, Kp = (K + 7) / 8 * 8, ldx = K + 3, ldq = Kp + 5;
        float *x = malloc((M * ldx + 1) * sizeof(float));
        for (size_t i = 0; i < M * ldx; i++) x[i] = rnd_f() * 10.0f;
        /* row 1: all zero; row 2: NaN/inf mix; row 3: only NaN/inf; row 4: denormals; row 5: extremes */
        for (size_t k = 0; k < K; k++) {
            x[1 * ldx + k] = 0.0f;
            x[3 * ldx + k] = (k % 2) ? NAN : -INFINITY;
            x[4 * ldx + k] = 1e-39f * (float)(k + 1);
            x[5 * ldx + k] = (k % 3 == 0) ? 1e30f : -1e-30f;
        }
        if (K >= 1) x[2 * ldx + 0] = NAN;
        if (K >= 2) x[2 * ldx + 1] = INFINITY;
        if (K >= 3) x[2 * ldx + 2] = -INFINITY;
        if (K >= 4) x[6 * ldx + 3] = -0.0f;
        /* exact .5 ties: amax 127 makes inv 1, so x*inv is x */
        if (K >= 8) {
            x[7 * ldx + 0] = 127.0f;
            x[7 * ldx + 1] = 2.5f;
            x[7 * ldx + 2] = -2.5f;
            x[7 * ldx + 3] = 3.5f;
            x[7 * ldx + 4] = 0.5f;
            x[7 * ldx + 5] = -126.5f;
        }
        int8_t *q0 = malloc(M * ldq), *q1 = malloc(M * ldq);
        float rs0[9], rs1[9];
        memset(q0, 0x5A, M * ldq);
        samq_quantize_rows(SAMQ_ISA_SCALAR, x, M, K, ldx, q0, ldq, rs0);
        /* reference semantics */
        int ok = 1;
        for (size_t m = 0; m < M; m++) {
            for (size_t k = K; k < Kp; k++)
                if (q0[m * ldq + k] != 0) ok = 0;
            for (size_t k = Kp; k < ldq; k++)
                if (q0[m * ldq + k] != 0x5A) ok = 0;
            for (size_t k = 0; k < K; k++) {
                float v = x[m * ldx + k];
                int q = q0[m * ldq + k];
                if (q < -127 || q > 127) ok = 0;
                if (rs0[m] == 0.0f) {
                    if (q != 0) ok = 0;
                } else if (isnan(v)) {
                    if (q != 0) ok = 0;
                } else if (isinf(v)) {
                    if (q != (v > 0 ? 127 : -127)) ok = 0;
                } else if (fabs((double)q * rs0[m] - v) > 0.5001 * rs0[m]) {
                    ok = 0;
                }
            }
        }
        if (K >= 1) {
            CHECK(rs0[1] == 0.0f && rs0[3] == 0.0f && rs0[4] == 0.0f, "zero/nonfinite/denormal rows K=%zu", K);
        }
        if (K >= 8) {
            const int8_t *r7 = q0 + 7 * ldq;
            CHECK(rs0[7] == 1.0f && r7[0] == 127 && r7[1] == 2 && r7[2] == -2 && r7[3] == 4 && r7[4] == 0 &&
                      r7[5] == -126,
                  "nearest-even ties K=%zu", K);
        }
        CHECK(ok, "quantize scalar semantics K=%zu", K);
        for (int i = 0; i < g_nisa; i++) {
            memset(q1, 0x5A, M * ldq);
            samq_quantize_rows(g_isas[i], x, M, K, ldx, q1, ldq, rs1);
            CHECK(memcmp(q0, q1, M * ldq) == 0 && memcmp(rs0, rs1, sizeof(float) * M) == 0,
                  "quantize %s K=%zu identical", samq_isa_name(g_isas[i]), K);
        }
        free(x);
        free(q0);
        free(q1);
    }
}

/* ---- GELU accuracy ------------------------------------------------------ */
static void test_gelu(void) {
    double maxerr = 0;
    for (int i = -200000; i <= 200000; i++) {
        float y = (float)i * 1e-4f; /* [-20, 20] */
        double exact = 0.5 * (double)y * (1.0 + erf((double)y / sqrt(2.0)));
        double err = fabs((double)samq_gelu(y) - exact) / fmax(1.0, fabs((double)y));
        if (err > maxerr) maxerr = err;
    }
    CHECK(maxerr < 2e-7, "gelu max error %.3g", maxerr);
    CHECK(samq_gelu(0.0f) == 0.0f && samq_gelu(1e30f) == 1e30f && samq_gelu(-1e30f) == -0.0f &&
              samq_gelu(INFINITY) == INFINITY,
          "gelu special values");
    printf("gelu: max |err|/max(1,|y|) = %.3g\n", maxerr);
}

/* ---- int8 GEMM --------------------------------------------------------- */
typedef struct {
    size_t M, N, K, Kp, lda, ldc;
    int8_t *A, *W;
    void *P;
    float *rs, *sc, *bias, *res;
} gcase;

static void gcase_make(gcase *c, size_t M, size_t N, size_t K) {
    c->M = M;
    c->N = N;
    c->K = K;
    c->Kp = (K + 7) / 8 * 8;
    c->lda = c->Kp + (M % 2) * 8; /* both ld == Kp and ld > Kp */
    c->ldc = N + 3;
    c->A = calloc(M * c->lda + 1, 1);
    c->W = malloc(N * K + 1);
    for (size_t m = 0; m < M; m++)
        for (size_t k = 0; k < K; k++) c->A[m * c->lda + k] = rnd_i8();
    for (size_t i = 0; i < N * K; i++) c->W[i] = rnd_i8();
    c->rs = malloc((M + 1) * sizeof(float));
    c->sc = malloc((N + 1) * sizeof(float));
    c->bias = malloc((N + 1) * sizeof(float));
    c->res = malloc((M * c->ldc + 1) * sizeof(float));
    for (size_t m = 0; m < M; m++) c->rs[m] = (rnd_f() + 1.5f) * 0.01f;
    for (size_t n = 0; n < N; n++) {
        c->sc[n] = (rnd_f() + 1.5f) * 0.01f;
        c->bias[n] = rnd_f();
    }
    for (size_t i = 0; i < M * c->ldc; i++) c->res[i] = rnd_f();
    c->P = malloc(samq_packed_size(N, K) + 4);
    samq_pack_weights_i8(c->W, c->sc, N, K, c->P);
}
static void gcase_free(gcase *c) {
    free(c->A);
    free(c->W);
    free(c->P);
    free(c->rs);
    free(c->sc);
    free(c->bias);
    free(c->res);
}

static samq_gemm_args gargs(const gcase *c, uint32_t flags, int use_bias, int use_res) {
    samq_gemm_args a;
    memset(&a, 0, sizeof a);
    a.M = c->M;
    a.N = c->N;
    a.K = c->K;
    a.A = c->A;
    a.lda = c->lda;
    a.row_scale = c->rs;
    a.packed_w = c->P;
    a.bias = use_bias ? c->bias : NULL;
    a.residual = use_res ? c->res : NULL;
    a.ldr = c->ldc;
    a.ldc = c->ldc;
    a.flags = flags;
    a.m_end = c->M;
    a.n_end = c->N;
    return a;
}

#define SENT_I32 0x7eadbeef
static const float SENT_F = -12345.5f;

static void test_gemm_i8(void) {
    for (size_t mi = 0; mi < COUNT(Ms); mi++)
        for (size_t ki = 0; ki < COUNT(Ks); ki++)
            for (size_t ni = 0; ni < COUNT(Ns); ni++) {
                size_t M = Ms[mi], K = Ks[ki], N = Ns[ni];
                gcase c;
                gcase_make(&c, M, N, K);
                size_t csz = M * c.ldc + 1;
                int32_t *ref = malloc(csz * 4), *got = malloc(csz * 4);
                float *f0 = malloc(csz * 4), *f1 = malloc(csz * 4);
                /* naive accumulators from the unpacked weights */
                for (size_t i = 0; i < csz; i++) ref[i] = SENT_I32;
                for (size_t m = 0; m < M; m++)
                    for (size_t n = 0; n < N; n++) {
                        int32_t s = 0;
                        for (size_t k = 0; k < K; k++) s += (int32_t)c.A[m * c.lda + k] * c.W[n * K + k];
                        ref[m * c.ldc + n] = s;
                    }
                for (int i = -1; i < g_nisa; i++) {
                    samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                    samq_gemm_args a = gargs(&c, SAMQ_GEMM_RAW_I32, 0, 0);
                    a.C_i32 = got;
                    for (size_t j = 0; j < csz; j++) got[j] = SENT_I32;
                    int rc = samq_gemm_i8(isa, &a);
                    CHECK(rc == 0 && memcmp(ref, got, csz * 4) == 0, "int32 acc %s M=%zu N=%zu K=%zu",
                          samq_isa_name(isa), M, N, K);
                }
                /* the f32 epilogue: scalar must be close to the formula, SIMD identical to scalar */
                for (int mode = 0; mode < 8; mode++) {
                    uint32_t flags = (mode & 4) ? SAMQ_GEMM_GELU : 0;
                    samq_gemm_args a = gargs(&c, flags, mode & 1, (mode >> 1) & 1);
                    for (size_t j = 0; j < csz; j++) f0[j] = SENT_F;
                    a.C = f0;
                    samq_gemm_i8(SAMQ_ISA_SCALAR, &a);
                    int ok = f0[csz - 1] == SENT_F;
                    for (size_t m = 0; m < M; m++)
                        for (size_t n = 0; n < N; n++) {
                            double y = (double)ref[m * c.ldc + n] * c.rs[m] * c.sc[n];
                            if (mode & 1) y += c.bias[n];
                            if (mode & 4) y = 0.5 * y * (1.0 + erf(y / sqrt(2.0)));
                            if (mode & 2) y += c.res[m * c.ldc + n];
                            if (fabs(f0[m * c.ldc + n] - y) > 1e-5 * fmax(1.0, fabs(y))) ok = 0;
                        }
                    CHECK(ok, "scalar epilogue mode=%d M=%zu N=%zu K=%zu", mode, M, N, K);
                    for (int i = 0; i < g_nisa; i++) {
                        for (size_t j = 0; j < csz; j++) f1[j] = SENT_F;
                        a.C = f1;
                        samq_gemm_i8(g_isas[i], &a);
                        CHECK(same_bits(f0, f1, csz), "f32 epilogue %s mode=%d M=%zu N=%zu K=%zu",
                              samq_isa_name(g_isas[i]), mode, M, N, K);
                    }
                }
                free(ref);
                free(got);
                free(f0);
                free(f1);
                gcase_free(&c);
            }
}

/* Tiles over rows and 16-column panels must compose to one full call, and
 * the residual may alias the output. */
static void test_gemm_splits(void) {
    const size_t shapes[][3] = {{17, 100, 257}, {33, 70, 64}, {9, 300, 40}};
    for (size_t s = 0; s < COUNT(shapes); s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        gcase c;
        gcase_make(&c, M, N, K);
        size_t csz = M * c.ldc;
        float *full = malloc(csz * 4), *part = malloc(csz * 4), *alias = malloc(csz * 4);
        for (int i = -1; i < g_nisa; i++) {
            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
            samq_gemm_args a = gargs(&c, SAMQ_GEMM_GELU, 1, 1);
            memcpy(full, c.res, csz * 4); /* padding columns then match the alias run */
            a.C = full;
            samq_gemm_i8(isa, &a);
            memcpy(part, c.res, csz * 4);
            size_t mcuts[] = {0, 1, 6, M / 2 + 1 > 6 ? M / 2 + 1 : 6, M};
            size_t ncuts[] = {0, 16, 48, 64, N};
            int rc = 0;
            for (int mi = 0; mi + 1 < 5; mi++)
                for (int nj = 0; nj + 1 < 5; nj++) {
                    samq_gemm_args b = a;
                    b.C = part;
                    b.m_begin = SAMQ_MIN_T(mcuts[mi], M);
                    b.m_end = SAMQ_MIN_T(mcuts[mi + 1], M);
                    b.n_begin = SAMQ_MIN_T(ncuts[nj], N);
                    b.n_end = SAMQ_MIN_T(ncuts[nj + 1], N);
                    if (b.m_begin > b.m_end || b.n_begin > b.n_end) continue;
                    rc |= samq_gemm_i8(isa, &b);
                }
            CHECK(rc == 0 && same_bits(full, part, csz), "gemm split %s shape %zu", samq_isa_name(isa), s);
            /* residual aliasing the output */
            memcpy(alias, c.res, csz * 4);
            samq_gemm_args b = a;
            b.C = alias;
            b.residual = alias;
            samq_gemm_i8(isa, &b);
            CHECK(same_bits(full, alias, csz), "gemm residual alias %s", samq_isa_name(isa));
        }
        free(full);
        free(part);
        free(alias);
        gcase_free(&c);
    }
}

static void test_gemm_invalid(void) {
    gcase c;
    gcase_make(&c, 4, 40, 24);
    float out[4 * 43];
    samq_gemm_args a = gargs(&c, 0, 0, 0);
    a.C = out;
    samq_gemm_args b = a;
    b.n_begin = 8;
    CHECK(samq_gemm_i8(SAMQ_ISA_SCALAR, &b) == -1, "n_begin not multiple of 16 rejected");
    b = a;
    b.n_end = 20;
    CHECK(samq_gemm_i8(SAMQ_ISA_SCALAR, &b) == -1, "n_end not multiple of 16 rejected");
    b = a;
    b.m_end = 5;
    CHECK(samq_gemm_i8(SAMQ_ISA_SCALAR, &b) == -1, "m_end > M rejected");
    b = a;
    b.lda = 20;
    CHECK(samq_gemm_i8(SAMQ_ISA_SCALAR, &b) == -1, "lda < Kp rejected");
    CHECK(samq_gemm_i8((samq_isa)99, &a) == -1, "unknown isa rejected");
    CHECK(samq_isa_from_name("avx2") == SAMQ_ISA_AVX2 && samq_isa_from_name("i8mm") == SAMQ_ISA_I8MM &&
              samq_isa_from_name("bogus") == -1 && samq_isa_from_name(NULL) == -1,
          "isa names");
    gcase_free(&c);
}

/* ---- f32 GEMM ---------------------------------------------------------- */
static void test_sgemm(void) {
    const size_t Ksg[] = {0, 1, 3, 7, 8, 13, 64, 100, 257};
    for (size_t mi = 0; mi < COUNT(Ms); mi++)
        for (size_t ki = 0; ki < COUNT(Ksg); ki++)
            for (size_t ni = 0; ni < COUNT(Ns); ni++)
                for (int kn = 0; kn < 2; kn++) {
                    size_t M = Ms[mi], K = Ksg[ki], N = Ns[ni];
                    size_t lda = K + 1, ldb = kn ? N + 2 : K + 3, ldc = N + 1;
                    float *A = malloc((M * lda + 1) * 4), *B = malloc(((kn ? K : N) * ldb + 1) * 4);
                    float *bias = malloc((N + 1) * 4), *res = malloc((M * ldc + 1) * 4);
                    float *C = malloc((M * ldc + 1) * 4);
                    double *ref = malloc((M * ldc + 1) * 8), *mag = malloc((M * ldc + 1) * 8);
                    for (size_t i = 0; i < M * lda; i++) A[i] = rnd_f();
                    for (size_t i = 0; i < (kn ? K : N) * ldb; i++) B[i] = rnd_f();
                    for (size_t i = 0; i < N; i++) bias[i] = rnd_f();
                    for (size_t i = 0; i < M * ldc; i++) res[i] = rnd_f();
                    for (int mode = 0; mode < 8; mode += (mode == 0 ? 7 : 1)) { /* plain and everything */
                        for (size_t m = 0; m < M; m++)
                            for (size_t n = 0; n < N; n++) {
                                double s = 0, g = 0;
                                for (size_t k = 0; k < K; k++) {
                                    double p = (double)A[m * lda + k] * (kn ? B[k * ldb + n] : B[n * ldb + k]);
                                    s += p;
                                    g += fabs(p);
                                }
                                if (mode & 1) s += bias[n], g += fabs(bias[n]);
                                if (mode & 4) s = 0.5 * s * (1.0 + erf(s / sqrt(2.0)));
                                if (mode & 2) s += res[m * ldc + n], g += fabs(res[m * ldc + n]);
                                ref[m * ldc + n] = s;
                                mag[m * ldc + n] = g;
                            }
                        for (int i = -1; i < g_nisa; i++) {
                            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                            samq_sgemm_args a;
                            memset(&a, 0, sizeof a);
                            a.M = M, a.N = N, a.K = K, a.A = A, a.lda = lda, a.B = B, a.ldb = ldb;
                            a.bias = (mode & 1) ? bias : NULL;
                            a.residual = (mode & 2) ? res : NULL;
                            a.ldr = ldc, a.C = C, a.ldc = ldc;
                            a.flags = (kn ? SAMQ_SGEMM_B_KN : 0) | ((mode & 4) ? SAMQ_SGEMM_GELU : 0);
                            a.m_end = M, a.n_end = N;
                            for (size_t j = 0; j < M * ldc + 1; j++) C[j] = SENT_F;
                            int rc = samq_sgemm(isa, &a);
                            int ok = rc == 0 && C[M * ldc] == SENT_F;
                            for (size_t m = 0; m < M; m++)
                                for (size_t n = 0; n < N; n++) {
                                    double e = fabs(C[m * ldc + n] - ref[m * ldc + n]);
                                    if (!(e <= 1e-5 * (mag[m * ldc + n] + 1e-3))) ok = 0;
                                }
                            CHECK(ok, "sgemm %s kn=%d mode=%d M=%zu N=%zu K=%zu", samq_isa_name(isa), kn, mode, M,
                                  N, K);
                        }
                    }
                    free(A), free(B), free(bias), free(res), free(C), free(ref), free(mag);
                }
    /* splits compose exactly (same tiles compute the same sums) */
    size_t M = 23, N = 70, K = 150;
    for (int kn = 0; kn < 2; kn++)
        for (int i = -1; i < g_nisa; i++) {
            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
            size_t lda = K, ldb = kn ? N : K, ldc = N;
            float *A = malloc(M * lda * 4), *B = malloc((kn ? K : N) * ldb * 4), *C0 = malloc(M * ldc * 4),
                  *C1 = malloc(M * ldc * 4), *bias = malloc(N * 4);
            for (size_t j = 0; j < M * lda; j++) A[j] = rnd_f();
            for (size_t j = 0; j < (kn ? K : N) * ldb; j++) B[j] = rnd_f();
            for (size_t j = 0; j < N; j++) bias[j] = rnd_f();
            samq_sgemm_args a;
            memset(&a, 0, sizeof a);
            a.M = M, a.N = N, a.K = K, a.A = A, a.lda = lda, a.B = B, a.ldb = ldb, a.C = C0, a.ldc = ldc;
            a.bias = bias, a.flags = (kn ? SAMQ_SGEMM_B_KN : 0) | SAMQ_SGEMM_GELU, a.m_end = M, a.n_end = N;
            samq_sgemm(isa, &a);
            size_t mc[] = {0, 5, 12, M}, nc[] = {0, 64, N};
            for (int x = 0; x < 3; x++)
                for (int y = 0; y < 2; y++) {
                    samq_sgemm_args b = a;
                    b.C = C1, b.m_begin = mc[x], b.m_end = mc[x + 1], b.n_begin = nc[y], b.n_end = nc[y + 1];
                    samq_sgemm(isa, &b);
                }
            CHECK(same_bits(C0, C1, M * ldc), "sgemm split %s kn=%d", samq_isa_name(isa), kn);
            free(A), free(B), free(C0), free(C1), free(bias);
        }
}

static void test_peak(void) {
    for (int i = -1; i < g_nisa; i++) {
        samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
        CHECK(samq_peak_i8(isa, 100) > 0, "peak %s", samq_isa_name(isa));
    }
}

int main(int argc, char **argv) {
    const char *expect = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--expect-isa") == 0 && i + 1 < argc) expect = argv[++i];
    printf("samq kernels v%d; supported:", samq_kernels_version());
    for (int i = 1; i < SAMQ_ISA_COUNT; i++)
        if (samq_isa_supported((samq_isa)i)) {
            g_isas[g_nisa++] = (samq_isa)i;
            printf(" %s", samq_isa_name((samq_isa)i));
        }
    printf("; best: %s\n", samq_isa_name(samq_isa_best()));
    if (expect) CHECK(strcmp(expect, samq_isa_name(samq_isa_best())) == 0, "expected best isa %s", expect);
    test_packer();
    test_quantize();
    test_gelu();
    test_gemm_i8();
    test_gemm_splits();
    test_gemm_invalid();
    test_sgemm();
    test_peak();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
