/* Self-contained test of the SAMQ C kernels: every ISA this CPU supports is
 * compared with the scalar reference (and the scalar reference with naive
 * loops over the unpacked weights). Builds natively and with
 * aarch64-linux-gnu-gcc -static (see scripts/test-arm-kernels.sh).
 *
 *   kernel_test [--expect-isa NAME]
 *   kernel_test --bench-dw      (single-thread GFLOP/s of samq_dwconv3x3 per ISA)
 *
 * --expect-isa fails unless samq_isa_best() is NAME, so a qemu run proves
 * which kernel it exercised. Last line: "<passed> passed, <failed> failed". */
#include "samq_kernels.h"
#include "samq_attention.h"
#include "samq_layernorm.h"
#include "samq_resize.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- column packing (Vᵀ) ---------------------------------------------- */
/* samq_pack_columns_i8 against transpose + scalar samq_quantize_rows + the
 * reference packer, on every ISA, padding bytes included. */
static void test_pack_columns(void) {
    static const size_t rows_[] = {0, 1, 3, 4, 5, 17, 64, 100, 257};
    static const size_t cols_[] = {1, 15, 16, 17, 33, 64, 100};
    for (size_t ri = 0; ri < COUNT(rows_); ri++)
        for (size_t ci = 0; ci < COUNT(cols_); ci++) {
            size_t rows = rows_[ri], cols = cols_[ci], ld = cols + 3;
            float *x = malloc((rows * ld + 1) * sizeof(float));
            for (size_t i = 0; i < rows * ld; i++) x[i] = rnd_f() * (i % 7 == 0 ? 50.0f : 1.0f);
            if (rows > 2 && cols > 3) {
                x[ld + 1] = NAN, x[2 * ld + 2] = INFINITY, x[3] = -INFINITY;
                for (size_t r = 0; r < rows; r++) x[r * ld + cols - 1] = 0.0f;
                x[ld + cols - 2] = 1e-35f;
            }
            float *t = malloc((rows * cols + 1) * sizeof(float));
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cols; c++) t[c * rows + r] = x[r * ld + c];
            int8_t *q = calloc(rows * cols + 1, 1);
            float *sc = calloc(cols, sizeof(float));
            if (rows > 0) samq_quantize_rows(SAMQ_ISA_SCALAR, t, cols, rows, rows, q, rows, sc);
            size_t sz = samq_packed_size(cols, rows);
            uint8_t *ref = malloc(sz + 1), *out = malloc(sz + 64);
            samq_pack_weights_i8(q, sc, cols, rows, ref);
            for (int i = -1; i < g_nisa; i++) {
                samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                memset(out, 0xA5, sz + 64);
                samq_pack_columns_i8(isa, x, rows, cols, ld, out);
                int ok = memcmp(out, ref, sz) == 0;
                for (size_t j = sz; j < sz + 64; j++)
                    if (out[j] != 0xA5) ok = 0;
                CHECK(ok, "pack_columns %s rows=%zu cols=%zu", samq_isa_name(isa), rows, cols);
            }
            free(x), free(t), free(q), free(sc), free(ref), free(out);
        }
}

/* ---- rel-pos fill ------------------------------------------------------ */
static void test_relpos_fill(void) {
    static const size_t sizes[] = {1, 3, 7, 14, 16, 17, 64};
    for (size_t si = 0; si < COUNT(sizes); si++)
        for (size_t rows = 0; rows < 4; rows++) {
            size_t size = sizes[si], lds = size * size + 5;
            float *h = malloc((rows * size + 1) * sizeof(float)), *w = malloc((rows * size + 1) * sizeof(float));
            float *s = malloc((rows * lds + 16) * sizeof(float));
            for (size_t i = 0; i < rows * size; i++) h[i] = rnd_f(), w[i] = rnd_f();
            for (int i = -1; i < g_nisa; i++) {
                samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                for (size_t j = 0; j < rows * lds + 16; j++) s[j] = -7.0f;
                samq_relpos_fill(isa, s, lds, rows, size, h, w);
                int ok = 1;
                for (size_t r = 0; r < rows; r++)
                    for (size_t c = 0; c < lds; c++) {
                        float expect = c < size * size ? h[r * size + c / size] + w[r * size + c % size] : -7.0f;
                        if (s[r * lds + c] != expect) ok = 0;
                    }
                for (size_t j = rows * lds; j < rows * lds + 16; j++)
                    if (s[j] != -7.0f) ok = 0;
                CHECK(ok, "relpos_fill %s size=%zu rows=%zu", samq_isa_name(isa), size, rows);
            }
            free(h), free(w), free(s);
        }
}

/* ---- streamed softmax partial ------------------------------------------ */
/* Every ISA against scalar: max and exponentials bit for bit; sums within
 * 1e-6 relative (gcc may contract the scalar mul+add into FMAs on aarch64). */
static int close_rel(const float *a, const float *b, size_t n, float tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol * fmaxf(1.0f, fabsf(b[i])))) return 0;
    return 1;
}
static void test_softmax_partial(void) {
    static const size_t pixels_[] = {0, 1, 3, 17, 128};
    static const size_t rows_[][2] = {{1, 1}, {3, 1}, {9, 3}, {17, 17}, {56, 7}};
    static const size_t hds[] = {1, 8, 12, 16, 20, 24};
    for (size_t pi = 0; pi < COUNT(pixels_); pi++)
        for (size_t ri = 0; ri < COUNT(rows_); ri++)
            for (size_t hi = 0; hi < COUNT(hds); hi++) {
                size_t pixels = pixels_[pi], rows = rows_[ri][0], group = rows_[ri][1], hd = hds[hi];
                size_t ldv = (rows + group - 1) / group * hd + 3;
                float *s0 = malloc((pixels * rows + 1) * sizeof(float)), *v = malloc((pixels * ldv + 1) * sizeof(float));
                float *s = malloc((pixels * rows + 1) * sizeof(float)), *rs = malloc((pixels * rows + 1) * sizeof(float));
                float *mx = malloc(rows * sizeof(float)), *sum = malloc(rows * sizeof(float));
                float *acc = malloc(rows * hd * sizeof(float));
                float *rmx = malloc(rows * sizeof(float)), *rsum = malloc(rows * sizeof(float));
                float *racc = malloc(rows * hd * sizeof(float));
                for (size_t i = 0; i < pixels * rows; i++) s0[i] = 12.0f * rnd_f();
                for (size_t i = 0; i < pixels * ldv; i++) v[i] = rnd_f();
                memcpy(rs, s0, pixels * rows * sizeof(float));
                samq_softmax_partial(SAMQ_ISA_SCALAR, rs, pixels, rows, group, v, ldv, hd, rmx, rsum, racc);
                for (int i = 0; i < g_nisa; i++) {
                    memcpy(s, s0, pixels * rows * sizeof(float));
                    samq_softmax_partial(g_isas[i], s, pixels, rows, group, v, ldv, hd, mx, sum, acc);
                    int ok = same_bits(mx, rmx, rows) && same_bits(s, rs, pixels * rows) &&
                             close_rel(sum, rsum, rows, 1e-6f) && close_rel(acc, racc, rows * hd, 1e-6f);
                    CHECK(ok, "softmax_partial %s pixels=%zu rows=%zu group=%zu hd=%zu", samq_isa_name(g_isas[i]),
                          pixels, rows, group, hd);
                }
                free(s0), free(v), free(s), free(rs), free(mx), free(sum), free(acc), free(rmx), free(rsum), free(racc);
            }
}

/* ---- elementwise: add, softmax across 8-lane groups --------------------- */
static void test_add_and_softmax_lanes(void) {
    static const size_t ns[] = {0, 1, 3, 7, 8, 17, 100};
    for (size_t ni = 0; ni < COUNT(ns); ni++) {
        size_t n = ns[ni];
        float *a = malloc((n + 1) * sizeof(float)), *b = malloc((n + 1) * sizeof(float));
        float *out = malloc((n + 4) * sizeof(float));
        for (size_t i = 0; i < n; i++) a[i] = rnd_f(), b[i] = rnd_f();
        for (int i = -1; i < g_nisa; i++) {
            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
            for (size_t j = 0; j < n + 4; j++) out[j] = -7.0f;
            samq_add_f32(isa, a, b, out, n);
            int ok = 1;
            for (size_t j = 0; j < n; j++) ok &= out[j] == a[j] + b[j];
            for (size_t j = n; j < n + 4; j++) ok &= out[j] == -7.0f;
            CHECK(ok, "add_f32 %s n=%zu", samq_isa_name(isa), n);
        }
        free(a), free(b), free(out);
    }
    static const size_t groups_[] = {1, 2, 5, 13};
    for (size_t gi = 0; gi < COUNT(groups_); gi++)
        for (size_t rows = 0; rows < 4; rows++) {
            size_t groups = groups_[gi], ld = groups * 8 + 5, total = rows * ld + 1;
            float *x = malloc(total * sizeof(float)), *ref = malloc(total * sizeof(float));
            float *p = malloc(total * sizeof(float));
            for (size_t j = 0; j < total; j++) x[j] = 10.0f * rnd_f();
            memcpy(ref, x, total * sizeof(float));
            samq_softmax_lanes8(SAMQ_ISA_SCALAR, ref, rows, groups, ld);
            for (int i = 0; i < g_nisa; i++) {
                memcpy(p, x, total * sizeof(float));
                samq_softmax_lanes8(g_isas[i], p, rows, groups, ld);
                CHECK(same_bits(p, ref, total), "softmax_lanes8 %s groups=%zu rows=%zu", samq_isa_name(g_isas[i]),
                      groups, rows);
            }
            free(x), free(ref), free(p);
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

/* ---- softmax + int8 code of P ------------------------------------------ */
static void test_softmax_q8(void) {
    const size_t counts[] = {0, 1, 3, 15, 16, 17, 31, 33, 196, 4099};
    enum { R = 7 };
    for (size_t ci = 0; ci < COUNT(counts); ci++) {
        size_t n = counts[ci], padded = (n + 7) / 8 * 8, lds = n + 5, ldq = padded + 9;
        float *s = malloc((R * lds + 1) * sizeof(float));
        for (size_t i = 0; i < R * lds; i++) s[i] = rnd_f() * 8.0f;
        for (size_t j = 0; j < n; j++) {
            if (j % 3 == 0) s[1 * lds + j] = -INFINITY;  /* masked keys */
            s[2 * lds + j] = -INFINITY;                   /* nothing to attend to */
            if (j % 5 == 1) s[3 * lds + j] = NAN;         /* NaN ignored by the max */
            s[5 * lds + j] = -300.0f * (float)(j % 4);   /* far below the max: exponent floor */
            s[6 * lds + j] = 3.0f;                        /* ties: every code 127 */
        }
        if (n >= 2) s[4 * lds + 1] = INFINITY;            /* +inf max: degenerate */
        int8_t *q0 = malloc(R * ldq), *q1 = malloc(R * ldq);
        float sc0[R], sc1[R];
        memset(q0, 0x5A, R * ldq);
        samq_softmax_q8_rows(SAMQ_ISA_SCALAR, s, R, n, lds, q0, ldq, padded, sc0);
        int ok = 1;
        for (size_t r = 0; r < R; r++) {
            const float *row = s + r * lds;
            const int8_t *qr = q0 + r * ldq;
            double m = -INFINITY;
            for (size_t j = 0; j < n; j++)
                if (row[j] > m) m = row[j];
            for (size_t j = n; j < padded; j++) ok &= qr[j] == 0;
            for (size_t j = padded; j < ldq; j++) ok &= qr[j] == 0x5A;
            if (!isfinite(m)) {
                ok &= sc0[r] == 0.0f;
                for (size_t j = 0; j < n; j++) ok &= qr[j] == 0;
                continue;
            }
            double sum = 0;
            for (size_t j = 0; j < n; j++) {
                double e = isnan(row[j]) ? 0 : exp2((double)row[j] - m);
                sum += e;
                double want = nearbyint(254.0 * e) - 127.0;
                ok &= qr[j] >= -127 && fabs((double)qr[j] - want) <= 1.0;
            }
            ok &= fabs(sc0[r] * 254.0 * sum - 1.0) < 3e-3;
        }
        CHECK(ok, "softmax_q8 scalar semantics n=%zu", n);
        if (n >= 2) CHECK(sc0[4] == 0.0f && sc0[2] == 0.0f, "softmax_q8 degenerate rows n=%zu", n);
        if (n >= 1) CHECK(q0[6 * ldq] == 127, "softmax_q8 max codes to 127 n=%zu", n);
        for (int i = 0; i < g_nisa; i++) {
            memset(q1, 0x5A, R * ldq);
            samq_softmax_q8_rows(g_isas[i], s, R, n, lds, q1, ldq, padded, sc1);
            CHECK(memcmp(q0, q1, R * ldq) == 0 && memcmp(sc0, sc1, sizeof sc0) == 0,
                  "softmax_q8 %s n=%zu identical", samq_isa_name(g_isas[i]), n);
        }
        /* rows == 0 writes nothing */
        memset(q1, 0x5A, R * ldq);
        samq_softmax_q8_rows(SAMQ_ISA_SCALAR, s, 0, n, lds, q1, ldq, padded, sc1);
        int untouched = 1;
        for (size_t i = 0; i < R * ldq; i++) untouched &= q1[i] == 0x5A;
        CHECK(untouched, "softmax_q8 rows=0 n=%zu", n);
        free(s);
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

/* ---- f32 GEMM on bf16-rounded operands ---------------------------------- */
static float bf16_f(uint16_t h) { float x; uint32_t u = (uint32_t)h << 16; memcpy(&x, &u, 4); return x; }

static void test_bf16gemm(void) {
    /* K past 512 crosses the AVX-512 kernel's K blocks; tiny and subnormal
     * values exercise the flush-to-zero steps. */
    const size_t Kb[] = {0, 1, 2, 3, 7, 13, 56, 100, 513, 1100};
    const size_t Mb[] = {0, 1, 3, 8, 9, 17};
    uint16_t probe[] = {samq_bf16_round(1.0f), samq_bf16_round(1.00390625f), samq_bf16_round(1.005859375f),
                        samq_bf16_round(1e-39f), samq_bf16_round(-1e-39f), samq_bf16_round(NAN)};
    CHECK(probe[0] == 0x3f80 && probe[1] == 0x3f80 && probe[2] == 0x3f81 && probe[3] == 0 && probe[4] == 0x8000 &&
              (probe[5] & 0x7fc0) == 0x7fc0,
          "bf16 rounding: nearest even, subnormals to signed zero, quiet NaN");
    for (size_t mi = 0; mi < COUNT(Mb); mi++)
        for (size_t ki = 0; ki < COUNT(Kb); ki++)
            for (size_t ni = 0; ni < COUNT(Ns); ni++) {
                size_t M = Mb[mi], K = Kb[ki], N = Ns[ni];
                size_t lda = K + 1, ldb = N + 2, ldc = N + 1, pairs = (K + 1) / 2;
                float *A = malloc((M * lda + 1) * 4), *B = malloc((K * ldb + 1) * 4);
                uint32_t *Bp = malloc((pairs * ldb + 1) * 4);
                float *bias = malloc((N + 1) * 4), *res = malloc((M * ldc + 1) * 4);
                float *C0 = malloc((M * ldc + 1) * 4), *C1 = malloc((M * ldc + 1) * 4);
                for (size_t i = 0; i < M * lda; i++)
                    A[i] = rnd() % 23 == 0 ? rnd_f() * 1e-37f : rnd_f();
                for (size_t i = 0; i < K * ldb; i++) B[i] = rnd() % 31 == 0 ? rnd_f() * 1e-30f : rnd_f();
                for (size_t i = 0; i < N; i++) bias[i] = rnd_f();
                for (size_t i = 0; i < M * ldc; i++) res[i] = rnd_f();
                samq_bf16_pack_kn(B, K, N, ldb, Bp, ldb);
                int packed_ok = 1;
                for (size_t j = 0; j < pairs; j++)
                    for (size_t n = 0; n < N; n++) {
                        uint32_t w = Bp[j * ldb + n];
                        if ((w & 0xffff) != samq_bf16_round(B[2 * j * ldb + n])) packed_ok = 0;
                        if ((w >> 16) != (2 * j + 1 < K ? samq_bf16_round(B[(2 * j + 1) * ldb + n]) : 0)) packed_ok = 0;
                    }
                CHECK(packed_ok, "bf16 pack_kn K=%zu N=%zu", K, N);
                for (int mode = 0; mode < 8; mode += (mode == 0 ? 7 : 1)) {
                    samq_bf16gemm_args a;
                    memset(&a, 0, sizeof a);
                    a.M = M, a.N = N, a.K = K, a.A = A, a.lda = lda, a.B = Bp, a.ldb = ldb;
                    a.bias = (mode & 1) ? bias : NULL;
                    a.residual = (mode & 2) ? res : NULL;
                    a.ldr = ldc, a.C = C0, a.ldc = ldc, a.flags = (mode & 4) ? SAMQ_SGEMM_GELU : 0;
                    a.m_end = M, a.n_end = N;
                    for (size_t j = 0; j < M * ldc + 1; j++) C0[j] = SENT_F;
                    int rc = samq_bf16gemm(SAMQ_ISA_SCALAR, &a);
                    /* the emulation against a double sum of the rounded operands */
                    int ok = rc == 0 && C0[M * ldc] == SENT_F;
                    for (size_t m = 0; m < M; m++)
                        for (size_t n = 0; n < N; n++) {
                            double sum = 0, mag = 0;
                            for (size_t k = 0; k < K; k++) {
                                double p = (double)bf16_f(samq_bf16_round(A[m * lda + k])) *
                                           bf16_f(samq_bf16_round(B[k * ldb + n]));
                                sum += p, mag += fabs(p);
                            }
                            if (mode & 1) sum += bias[n], mag += fabs(bias[n]);
                            if (mode & 4) sum = 0.5 * sum * (1.0 + erf(sum / sqrt(2.0)));
                            if (mode & 2) sum += res[m * ldc + n], mag += fabs(res[m * ldc + n]);
                            if (!(fabs(C0[m * ldc + n] - sum) <= 1e-5 * (mag + 1e-3))) ok = 0;
                        }
                    CHECK(ok, "bf16gemm scalar mode=%d M=%zu N=%zu K=%zu", mode, M, N, K);
                    if (mode & 2) { /* a summed residual: y + (residual + residual_add), in that order */
                        float *sum = malloc((M * ldc + 1) * 4), *Cs = malloc((M * ldc + 1) * 4);
                        for (size_t m = 0; m < M; m++)
                            for (size_t n = 0; n < N; n++) sum[m * ldc + n] = res[m * ldc + n] + bias[(n + 1) % N];
                        samq_bf16gemm_args c = a;
                        c.residual = sum, c.C = Cs;
                        samq_bf16gemm(SAMQ_ISA_SCALAR, &c);
                        for (int i = -1; i < g_nisa; i++) {
                            samq_bf16gemm_args d = a;
                            float *rot = malloc((N + 1) * 4);
                            for (size_t n = 0; n < N; n++) rot[n] = bias[(n + 1) % N];
                            d.residual_add = rot, d.C = C1;
                            int same = samq_bf16gemm(i < 0 ? SAMQ_ISA_SCALAR : g_isas[i], &d) == 0;
                            for (size_t m = 0; m < M; m++) same &= same_bits(Cs + m * ldc, C1 + m * ldc, N);
                            CHECK(same, "bf16gemm %s summed residual mode=%d M=%zu N=%zu K=%zu",
                                  samq_isa_name(i < 0 ? SAMQ_ISA_SCALAR : g_isas[i]), mode, M, N, K);
                            free(rot);
                        }
                        free(sum), free(Cs);
                    }
                    for (int i = 0; i < g_nisa; i++) {
                        a.C = C1;
                        for (size_t j = 0; j < M * ldc + 1; j++) C1[j] = SENT_F;
                        rc = samq_bf16gemm(g_isas[i], &a);
                        CHECK(rc == 0 && same_bits(C0, C1, M * ldc + 1), "bf16gemm %s (native %d) mode=%d M=%zu N=%zu K=%zu",
                              samq_isa_name(g_isas[i]), samq_bf16_native(g_isas[i]), mode, M, N, K);
                        /* residual aliasing the output, and split ranges */
                        if (mode == 7 && M > 1 && N > 1) {
                            memcpy(C1, res, M * ldc * 4);
                            samq_bf16gemm_args b = a;
                            b.residual = C1, b.C = C1, b.m_end = M / 2;
                            int r1 = samq_bf16gemm(g_isas[i], &b);
                            b.m_begin = M / 2, b.m_end = M, b.n_end = N / 2;
                            int r2 = samq_bf16gemm(g_isas[i], &b);
                            b.n_begin = N / 2, b.n_end = N;
                            int r3 = samq_bf16gemm(g_isas[i], &b);
                            int same = 1;
                            for (size_t m = 0; m < M; m++) same &= same_bits(C0 + m * ldc, C1 + m * ldc, N);
                            CHECK(r1 == 0 && r2 == 0 && r3 == 0 && same,
                                  "bf16gemm %s aliased residual, split ranges M=%zu N=%zu K=%zu",
                                  samq_isa_name(g_isas[i]), M, N, K);
                        }
                    }
                }
                free(A), free(B), free(Bp), free(bias), free(res), free(C0), free(C1);
            }
    samq_bf16gemm_args bad;
    memset(&bad, 0, sizeof bad);
    float c = 0;
    bad.M = 1, bad.N = 1, bad.K = 2, bad.C = &c, bad.ldc = 1, bad.m_end = 1, bad.n_end = 1;
    CHECK(samq_bf16gemm(SAMQ_ISA_SCALAR, &bad) == -1, "bf16gemm without operands rejected");
    bad.K = 0, bad.m_end = 2;
    CHECK(samq_bf16gemm(SAMQ_ISA_SCALAR, &bad) == -1, "bf16gemm range past M rejected");
    bad.m_end = 1, bad.flags = SAMQ_SGEMM_B_KN;
    CHECK(samq_bf16gemm(SAMQ_ISA_SCALAR, &bad) == -1, "bf16gemm unknown flags rejected");
    bad.flags = 0, bad.residual_add = &c;
    CHECK(samq_bf16gemm(SAMQ_ISA_SCALAR, &bad) == -1, "bf16gemm residual_add without residual rejected");
}

/* ---- f32 GEMM with f16 weights ------------------------------------------ */
static uint16_t rnd_half(void) {
    uint32_t r = rnd();
    if (r % 17 == 0) return (uint16_t)((r >> 8) & 0x83ffu);       /* zero or subnormal */
    uint32_t exp = 9 + (r >> 5) % 8;                               /* 2^-6 .. 2^1 */
    return (uint16_t)(((r >> 13) & 1u) << 15 | exp << 10 | ((r >> 16) & 0x3ffu));
}

static void test_hgemm(void) {
    const size_t Mh[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 17};
    const size_t Kh[] = {0, 1, 3, 7, 8, 13, 16, 17, 64, 100, 257};
    for (size_t mi = 0; mi < COUNT(Mh); mi++)
        for (size_t ki = 0; ki < COUNT(Kh); ki++)
            for (size_t ni = 0; ni < COUNT(Ns); ni++) {
                size_t M = Mh[mi], K = Kh[ki], N = Ns[ni];
                size_t lda = K + 1, ldb = K + 3, ldc = N + 1;
                float *A = malloc((M * lda + 1) * 4), *Bf = malloc((N * ldb + 1) * 4);
                uint16_t *B = malloc((N * ldb + 1) * 2);
                float *bias = malloc((N + 1) * 4), *res = malloc((M * ldc + 1) * 4);
                float *C = malloc((M * ldc + 1) * 4), *Cf = malloc((M * ldc + 1) * 4);
                double *ref = malloc((M * ldc + 1) * 8), *mag = malloc((M * ldc + 1) * 8);
                for (size_t i = 0; i < M * lda; i++) A[i] = rnd_f();
                for (size_t i = 0; i < N * ldb; i++) B[i] = rnd_half(), Bf[i] = samq_f16_to_f32(B[i]);
                for (size_t i = 0; i < N; i++) bias[i] = rnd_f();
                for (size_t i = 0; i < M * ldc; i++) res[i] = rnd_f();
                for (int mode = 0; mode < 8; mode += (mode == 0 ? 7 : 1)) {
                    for (size_t m = 0; m < M; m++)
                        for (size_t n = 0; n < N; n++) {
                            double sum = 0, g = 0;
                            for (size_t k = 0; k < K; k++) {
                                double p = (double)A[m * lda + k] * Bf[n * ldb + k];
                                sum += p, g += fabs(p);
                            }
                            if (mode & 1) sum += bias[n], g += fabs(bias[n]);
                            if (mode & 4) sum = 0.5 * sum * (1.0 + erf(sum / sqrt(2.0)));
                            if (mode & 2) sum += res[m * ldc + n], g += fabs(res[m * ldc + n]);
                            ref[m * ldc + n] = sum, mag[m * ldc + n] = g;
                        }
                    for (int i = -1; i < g_nisa; i++) {
                        samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                        samq_sgemm_args a;
                        memset(&a, 0, sizeof a);
                        a.M = M, a.N = N, a.K = K, a.A = A, a.lda = lda, a.B_f16 = B, a.ldb = ldb;
                        a.bias = (mode & 1) ? bias : NULL;
                        a.residual = (mode & 2) ? res : NULL;
                        a.ldr = ldc, a.C = C, a.ldc = ldc;
                        a.flags = SAMQ_SGEMM_B_F16 | ((mode & 4) ? SAMQ_SGEMM_GELU : 0);
                        a.m_end = M, a.n_end = N;
                        for (size_t j = 0; j < M * ldc + 1; j++) C[j] = SENT_F;
                        int rc = samq_sgemm(isa, &a);
                        int ok = rc == 0 && C[M * ldc] == SENT_F;
                        for (size_t m = 0; m < M; m++) {
                            for (size_t n = 0; n < N; n++) {
                                double e = fabs(C[m * ldc + n] - ref[m * ldc + n]);
                                if (!(e <= 1e-5 * (mag[m * ldc + n] + 1e-3))) ok = 0;
                            }
                            for (size_t n = N; n < ldc && m + 1 < M; n++)
                                if (C[m * ldc + n] != SENT_F) ok = 0; /* nothing past column N */
                        }
                        /* the f32 kernel on the widened matrix agrees as closely */
                        samq_sgemm_args f = a;
                        f.flags &= ~SAMQ_SGEMM_B_F16, f.B = Bf, f.B_f16 = NULL, f.C = Cf;
                        if (samq_sgemm(isa, &f) != 0) ok = 0;
                        for (size_t m = 0; m < M; m++)
                            for (size_t n = 0; n < N; n++)
                                if (!(fabs(C[m * ldc + n] - Cf[m * ldc + n]) <= 2e-5 * (mag[m * ldc + n] + 1e-3))) ok = 0;
                        CHECK(ok, "hgemm %s mode=%d M=%zu N=%zu K=%zu", samq_isa_name(isa), mode, M, N, K);
                    }
                }
                free(A), free(Bf), free(B), free(bias), free(res), free(C), free(Cf), free(ref), free(mag);
            }
    /* splits compose exactly; B_KN with B_F16 and a missing B_f16 are rejected */
    size_t M = 23, N = 70, K = 150;
    for (int i = -1; i < g_nisa; i++) {
        samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
        float *A = malloc(M * K * 4), *C0 = malloc(M * N * 4), *C1 = malloc(M * N * 4), *bias = malloc(N * 4);
        uint16_t *B = malloc(N * K * 2);
        for (size_t j = 0; j < M * K; j++) A[j] = rnd_f();
        for (size_t j = 0; j < N * K; j++) B[j] = rnd_half();
        for (size_t j = 0; j < N; j++) bias[j] = rnd_f();
        samq_sgemm_args a;
        memset(&a, 0, sizeof a);
        a.M = M, a.N = N, a.K = K, a.A = A, a.lda = K, a.B_f16 = B, a.ldb = K, a.C = C0, a.ldc = N;
        a.bias = bias, a.flags = SAMQ_SGEMM_B_F16 | SAMQ_SGEMM_GELU, a.m_end = M, a.n_end = N;
        samq_sgemm(isa, &a);
        size_t mc[] = {0, 5, 12, M}, nc[] = {0, 64, N};
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 2; y++) {
                samq_sgemm_args b = a;
                b.C = C1, b.m_begin = mc[x], b.m_end = mc[x + 1], b.n_begin = nc[y], b.n_end = nc[y + 1];
                samq_sgemm(isa, &b);
            }
        CHECK(same_bits(C0, C1, M * N), "hgemm split %s", samq_isa_name(isa));
        samq_sgemm_args b = a;
        b.flags |= SAMQ_SGEMM_B_KN;
        CHECK(samq_sgemm(isa, &b) == -1, "hgemm with B_KN rejected (%s)", samq_isa_name(isa));
        b = a;
        b.B_f16 = NULL;
        CHECK(samq_sgemm(isa, &b) == -1, "hgemm without B_f16 rejected (%s)", samq_isa_name(isa));
        free(A), free(C0), free(C1), free(bias), free(B);
    }
    /* the conversion is exact: every finite half, against ldexp */
    int exact = 1;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
        if (e == 0x1f) continue;
        double v = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp((double)m, -24);
        if (h & 0x8000u) v = -v;
        if ((double)samq_f16_to_f32((uint16_t)h) != v) exact = 0;
    }
    CHECK(exact && isinf(samq_f16_to_f32(0x7c00u)) && isnan(samq_f16_to_f32(0x7e00u)), "f16 -> f32 exact");
}

/* ---- vector GELU: the scalar epilogue's bits on every ISA --------------- */
static void test_gelu_inplace(void) {
    const size_t ns[] = {0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 33, 1000};
    for (size_t t = 0; t < COUNT(ns); t++) {
        size_t n = ns[t];
        float *x = malloc((n + 1) * 4), *ref = malloc((n + 1) * 4), *y = malloc((n + 1) * 4);
        for (size_t i = 0; i < n; i++) {
            float v = rnd_f() * (float)(1 + rnd() % 12);
            if (rnd() % 50 == 0) v = (rnd() & 1) ? 1e30f : -1e30f;
            x[i] = v;
            ref[i] = samq_gelu(v);
        }
        for (int i = -1; i < g_nisa; i++) {
            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
            memcpy(y, x, n * 4);
            y[n] = SENT_F;
            samq_gelu_inplace(isa, y, n);
            CHECK(same_bits(y, ref, n) && y[n] == SENT_F, "gelu_inplace %s n=%zu", samq_isa_name(isa), n);
        }
        free(x), free(ref), free(y);
    }
    /* The table's piece boundaries (samq_internal.h: 16 pieces, s = |y| *
     * 16/5.6f): u = k / scale and the floats next to it, both signs, where
     * trunc(s) steps, so the vector and scalar piece indices must agree;
     * then NaN. 112 values, a multiple of every vector width, so none of
     * them falls into a scalar tail. */
    enum { EDGES = 112 };
    float edge[EDGES] = {0}, edge_ref[EDGES], edge_y[EDGES];
    size_t m = 0;
    for (int k = 0; k <= 16; k++) {
        float u = (float)k / (16.0f / 5.6f);
        const float around[3] = {nextafterf(u, 0.0f), u, nextafterf(u, INFINITY)};
        for (int j = 0; j < 3; j++) edge[m++] = around[j], edge[m++] = -around[j];
    }
    edge[EDGES - 1] = NAN;
    for (size_t i = 0; i < EDGES; i++) edge_ref[i] = samq_gelu(edge[i]);
    for (int i = -1; i < g_nisa; i++) {
        samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
        memcpy(edge_y, edge, sizeof edge);
        samq_gelu_inplace(isa, edge_y, EDGES);
        CHECK(same_bits(edge_y, edge_ref, EDGES - 1) && isnan(edge_y[EDGES - 1]), "gelu piece edges %s",
              samq_isa_name(isa));
    }
}

/* ---- depthwise 3x3 ----------------------------------------------------- */

/* Equal bits, or both NaN (NaN payloads may legitimately differ when a
 * compiler commutes an addition). */
static int same_bits_nan(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
    return 1;
}

typedef struct {
    size_t H, W, C, s, Ho, Wo, ny;
    float *x, *wt, *wp, *bias; /* wt: PyTorch [C][3][3], wp: packed [9][C] */
} dwcase;

static void dwcase_make(dwcase *d, size_t H, size_t W, size_t C, size_t s) {
    d->H = H, d->W = W, d->C = C, d->s = s;
    d->Ho = samq_dw_out_size(H, s), d->Wo = samq_dw_out_size(W, s);
    d->ny = d->Ho * d->Wo * C;
    d->x = malloc((H * W * C + 1) * 4);
    d->wt = malloc((9 * C + 1) * 4);
    d->wp = malloc((9 * C + 1) * 4);
    d->bias = malloc((C + 1) * 4);
    for (size_t i = 0; i < H * W * C; i++) d->x[i] = rnd_f() * 2.0f;
    for (size_t i = 0; i < 9 * C; i++) d->wt[i] = rnd_f();
    for (size_t i = 0; i < C; i++) d->bias[i] = rnd_f();
    samq_dwconv3x3_pack(d->wt, C, d->wp);
}
static void dwcase_free(dwcase *d) { free(d->x), free(d->wt), free(d->wp), free(d->bias); }

static samq_dwconv3x3_args dwargs(const dwcase *d, float *y, int bias, int gelu) {
    samq_dwconv3x3_args a;
    memset(&a, 0, sizeof a);
    a.H = d->H, a.W = d->W, a.C = d->C, a.stride = d->s;
    a.x = d->x, a.w = d->wp, a.bias = bias ? d->bias : NULL, a.y = y;
    a.flags = gelu ? SAMQ_DW_GELU : 0;
    a.y_begin = 0, a.y_end = d->Ho;
    return a;
}

/* PyTorch semantics in double: zero padding, exact-erf GELU. */
static void dw_reference(const dwcase *d, int bias, int gelu, double *ref, double *mag) {
    for (size_t oy = 0; oy < d->Ho; oy++)
        for (size_t ox = 0; ox < d->Wo; ox++)
            for (size_t c = 0; c < d->C; c++) {
                double s = bias ? d->bias[c] : 0.0, g = fabs(s);
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        long iy = (long)(oy * d->s) + ky - 1, ix = (long)(ox * d->s) + kx - 1;
                        if (iy < 0 || ix < 0 || iy >= (long)d->H || ix >= (long)d->W) continue;
                        double p = (double)d->x[((size_t)iy * d->W + (size_t)ix) * d->C + c] * d->wt[c * 9 + ky * 3 + kx];
                        s += p, g += fabs(p);
                    }
                if (gelu) s = 0.5 * s * (1.0 + erf(s / sqrt(2.0)));
                size_t i = (oy * d->Wo + ox) * d->C + c;
                ref[i] = s, mag[i] = g;
            }
}

static void test_dwconv(void) {
    const size_t Cs[] = {1, 3, 17, 65, 130}, Hs[] = {0, 1, 2, 7, 13}, Wd[] = {0, 1, 2, 7, 13};
    /* packer */
    {
        float w[27], p[27];
        for (int i = 0; i < 27; i++) w[i] = (float)i;
        samq_dwconv3x3_pack(w, 3, p);
        int ok = 1;
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 9; t++) ok &= p[t * 3 + c] == w[c * 9 + t];
        CHECK(ok, "dw pack layout");
    }
    for (size_t ci = 0; ci < COUNT(Cs); ci++)
        for (size_t hi = 0; hi < COUNT(Hs); hi++)
            for (size_t wi = 0; wi < COUNT(Wd); wi++)
                for (size_t s = 1; s <= 2; s++) {
                    size_t H = Hs[hi], W = Wd[wi], C = Cs[ci];
                    dwcase d;
                    dwcase_make(&d, H, W, C, s);
                    float *y0 = malloc((d.ny + 1) * 4), *y1 = malloc((d.ny + 1) * 4);
                    double *ref = malloc((d.ny + 1) * 8), *mag = malloc((d.ny + 1) * 8);
                    for (int mode = 0; mode < 4; mode++) {
                        int bias = mode & 1, gelu = (mode >> 1) & 1;
                        dw_reference(&d, bias, gelu, ref, mag);
                        for (size_t i = 0; i <= d.ny; i++) y0[i] = SENT_F;
                        samq_dwconv3x3_args a = dwargs(&d, y0, bias, gelu);
                        int rc = samq_dwconv3x3(SAMQ_ISA_SCALAR, &a);
                        int ok = rc == 0 && y0[d.ny] == SENT_F;
                        for (size_t i = 0; i < d.ny; i++)
                            if (!(fabs(y0[i] - ref[i]) <= 1e-6 * (mag[i] + 1.0))) ok = 0;
                        CHECK(ok, "dw scalar vs double H=%zu W=%zu C=%zu s=%zu mode=%d", H, W, C, s, mode);
                        for (int i = 0; i < g_nisa; i++) {
                            for (size_t j = 0; j <= d.ny; j++) y1[j] = SENT_F;
                            a.y = y1;
                            rc = samq_dwconv3x3(g_isas[i], &a);
                            CHECK(rc == 0 && same_bits(y0, y1, d.ny + 1), "dw %s bit-exact H=%zu W=%zu C=%zu s=%zu mode=%d",
                                  samq_isa_name(g_isas[i]), H, W, C, s, mode);
                        }
                    }
                    /* row ranges compose to the full call, bit for bit */
                    if (d.Ho >= 3) {
                        for (int i = -1; i < g_nisa; i++) {
                            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                            samq_dwconv3x3_args a = dwargs(&d, y0, 1, 1);
                            samq_dwconv3x3(isa, &a);
                            for (size_t j = 0; j <= d.ny; j++) y1[j] = SENT_F;
                            size_t cuts[] = {0, 1, d.Ho / 2, d.Ho - 1, d.Ho};
                            int rc = 0;
                            for (int k = 0; k < 4; k++) {
                                samq_dwconv3x3_args b = a;
                                b.y = y1, b.y_begin = cuts[k], b.y_end = cuts[k + 1];
                                rc |= samq_dwconv3x3(isa, &b);
                            }
                            CHECK(rc == 0 && same_bits(y0, y1, d.ny) && y1[d.ny] == SENT_F,
                                  "dw row split %s H=%zu W=%zu C=%zu s=%zu", samq_isa_name(isa), H, W, C, s);
                        }
                    }
                    free(y0), free(y1), free(ref), free(mag);
                    dwcase_free(&d);
                }
}

/* Non-finite values: skipped border taps never see them, and every ISA
 * propagates them to the same outputs as the scalar kernel. */
static void test_dwconv_nonfinite(void) {
    const size_t s_list[] = {1, 2};
    for (size_t si = 0; si < 2; si++) {
        dwcase d;
        dwcase_make(&d, 9, 11, 37, s_list[si]);
        d.x[(4 * 11 + 5) * 37 + 3] = NAN;
        d.x[(0 * 11 + 10) * 37 + 20] = INFINITY;
        d.x[(8 * 11 + 0) * 37 + 36] = -INFINITY;
        d.x[(2 * 11 + 2) * 37 + 0] = -0.0f;
        d.wp[0 * 37 + 5] = NAN; /* tap (0,0) of channel 5: outputs on the top or left border skip it */
        float *y0 = malloc(d.ny * 4), *y1 = malloc(d.ny * 4);
        samq_dwconv3x3_args a = dwargs(&d, y0, 0, 1);
        samq_dwconv3x3(SAMQ_ISA_SCALAR, &a);
        CHECK(!isnan(y0[5]) && isnan(y0[(1 * d.Wo + 1) * 37 + 5]), "dw skipped NaN tap s=%zu", d.s);
        for (int i = 0; i < g_nisa; i++) {
            a.y = y1;
            samq_dwconv3x3(g_isas[i], &a);
            CHECK(same_bits_nan(y0, y1, d.ny), "dw non-finite %s s=%zu", samq_isa_name(g_isas[i]), d.s);
        }
        free(y0), free(y1);
        dwcase_free(&d);
    }
}

/* The strip use documented in samq_kernels.h: rows [i0, i1) of a taller
 * image passed alone give the full call's bits for every output row whose
 * taps lie inside the strip or on the real border. */
static void test_dwconv_strips(void) {
    for (size_t s = 1; s <= 2; s++) {
        dwcase d;
        dwcase_make(&d, 14, 9, 21, s);
        float *full = malloc(d.ny * 4), *part = malloc(d.ny * 4);
        const size_t cuts[][2] = {{0, 6}, {4, 10}, {8, 14}, {0, 14}};
        for (int i = -1; i < g_nisa; i++) {
            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
            samq_dwconv3x3_args a = dwargs(&d, full, 1, 1);
            samq_dwconv3x3(isa, &a);
            int ok = 1, checked = 0;
            for (size_t k = 0; k < COUNT(cuts); k++) {
                size_t i0 = cuts[k][0], i1 = cuts[k][1], Hl = i1 - i0, Hol = samq_dw_out_size(Hl, s);
                for (size_t j = 0; j < Hol; j++) {
                    if (!((j * s >= 1 || i0 == 0) && (j * s + 1 < Hl || i1 == d.H))) continue;
                    samq_dwconv3x3_args b = a;
                    b.H = Hl, b.x = d.x + i0 * d.W * d.C, b.y = part + (i0 / s) * d.Wo * d.C;
                    b.y_begin = j, b.y_end = j + 1;
                    size_t row = (j + i0 / s) * d.Wo * d.C;
                    ok &= samq_dwconv3x3(isa, &b) == 0 && same_bits(full + row, part + row, d.Wo * d.C);
                    checked++;
                }
            }
            CHECK(ok && checked >= 10, "dw strips %s s=%zu (%d rows)", samq_isa_name(isa), s, checked);
        }
        free(full), free(part);
        dwcase_free(&d);
    }
}

static void test_dwconv_invalid(void) {
    dwcase d;
    dwcase_make(&d, 5, 6, 8, 1);
    float *y = malloc(d.ny * 4);
    samq_dwconv3x3_args a = dwargs(&d, y, 1, 0), b;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &a) == 0, "dw valid");
    b = a, b.stride = 3;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw stride 3 rejected");
    b = a, b.stride = 0;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw stride 0 rejected");
    b = a, b.y_end = d.Ho + 1;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw y_end > Ho rejected");
    b = a, b.y_begin = 3, b.y_end = 2;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw reversed range rejected");
    b = a, b.flags = 8;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw unknown flag rejected");
    b = a, b.x = NULL;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw NULL x rejected");
    b = a, b.y = d.x + 3;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == -1, "dw overlapping x/y rejected");
    CHECK(samq_dwconv3x3((samq_isa)99, &a) == -1, "dw unknown isa rejected");
    for (int i = 1; i < SAMQ_ISA_COUNT; i++)
        if (!samq_isa_supported((samq_isa)i)) CHECK(samq_dwconv3x3((samq_isa)i, &a) == -1, "dw unsupported isa rejected");
    b = a, b.y_begin = 2, b.y_end = 2, b.x = NULL, b.y = NULL;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == 0, "dw empty range is a no-op");
    b = a, b.C = 0, b.x = NULL, b.w = NULL, b.y = NULL;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == 0, "dw C=0 is a no-op");
    b = a, b.H = 0, b.y_end = 0;
    CHECK(samq_dwconv3x3(SAMQ_ISA_SCALAR, &b) == 0, "dw H=0 is a no-op");
    CHECK(samq_dw_out_size(0, 1) == 0 && samq_dw_out_size(1, 2) == 1 && samq_dw_out_size(7, 2) == 4 &&
              samq_dw_out_size(8, 2) == 4 && samq_dw_out_size(13, 1) == 13,
          "dw output sizes");
    free(y);
    dwcase_free(&d);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: a loaded machine preempts long runs */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Single-thread throughput on every depthwise shape of MobileSAM's vit_t
 * encoder at 1024 px (H, W, C, stride, count per image; read off the
 * official model with forward hooks): median thread CPU time of 7 runs,
 * FLOPs counted as 2*9*Ho*Wo*C. The last line sums one image's depthwise
 * convs (with the fused GELU where TinyViT has one: MBConv and PatchMerging). */
static void bench_dwconv(void) {
    const size_t shapes[][5] = {{256, 256, 256, 1, 2}, {256, 256, 128, 2, 1}, {128, 128, 128, 1, 2},
                                {128, 128, 160, 2, 1}, {64, 64, 160, 1, 6}, {64, 64, 320, 1, 3}};
    const int has_gelu[] = {1, 1, 0, 1, 0, 1}; /* 64x64x320: 1 PatchMerging (stride 1) + 2 local convs */
    double total[SAMQ_ISA_COUNT + 1] = {0};
    for (size_t si = 0; si < COUNT(shapes); si++) {
        dwcase d;
        dwcase_make(&d, shapes[si][0], shapes[si][1], shapes[si][2], shapes[si][3]);
        float *y = malloc(d.ny * 4);
        double flops = 2.0 * 9.0 * (double)d.ny;
        {
            /* memory floor: copying the input to the output once */
            double t[5];
            for (int r = 0; r < 5; r++) {
                double t0 = now_s();
                memcpy(y, d.x, SAMQ_MIN_T(d.ny, d.H * d.W * d.C) * 4);
                t[r] = now_s() - t0;
            }
            for (int p = 0; p < 5; p++)
                for (int q = p + 1; q < 5; q++)
                    if (t[q] < t[p]) { double tmp = t[p]; t[p] = t[q]; t[q] = tmp; }
            printf("dw %zux%zux%zu s%zu: memcpy of the output size %.2f ms\n", d.H, d.W, d.C, d.s, t[2] * 1e3);
        }
        for (int gelu = 0; gelu < 2; gelu++) {
        printf("dw %zux%zux%zu s%zu%s:", d.H, d.W, d.C, d.s, gelu ? " +gelu" : "");
        double base = 0;
        for (int i = -1; i < g_nisa; i++) {
            samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
            samq_dwconv3x3_args a = dwargs(&d, y, 1, gelu);
            double t[7];
            samq_dwconv3x3(isa, &a);
            for (int r = 0; r < 7; r++) {
                double t0 = now_s();
                samq_dwconv3x3(isa, &a);
                t[r] = now_s() - t0;
            }
            for (int p = 0; p < 7; p++)
                for (int q = p + 1; q < 7; q++)
                    if (t[q] < t[p]) { double tmp = t[p]; t[p] = t[q]; t[q] = tmp; }
            if (i < 0) base = t[3];
            /* per-image total: the 64x64x320 PatchMerging has GELU, its 2 local convs not */
            double n = (double)shapes[si][4];
            if (si == 5) n = gelu ? 1.0 : 2.0;
            else if (gelu != has_gelu[si]) n = 0.0;
            total[i + 1] += n * t[3];
            printf("  %s %.2f ms %.1f GFLOP/s (x%.1f)", samq_isa_name(isa), t[3] * 1e3, flops / t[3] * 1e-9,
                   base / t[3]);
        }
        printf("\n");
        }
        free(y);
        dwcase_free(&d);
    }
    printf("vit_t depthwise per image (1 thread):");
    for (int i = -1; i < g_nisa; i++)
        printf("  %s %.1f ms", samq_isa_name(i < 0 ? SAMQ_ISA_SCALAR : g_isas[i]), total[i + 1] * 1e3);
    printf("\n");
}


/* samq_window_attention: every ISA against a double-precision reference on
 * odd grids (one token, partial output grids, head_dim not a multiple of any
 * vector width, strided tokens), with and without bias; tokens outside the
 * output grid and the padding between tokens must stay untouched. */
static void test_window_attention(void) {
    const size_t shapes[][5] = {/* rows, cols, out_rows, out_cols, d */
                                {1, 1, 1, 1, 1},   {7, 7, 7, 7, 32}, {7, 7, 3, 5, 32}, {14, 14, 14, 14, 32},
                                {3, 5, 2, 5, 17},  {2, 3, 2, 3, 4},  {1, 9, 1, 9, 33}, {5, 4, 5, 1, 8},
                                {14, 14, 8, 14, 32}, {3, 3, 3, 3, 64}};
    for (size_t si = 0; si < COUNT(shapes); si++) {
        const size_t rows = shapes[si][0], cols = shapes[si][1], orows = shapes[si][2], ocols = shapes[si][3];
        const size_t d = shapes[si][4], n = rows * cols;
        const size_t ld = 3 * d + 2, row_stride = (cols + 1) * ld; /* a gap token per row */
        const size_t out_ld = d + 1, out_row_stride = (cols + 2) * out_ld, out_count = rows * out_row_stride;
        float *qkv = malloc(rows * row_stride * 4), *bias = malloc(n * n * 4);
        float *scratch = malloc(samq_window_attention_scratch(n, d) * 4);
        float *ref_out = malloc(out_count * 4), *out = malloc(out_count * 4);
        for (size_t i = 0; i < rows * row_stride; i++) qkv[i] = rnd_f() * 2.0f;
        for (size_t i = 0; i < n * n; i++) bias[i] = rnd_f() * 3.0f;
        /* bf16: samq_window_attention_bf16, whose scalar emulation defines every ISA's bits */
        for (int mode = 0; mode < 4; mode++) {
            const int use_bias = mode & 1, bf16 = mode >> 1;
            int (*kernel)(samq_isa, const samq_window_attention_args *) = bf16 ? samq_window_attention_bf16 : samq_window_attention;
            samq_window_attention_args a;
            memset(&a, 0, sizeof a);
            a.rows = rows, a.cols = cols, a.head_dim = d;
            a.q = qkv, a.k = qkv + d, a.v = qkv + 2 * d, a.ld = ld, a.row_stride = row_stride;
            a.bias = use_bias ? bias : NULL;
            a.scale = 1.0f / sqrtf((float)d);
            a.out_ld = out_ld, a.out_row_stride = out_row_stride, a.out_rows = orows, a.out_cols = ocols;
            a.scratch = scratch;
            /* double reference */
            double maxerr = 0.0;
            for (int i = -1; i < g_nisa; i++) {
                samq_isa isa = i < 0 ? SAMQ_ISA_SCALAR : g_isas[i];
                for (size_t t = 0; t < out_count; t++) out[t] = SENT_F;
                a.out = out;
                int rc = kernel(isa, &a);
                CHECK(rc == 0, "window attention %s bf16=%d rc %d", samq_isa_name(isa), bf16, rc);
                int untouched = 1;
                for (size_t r = 0; r < rows; r++)
                    for (size_t c = 0; c < cols + 2; c++)
                        for (size_t t = 0; t < out_ld; t++) {
                            float y = out[r * out_row_stride + c * out_ld + t];
                            int written = r < orows && c < ocols && t < d;
                            if (!written && y != SENT_F) untouched = 0;
                        }
                CHECK(untouched, "window attention %s wrote outside the output grid", samq_isa_name(isa));
                for (size_t r = 0; r < orows; r++)
                    for (size_t c = 0; c < ocols; c++) {
                        size_t qi = r * cols + c;
                        const float *q = qkv + r * row_stride + c * ld;
                        double s[196], mx = -1e300, sum = 0;
                        for (size_t j = 0; j < n; j++) {
                            const float *k = qkv + (j / cols) * row_stride + (j % cols) * ld + d;
                            double acc = 0;
                            for (size_t t = 0; t < d; t++) acc += (double)q[t] * k[t];
                            s[j] = acc * a.scale + (use_bias ? bias[qi * n + j] : 0.0);
                            if (s[j] > mx) mx = s[j];
                        }
                        for (size_t j = 0; j < n; j++) s[j] = exp(s[j] - mx), sum += s[j];
                        for (size_t t = 0; t < d; t++) {
                            double acc = 0, mag = 0;
                            for (size_t j = 0; j < n; j++) {
                                double vv = qkv[(j / cols) * row_stride + (j % cols) * ld + 2 * d + t];
                                acc += s[j] * vv, mag += s[j] * fabs(vv);
                            }
                            double y = out[r * out_row_stride + c * out_ld + t];
                            double err = fabs(y - acc / sum) / (mag / sum + 1e-30);
                            if (err > maxerr) maxerr = err;
                        }
                    }
                CHECK(maxerr < (bf16 ? 3e-2 : 2e-5), "window attention %s bf16=%d %zux%zu (out %zux%zu) d=%zu bias=%d: rel err %.3g",
                      samq_isa_name(isa), bf16, rows, cols, orows, ocols, d, use_bias, maxerr);
                if (i < 0) memcpy(ref_out, out, out_count * 4);
                else if (bf16 && samq_window_attention_bf16_tiles(isa)) {
                    /* AMX tiles round their f32 sums their own way: within 2e-4 of the largest |v| */
                    double worst = 0;
                    for (size_t t = 0; t < out_count; t++) worst = fmax(worst, fabs((double)out[t] - ref_out[t]));
                    CHECK(worst <= 2e-4 * 2.0, "window attention bf16 %s (AMX tiles) %zux%zu d=%zu: %.3g from the emulation",
                          samq_isa_name(isa), rows, cols, d, worst);
                } else if (bf16)
                    CHECK(same_bits(ref_out, out, out_count), "window attention bf16 %s (native %d) %zux%zu d=%zu: not the emulation's bits",
                          samq_isa_name(isa), samq_bf16_native(isa), rows, cols, d);
                /* deterministic: a second call gives the same bits */
                float *again = malloc(out_count * 4);
                memcpy(again, out, out_count * 4);
                kernel(isa, &a);
                CHECK(same_bits(again, out, out_count), "window attention %s bf16=%d not deterministic", samq_isa_name(isa), bf16);
                free(again);
            }
        }
        free(qkv), free(bias), free(scratch), free(ref_out), free(out);
    }
    /* invalid arguments */
    samq_window_attention_args bad;
    memset(&bad, 0, sizeof bad);
    bad.rows = 2, bad.cols = 2, bad.head_dim = 4, bad.out_rows = 3, bad.out_cols = 2;
    CHECK(samq_window_attention(SAMQ_ISA_SCALAR, &bad) == -1, "window attention: out_rows > rows accepted");
    bad.out_rows = 2;
    CHECK(samq_window_attention(SAMQ_ISA_SCALAR, &bad) == -1, "window attention: NULL buffers accepted");
    bad.out_rows = 0;
    CHECK(samq_window_attention(SAMQ_ISA_SCALAR, &bad) == 0, "window attention: empty output rejected");
    CHECK(samq_window_attention(SAMQ_ISA_SCALAR, NULL) == -1, "window attention: NULL args accepted");
    CHECK(samq_window_attention_bf16(SAMQ_ISA_SCALAR, &bad) == 0, "window attention bf16: empty output rejected");
    bad.out_rows = 3;
    CHECK(samq_window_attention_bf16(SAMQ_ISA_SCALAR, &bad) == -1, "window attention bf16: out_rows > rows accepted");
    CHECK(samq_window_attention_bf16(SAMQ_ISA_SCALAR, NULL) == -1, "window attention bf16: NULL args accepted");
}


/* samq_layernorm: scalar against a double formula, every ISA bit-identical
 * to scalar, in place identical to out of place, on C not a multiple of 8. */
static void test_layernorm(void) {
    const size_t Cs[] = {1, 3, 7, 8, 9, 64, 100, 160, 321};
    for (size_t ci = 0; ci < COUNT(Cs); ci++) {
        const size_t C = Cs[ci], rows = 5, ldx = C + 3;
        float *x = malloc(rows * ldx * 4), *w = malloc(C * 4), *b = malloc(C * 4);
        float *ref = malloc(rows * C * 4), *y = malloc(rows * C * 4), *inplace = malloc(rows * ldx * 4);
        for (size_t i = 0; i < rows * ldx; i++) x[i] = rnd_f() * 4.0f + 1.5f;
        for (size_t i = 0; i < C; i++) w[i] = rnd_f(), b[i] = rnd_f();
        samq_layernorm_args a = {rows, C, x, ldx, ref, C, w, b, 1e-5f};
        CHECK(samq_layernorm(SAMQ_ISA_SCALAR, &a) == 0, "layernorm scalar rc");
        double worst = 0;
        for (size_t r = 0; r < rows; r++) {
            double m = 0, v = 0;
            for (size_t c = 0; c < C; c++) m += x[r * ldx + c];
            m /= (double)C;
            for (size_t c = 0; c < C; c++) v += (x[r * ldx + c] - m) * (x[r * ldx + c] - m);
            v /= (double)C;
            for (size_t c = 0; c < C; c++) {
                double e = (x[r * ldx + c] - m) / sqrt(v + 1e-5) * w[c] + b[c];
                double err = fabs(ref[r * C + c] - e) / (fabs(w[c]) * 4.0 + fabs(b[c]) + 1e-6);
                if (err > worst) worst = err;
            }
        }
        CHECK(worst < 1e-6, "layernorm C=%zu scalar vs formula %.3g", C, worst);
        for (int i = 0; i < g_nisa; i++) {
            samq_layernorm_args s = a;
            s.y = y;
            CHECK(samq_layernorm(g_isas[i], &s) == 0, "layernorm %s rc", samq_isa_name(g_isas[i]));
            CHECK(same_bits(y, ref, rows * C), "layernorm %s C=%zu differs from scalar", samq_isa_name(g_isas[i]), C);
            memcpy(inplace, x, rows * ldx * 4);
            s.x = inplace, s.y = inplace, s.ldy = ldx;
            CHECK(samq_layernorm(g_isas[i], &s) == 0, "layernorm in place rc");
            int same = 1;
            for (size_t r = 0; r < rows; r++)
                if (memcmp(inplace + r * ldx, ref + r * C, C * 4) != 0) same = 0;
            CHECK(same, "layernorm %s C=%zu in place differs", samq_isa_name(g_isas[i]), C);
        }
        samq_layernorm_args bad = a;
        bad.y = x + 1;
        CHECK(samq_layernorm(SAMQ_ISA_SCALAR, &bad) == -1, "layernorm overlapping output accepted");
        bad = a, bad.ldx = C - 1;
        CHECK(C == 1 || samq_layernorm(SAMQ_ISA_SCALAR, &bad) == -1, "layernorm ldx < C accepted");
        free(x), free(w), free(b), free(ref), free(y), free(inplace);
    }
    CHECK(samq_layernorm(SAMQ_ISA_SCALAR, NULL) == -1, "layernorm NULL accepted");
}


/* samq_decoder_layernorm: scalar against a double formula, every ISA
 * bit-identical to scalar (values, codes, scales), the codes equal to
 * samq_quantize_rows of the result, on C not a multiple of 8 or 16. */
static void test_decoder_layernorm(void) {
    const size_t Cs[] = {1, 3, 7, 8, 9, 16, 24, 64, 100, 256};
    for (size_t ci = 0; ci < COUNT(Cs); ci++)
        for (uint32_t flags = 0; flags <= SAMQ_DLN_GELU; flags++) {
            const size_t C = Cs[ci], rows = 37, ldx = C + 3, ldq = (C + 7) / 8 * 8 + 8;
            float *x = malloc(rows * ldx * 4), *w = malloc(C * 4), *b = malloc(C * 4);
            float *ref = malloc(rows * ldx * 4), *y = malloc(rows * ldx * 4);
            float *rs = malloc(rows * 4), *rs2 = malloc(rows * 4), *rs3 = malloc(rows * 4);
            int8_t *q = malloc(rows * ldq), *q2 = malloc(rows * ldq), *q3 = malloc(rows * ldq);
            for (size_t i = 0; i < rows * ldx; i++) x[i] = rnd_f() * 4.0f + 1.5f;
            for (size_t i = 0; i < C; i++) w[i] = rnd_f(), b[i] = rnd_f();
            memcpy(ref, x, rows * ldx * 4);
            memset(q, 0x5A, rows * ldq);
            CHECK(samq_decoder_layernorm(SAMQ_ISA_SCALAR, ref, rows, C, ldx, w, b, 1e-6f, flags, q, ldq, rs) == 0,
                  "decoder layernorm scalar rc");
            double worst = 0;
            for (size_t r = 0; r < rows; r++) {
                double m = 0, v = 0;
                for (size_t c = 0; c < C; c++) m += x[r * ldx + c];
                m /= (double)C;
                for (size_t c = 0; c < C; c++) v += (x[r * ldx + c] - m) * (x[r * ldx + c] - m);
                v /= (double)C;
                for (size_t c = 0; c < C; c++) {
                    double e = (x[r * ldx + c] - m) / sqrt(v + 1e-6) * w[c] + b[c];
                    if (flags) e = 0.5 * e * (1.0 + erf(e / sqrt(2.0)));
                    double err = fabs(ref[r * ldx + c] - e) / (fabs(w[c]) * 4.0 + fabs(b[c]) + 1e-3);
                    if (err > worst) worst = err;
                }
                CHECK(memcmp(ref + r * ldx + C, x + r * ldx + C, 3 * 4) == 0, "decoder layernorm wrote past C");
            }
            CHECK(worst < 2e-5, "decoder layernorm C=%zu flags=%u scalar vs formula %.3g", C, flags, worst);
            samq_quantize_rows(SAMQ_ISA_SCALAR, ref, rows, C, ldx, q2, ldq, rs2);
            int qsame = 1;
            for (size_t r = 0; r < rows; r++)
                qsame &= memcmp(q + r * ldq, q2 + r * ldq, (C + 7) / 8 * 8) == 0 && q[r * ldq + ldq - 1] == 0x5A;
            CHECK(qsame && same_bits(rs, rs2, rows), "decoder layernorm C=%zu codes differ from samq_quantize_rows", C);
            for (int i = 0; i < g_nisa; i++) {
                memcpy(y, x, rows * ldx * 4);
                memset(q3, 0x5A, rows * ldq);
                CHECK(samq_decoder_layernorm(g_isas[i], y, rows, C, ldx, w, b, 1e-6f, flags, q3, ldq, rs3) == 0,
                      "decoder layernorm %s rc", samq_isa_name(g_isas[i]));
                CHECK(same_bits(y, ref, rows * ldx) && memcmp(q3, q, rows * ldq) == 0 && same_bits(rs3, rs, rows),
                      "decoder layernorm %s C=%zu flags=%u differs from scalar", samq_isa_name(g_isas[i]), C, flags);
                memcpy(y, x, rows * ldx * 4);
                CHECK(samq_decoder_layernorm(g_isas[i], y, 1, C, ldx, w, b, 1e-6f, flags, NULL, 0, NULL) == 0 &&
                          same_bits(y, ref, C) && same_bits(y + ldx, x + ldx, (rows - 1) * ldx),
                      "decoder layernorm %s one row without codes", samq_isa_name(g_isas[i]));
            }
            CHECK(samq_decoder_layernorm(SAMQ_ISA_SCALAR, y, rows, C, C - 1, w, b, 1e-6f, 0, NULL, 0, NULL) == -1,
                  "decoder layernorm ldx < C accepted");
            CHECK(samq_decoder_layernorm(SAMQ_ISA_SCALAR, y, rows, C, ldx, NULL, b, 1e-6f, 0, NULL, 0, NULL) == -1,
                  "decoder layernorm NULL weight accepted");
            CHECK(samq_decoder_layernorm(SAMQ_ISA_SCALAR, y, rows, C, ldx, w, b, 1e-6f, 0, q, C - 1, rs) == -1,
                  "decoder layernorm ldq < C accepted");
            CHECK(samq_decoder_layernorm(SAMQ_ISA_SCALAR, y, rows, C, ldx, w, b, 1e-6f, 4, NULL, 0, NULL) == -1,
                  "decoder layernorm unknown flag accepted");
            CHECK(samq_decoder_layernorm(SAMQ_ISA_SCALAR, NULL, 0, C, ldx, w, b, 1e-6f, 0, NULL, 0, NULL) == 0,
                  "decoder layernorm no rows");
            free(x), free(w), free(b), free(ref), free(y), free(rs), free(rs2), free(rs3), free(q), free(q2), free(q3);
        }
}

/* samq_bilinear_h/_v/_v_threshold: every ISA bit-identical to scalar on odd
 * lengths, and h then v composing to samq_bilinear_row's bits. */
static void test_bilinear_split(void) {
    const size_t ns[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 33, 100};
    const size_t L = 37;
    for (size_t t = 0; t < COUNT(ns); t++) {
        size_t n = ns[t];
        float *r0 = malloc(L * 4), *r1 = malloc(L * 4), *w0 = malloc((n + 1) * 4), *w1 = malloc((n + 1) * 4);
        int32_t *x0 = malloc((n + 1) * 4), *x1 = malloc((n + 1) * 4);
        intptr_t *p0 = malloc((n + 1) * sizeof(intptr_t)), *p1 = malloc((n + 1) * sizeof(intptr_t));
        float *h0 = malloc((n + 1) * 4), *h1 = malloc((n + 1) * 4), *v = malloc((n + 1) * 4), *row = malloc((n + 1) * 4);
        float *y = malloc((n + 1) * 4);
        uint8_t *m = malloc(n + 1), *m2 = malloc(n + 1);
        for (size_t i = 0; i < L; i++) r0[i] = rnd_f() * 3, r1[i] = rnd_f() * 3;
        for (size_t i = 0; i < n; i++) {
            x0[i] = (int32_t)(rnd() % L), x1[i] = (int32_t)(rnd() % L), p0[i] = x0[i], p1[i] = x1[i];
            w1[i] = (float)(rnd() % 1000) / 999.0f, w0[i] = 1.0f - w1[i];
        }
        const float a = 0.3f, bb = 0.7f, th = 0.05f;
        samq_bilinear_h(SAMQ_ISA_SCALAR, r0, x0, x1, w0, w1, h0, n);
        samq_bilinear_h(SAMQ_ISA_SCALAR, r1, x0, x1, w0, w1, h1, n);
        samq_bilinear_v(SAMQ_ISA_SCALAR, h0, h1, a, bb, v, n);
        samq_bilinear_row(r0, r1, a, bb, p0, p1, w0, w1, row, (intptr_t)n);
        CHECK(same_bits(v, row, n), "bilinear h then v n=%zu differs from samq_bilinear_row", n);
        samq_bilinear_v_threshold(SAMQ_ISA_SCALAR, h0, h1, a, bb, th, m, n);
        int ok = 1;
        for (size_t i = 0; i < n; i++) ok &= m[i] == (v[i] > th ? 1 : 0);
        CHECK(ok, "bilinear threshold n=%zu", n);
        for (int i = 0; i < g_nisa; i++) {
            samq_isa isa = g_isas[i];
            y[n] = SENT_F, m2[n] = 0x5A;
            samq_bilinear_h(isa, r0, x0, x1, w0, w1, y, n);
            CHECK(same_bits(y, h0, n) && y[n] == SENT_F, "bilinear_h %s n=%zu", samq_isa_name(isa), n);
            samq_bilinear_v(isa, h0, h1, a, bb, y, n);
            CHECK(same_bits(y, v, n) && y[n] == SENT_F, "bilinear_v %s n=%zu", samq_isa_name(isa), n);
            samq_bilinear_v_threshold(isa, h0, h1, a, bb, th, m2, n);
            CHECK(memcmp(m, m2, n) == 0 && m2[n] == 0x5A, "bilinear_v_threshold %s n=%zu", samq_isa_name(isa), n);
        }
        free(r0), free(r1), free(w0), free(w1), free(x0), free(x1), free(p0), free(p1);
        free(h0), free(h1), free(v), free(row), free(y), free(m), free(m2);
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
    int bench = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-isa") == 0 && i + 1 < argc) expect = argv[++i];
        if (strcmp(argv[i], "--bench-dw") == 0) bench = 1;
    }
    printf("samq kernels v%d; supported:", samq_kernels_version());
    for (int i = 1; i < SAMQ_ISA_COUNT; i++)
        if (samq_isa_supported((samq_isa)i)) {
            g_isas[g_nisa++] = (samq_isa)i;
            printf(" %s", samq_isa_name((samq_isa)i));
        }
    printf("; best: %s\n", samq_isa_name(samq_isa_best()));
    if (bench) {
        bench_dwconv();
        return 0;
    }
    if (expect) CHECK(strcmp(expect, samq_isa_name(samq_isa_best())) == 0, "expected best isa %s", expect);
    test_packer();
    test_quantize();
    test_pack_columns();
    test_relpos_fill();
    test_softmax_partial();
    test_add_and_softmax_lanes();
    test_softmax_q8();
    test_gelu();
    test_gelu_inplace();
    test_gemm_i8();
    test_gemm_splits();
    test_gemm_invalid();
    test_sgemm();
    test_hgemm();
    test_bf16gemm();
    test_dwconv();
    test_dwconv_nonfinite();
    test_dwconv_strips();
    test_dwconv_invalid();
    test_window_attention();
    test_layernorm();
    test_decoder_layernorm();
    test_bilinear_split();
    test_peak();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
