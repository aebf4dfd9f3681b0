/* Single-thread kernel benchmark: int8 GEMM on the ViT-B MLP shape
 * (M=4096 tokens, K=768, N=3072) per supported ISA, the register-only int8
 * peak, the f32 GEMM and row quantization.
 *   Benchmarks/kernels/run.sh            (builds with clang like SwiftPM)
 *   bench [M K N] [--isa NAME] */
#include "samq_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Thread CPU time, not wall time: the numbers stay meaningful on a busy
 * shared machine (the kernels are single-threaded and do no I/O). */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    size_t M = 4096, K = 768, N = 3072;
    int only = -1;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            only = samq_isa_from_name(argv[++i]);
        } else {
            size_t v = (size_t)strtoull(argv[i], NULL, 10);
            if (pos == 0) M = v; else if (pos == 1) K = v; else N = v;
            pos++;
        }
    }
    size_t Kp = samq_round_up(K, 8);
    int8_t *A = malloc(M * Kp), *W = malloc(N * K);
    float *X = malloc(M * K * sizeof(float)), *rs = malloc(M * sizeof(float));
    float *sc = malloc(N * sizeof(float)), *bias = malloc(N * sizeof(float));
    float *C = malloc(M * N * sizeof(float));
    float *Bf = malloc(N * K * sizeof(float));
    void *P = aligned_alloc(64, samq_round_up(samq_packed_size(N, K), 64));
    srand(1);
    for (size_t i = 0; i < M * K; i++) X[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
    for (size_t i = 0; i < N * K; i++) {
        W[i] = (int8_t)(rand() % 255 - 127);
        Bf[i] = (float)W[i] / 127.0f;
    }
    for (size_t i = 0; i < N; i++) sc[i] = 0.01f, bias[i] = 0.1f;
    samq_pack_weights_i8(W, sc, N, K, P);
    samq_quantize_rows(SAMQ_ISA_SCALAR, X, M, K, K, A, Kp, rs);
    double gmac = (double)M * N * K * 1e-9;
    printf("shape M=%zu K=%zu N=%zu (%.2f GMAC), single thread, thread CPU time\n", M, K, N, gmac);

    for (int isa = 0; isa < SAMQ_ISA_COUNT; isa++) {
        if (!samq_isa_supported((samq_isa)isa) || (only >= 0 && isa != only)) continue;
        const char *name = samq_isa_name((samq_isa)isa);
        /* peak: calibrate to ~0.3 s */
        uint64_t it = 1 << 20;
        double t0 = now();
        uint64_t macs = samq_peak_i8((samq_isa)isa, it);
        double dt = now() - t0;
        it = (uint64_t)(it * (0.3 / (dt > 1e-4 ? dt : 1e-4)));
        t0 = now();
        macs = samq_peak_i8((samq_isa)isa, it);
        dt = now() - t0;
        double peak = macs / dt * 1e-9;

        samq_gemm_args a;
        memset(&a, 0, sizeof a);
        a.M = M, a.N = N, a.K = K, a.A = A, a.lda = Kp, a.row_scale = rs, a.packed_w = P;
        a.bias = bias, a.C = C, a.ldc = N, a.m_end = M, a.n_end = N;
        size_t mm = M;
        if (isa == SAMQ_ISA_SCALAR && M > 64) a.m_end = mm = 64; /* scalar is slow: time a slice */
        double g = (double)mm * N * K * 1e-9;
        samq_gemm_i8((samq_isa)isa, &a); /* warm */
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            t0 = now();
            samq_gemm_i8((samq_isa)isa, &a);
            dt = now() - t0;
            if (dt < best) best = dt;
        }
        double gelu_t;
        a.flags = SAMQ_GEMM_GELU;
        t0 = now();
        samq_gemm_i8((samq_isa)isa, &a);
        gelu_t = now() - t0;
        printf("%-11s int8 gemm %7.1f GMAC/s (%.1f ms)  +GELU %7.1f GMAC/s  peak %7.1f GMAC/s  -> %4.0f%% of peak\n",
               name, g / best, best * 1e3 * (double)M / mm, g / gelu_t, peak, 100.0 * (g / best) / peak);
    }
    /* f32 GEMM: B as [N][K] (Linear) and [K][N] */
    for (int isa = 0; isa < SAMQ_ISA_COUNT; isa++) {
        if (!samq_isa_supported((samq_isa)isa) || (only >= 0 && isa != only)) continue;
        for (int kn = 0; kn < 2; kn++) {
            samq_sgemm_args s;
            memset(&s, 0, sizeof s);
            size_t mm = isa == SAMQ_ISA_SCALAR ? 32 : (M > 1024 ? 1024 : M);
            s.M = mm, s.N = N, s.K = K, s.A = X, s.lda = K, s.B = Bf, s.ldb = kn ? N : K, s.C = C, s.ldc = N;
            s.bias = bias, s.flags = kn ? SAMQ_SGEMM_B_KN : 0, s.m_end = mm, s.n_end = N;
            samq_sgemm((samq_isa)isa, &s);
            double dt = 1e9;
            for (int r = 0; r < 3; r++) {
                double t0 = now();
                samq_sgemm((samq_isa)isa, &s);
                double d = now() - t0;
                if (d < dt) dt = d;
            }
            printf("%-11s f32 gemm B=%s %6.1f GFLOP/s (M=%zu)\n", samq_isa_name((samq_isa)isa), kn ? "[K][N]" : "[N][K]",
                   2.0 * mm * N * K / dt * 1e-9, mm);
        }
    }
    for (int isa = 0; isa < SAMQ_ISA_COUNT; isa++) {
        if (!samq_isa_supported((samq_isa)isa) || (only >= 0 && isa != only)) continue;
        double t0 = now();
        samq_quantize_rows((samq_isa)isa, X, M, K, K, A, Kp, rs);
        double dt = now() - t0;
        printf("%-11s quantize_rows %6.2f Gfloat/s\n", samq_isa_name((samq_isa)isa), (double)M * K / dt * 1e-9);
    }
    return 0;
}
