/* x86_64 int8 GEMM on AMX tiles (Sapphire Rapids and later): the "amx"
 * family. Only the GEMM (and its peak) differ from "avx512vnni"; every other
 * kernel of the family is the AVX-512 one (see dispatch.c).
 *
 * The packed weight panel (16 columns, 4 consecutive k per column, K groups
 * 64 bytes apart; samq_kernels.h) is exactly an AMX B tile: 16 rows of K
 * groups x 64 bytes, so weights load straight from the payload. A tiles load
 * straight from the quantized rows (stride lda). tdpbssd multiplies signed by
 * signed, so no +128 bias and no column-sum correction: the int32 sums are
 * the same integers as every other family's, and the epilogue is the AVX-512
 * one, so results are bit-identical to "avx512vnni".
 *
 * Blocking: 32 rows x 32 columns of C in four 16x16 int32 tiles (tmm0-3),
 * two A tiles (tmm4-5) and two B tiles (tmm6-7), K in steps of 64 bytes.
 * Row tails reconfigure the tiles to fewer rows (between row blocks, when
 * the C tiles have been stored); a K tail (Kp % 64, a multiple of 8) goes
 * through small zero-padded copies, since a short tile would need its own
 * configuration. The int32 tile results go to a row buffer and then through
 * the epilogue, as in the VNNI kernel.
 *
 * The OS must grant the tile state first (Linux: arch_prctl
 * ARCH_REQ_XTILE_DATA); samq_amx_usable() asks once and caches the answer. */
#include "samq_internal.h"

#if defined(SAMQ_X86)
#include "samq_simd.h"
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define TGT_AMX __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vnni,avx2,fma")))
#define AMX_NBLK 256
#define AMX_MR 32

#define AMX_INT8 1
#define AMX_BF16 2

/* AMX_INT8 if the CPU has AMX-TILE and AMX-INT8, the OS enables the tile
 * state in XCR0, and (Linux) the process was granted it; AMX_BF16 too if it
 * also has AMX-BF16. Asked once: in a VM every cpuid traps to the hypervisor
 * (measured ~5 us, as long as a whole 7x7 window attention). Racing first
 * callers all get the same answer (the request is idempotent). */
static int amx_features(void) {
    static int cached = -1;
    int c = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (c >= 0) return c;
    int features = 0;
#if defined(__linux__)
    unsigned eax, ebx, ecx, edx, leaf7;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &leaf7) && (leaf7 & (1u << 24)) && (leaf7 & (1u << 25)) &&
        __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 27))) { /* AMX-TILE, AMX-INT8, OSXSAVE */
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        const uint32_t tile_state = (1u << 17) | (1u << 18); /* XTILECFG, XTILEDATA */
        /* ARCH_REQ_XTILE_DATA (0x1023) for XFEATURE_XTILEDATA (18). */
        if ((lo & tile_state) == tile_state && syscall(SYS_arch_prctl, 0x1023, 18) == 0)
            features = AMX_INT8 | ((leaf7 & (1u << 22)) ? AMX_BF16 : 0);
    }
#endif
    __atomic_store_n(&cached, features, __ATOMIC_RELEASE);
    return features;
}

int samq_amx_usable(void) { return (amx_features() & AMX_INT8) != 0; }

/* 1 if samq_amx_usable() and the CPU has AMX-BF16 (tdpbf16ps). */
int samq_amx_bf16_usable(void) { return (amx_features() & AMX_BF16) != 0; }

typedef struct __attribute__((aligned(64))) {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg;

/* Tiles 0-7 with rows[t] rows of 64 bytes each (0: unconfigured). */
TGT_AMX static void amx_load_config(const int rows[8]) {
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = (uint8_t)rows[t];
        cfg.colsb[t] = rows[t] ? 64 : 0;
    }
    /* Not _tile_loadconfig: GCC's macro declares only 8 bytes of the
     * config as read, so the row and column stores above may be dropped. */
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

/* tmm0/1: C rows [0, r0) x 2 panels; tmm2/3: C rows [16, 16 + r1); tmm4/5:
 * the A tiles of those rows; tmm6/7: two B panels. r1 == 0 leaves tmm2,
 * tmm3 and tmm5 unconfigured (they are then never used). */
TGT_AMX static void amx_configure(int r0, int r1) {
    const int rows[8] = {r0, r0, r1, r1, r0, r1, 16, 16};
    amx_load_config(rows);
}

/* tmm0-6 as 16 rows x 64 bytes each: three C, one A and three B tiles for
 * the bf16 window attention (k_attn_bf16.c). */
TGT_AMX void samq_amx_configure_square(void) {
    const int rows[8] = {16, 16, 16, 16, 16, 16, 16, 0};
    amx_load_config(rows);
}

TGT_AMX void samq_gemm_amx(const samq_gemm_args *a) {
    samq_packed_view v = samq_view(a->packed_w, a->N, a->K);
    const size_t pstride = v.Kp * 16, kfull = v.Kp / 64 * 64, kt = v.Kp - kfull;
    const size_t lda = a->lda;
    const int raw = (a->flags & SAMQ_GEMM_RAW_I32) != 0;
    int32_t tmp[AMX_MR * AMX_NBLK] __attribute__((aligned(64)));
    /* K tail: A rows and two B panels, zero past Kp. */
    int8_t atail[AMX_MR * 64] __attribute__((aligned(64)));
    int8_t btail[2 * 1024] __attribute__((aligned(64)));
    int cfg0 = -1, cfg1 = -1;
    for (size_t nb = a->n_begin; nb < a->n_end; nb += AMX_NBLK) {
        size_t ne = SAMQ_MIN(nb + AMX_NBLK, a->n_end), width = ne - nb;
        for (size_t m = a->m_begin; m < a->m_end; m += AMX_MR) {
            size_t mr = SAMQ_MIN((size_t)AMX_MR, a->m_end - m);
            int r0 = (int)SAMQ_MIN(mr, (size_t)16), r1 = (int)mr - r0;
            if (r0 != cfg0 || r1 != cfg1) {
                amx_configure(r0, r1);
                cfg0 = r0;
                cfg1 = r1;
            }
            const int8_t *arow = a->A + m * lda;
            if (kt) {
                memset(atail, 0, sizeof atail);
                for (size_t r = 0; r < mr; r++) memcpy(atail + r * 64, arow + r * lda + kfull, kt);
            }
            for (size_t n = nb; n < ne; n += 32) {
                const int two = ne - n > 16;
                const int8_t *w0 = v.panels + (n / 16) * pstride, *w1 = w0 + pstride;
                _tile_zero(0);
                if (two) _tile_zero(1);
                if (r1) {
                    _tile_zero(2);
                    if (two) _tile_zero(3);
                }
                for (size_t k0 = 0; k0 < kfull; k0 += 64) {
                    _tile_loadd(4, arow + k0, lda);
                    _tile_loadd(6, w0 + k0 * 16, 64);
                    _tile_dpbssd(0, 4, 6);
                    if (r1) {
                        _tile_loadd(5, arow + 16 * lda + k0, lda);
                        _tile_dpbssd(2, 5, 6);
                    }
                    if (two) {
                        _tile_loadd(7, w1 + k0 * 16, 64);
                        _tile_dpbssd(1, 4, 7);
                        if (r1) _tile_dpbssd(3, 5, 7);
                    }
                }
                if (kt) {
                    memset(btail, 0, sizeof btail);
                    memcpy(btail, w0 + kfull * 16, kt * 16);
                    if (two) memcpy(btail + 1024, w1 + kfull * 16, kt * 16);
                    _tile_loadd(4, atail, 64);
                    _tile_loadd(6, btail, 64);
                    _tile_dpbssd(0, 4, 6);
                    if (r1) {
                        _tile_loadd(5, atail + 16 * 64, 64);
                        _tile_dpbssd(2, 5, 6);
                    }
                    if (two) {
                        _tile_loadd(7, btail + 1024, 64);
                        _tile_dpbssd(1, 4, 7);
                        if (r1) _tile_dpbssd(3, 5, 7);
                    }
                }
                int32_t *t = tmp + (n - nb);
                const size_t ldt = AMX_NBLK * 4;
                _tile_stored(0, t, ldt);
                if (two) _tile_stored(1, t + 16, ldt);
                if (r1) {
                    _tile_stored(2, t + 16 * AMX_NBLK, ldt);
                    if (two) _tile_stored(3, t + 16 * AMX_NBLK + 16, ldt);
                }
            }
            for (size_t r = 0; r < mr; r++) {
                size_t row = m + r;
                if (raw)
                    memcpy(a->C_i32 + row * a->ldc + nb, tmp + r * AMX_NBLK, width * 4);
                else
                    samq_epi_i32_avx512(tmp + r * AMX_NBLK, width, a->row_scale[row], v.scales + nb,
                                        a->bias ? a->bias + nb : NULL,
                                        a->residual ? a->residual + row * a->ldr + nb : NULL,
                                        a->C + row * a->ldc + nb, a->flags);
            }
        }
    }
    _tile_release();
}

/* Register-only peak: four independent tdpbssd chains on 16x16 tiles with
 * K = 64 (16 * 16 * 64 MACs each). */
TGT_AMX uint64_t samq_peak_amx(uint64_t it) {
    amx_configure(16, 16);
    _tile_zero(4);
    _tile_zero(5);
    _tile_zero(6);
    _tile_zero(7);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (uint64_t i = 0; i < it; i++) {
        _tile_dpbssd(0, 4, 6);
        _tile_dpbssd(1, 4, 7);
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
    }
    int32_t sink[256] __attribute__((aligned(64)));
    _tile_stored(0, sink, 64);
    _tile_release();
    volatile int32_t s = sink[0];
    (void)s;
    return it * 4 * 16 * 16 * 64;
}

#endif /* SAMQ_X86 */
