/* CPU feature detection, argument validation, reference packer. */
#include "samq_internal.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
#endif

int samq_kernels_version(void) { return 3; }

static const char *const samq_isa_names[SAMQ_ISA_COUNT] = {
    "scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm", "amx"};

const char *samq_isa_name(samq_isa isa) {
    if ((int)isa < 0 || (int)isa >= SAMQ_ISA_COUNT) return "?";
    return samq_isa_names[isa];
}

int samq_isa_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < SAMQ_ISA_COUNT; i++)
        if (strcmp(name, samq_isa_names[i]) == 0) return i;
    return -1;
}

int samq_isa_supported(samq_isa isa) {
    switch (isa) {
    case SAMQ_ISA_SCALAR: return 1;
#if defined(SAMQ_X86)
    case SAMQ_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case SAMQ_ISA_AVX512VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    case SAMQ_ISA_AMX: return samq_isa_supported(SAMQ_ISA_AVX512VNNI) && samq_amx_usable();
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_ISA_NEON: return 1; /* Advanced SIMD is mandatory on AArch64 */
#if defined(__linux__)
    case SAMQ_ISA_DOTPROD: return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
    case SAMQ_ISA_I8MM: return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#endif
#endif
    default: return 0;
    }
}

samq_isa samq_isa_best(void) {
    static const samq_isa order[] = {SAMQ_ISA_AMX, SAMQ_ISA_AVX512VNNI, SAMQ_ISA_AVX2, SAMQ_ISA_I8MM,
                                     SAMQ_ISA_DOTPROD, SAMQ_ISA_NEON};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (samq_isa_supported(order[i])) return order[i];
    return SAMQ_ISA_SCALAR;
}

float samq_gelu(float y) { return samq_gelu_ref(y); }

samq_vec samq_vector_unit(samq_isa isa) {
    if (!samq_isa_supported(isa)) return SAMQ_VEC_SCALAR;
    switch (isa) {
    case SAMQ_ISA_AVX2: return SAMQ_VEC_AVX2;
    case SAMQ_ISA_AVX512VNNI:
    case SAMQ_ISA_AMX: return SAMQ_VEC_AVX512;
    case SAMQ_ISA_NEON:
    case SAMQ_ISA_DOTPROD:
    case SAMQ_ISA_I8MM: return SAMQ_VEC_NEON;
    default: return SAMQ_VEC_SCALAR;
    }
}

float samq_f16_to_f32(uint16_t h) { return samq_half_to_float(h); }

void samq_gelu_inplace(samq_isa isa, float *x, size_t n) {
    if (n == 0 || !x) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_gelu_avx2(x, n); return;
    case SAMQ_VEC_AVX512: samq_gelu_avx512(x, n); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_gelu_neon(x, n); return;
#endif
    default:
        for (size_t i = 0; i < n; i++) x[i] = samq_gelu_ref(x[i]);
        return;
    }
}

size_t samq_packed_size(size_t N, size_t K) {
    size_t Np = samq_round_up(N, 16), Kp = samq_round_up(K, 8);
    return Np * Kp + 8 * Np;
}

void samq_pack_weights_i8(const int8_t *w, const float *scales, size_t N, size_t K, void *out) {
    size_t Np = samq_round_up(N, 16), Kp = samq_round_up(K, 8);
    int8_t *panels = (int8_t *)out;
    float *sc = (float *)(panels + Np * Kp);
    int32_t *cs = (int32_t *)(panels + Np * Kp + 4 * Np);
    for (size_t n = 0; n < Np; n++) {
        int8_t *panel = panels + (n / 16) * Kp * 16;
        size_t c = n % 16;
        int32_t sum = 0;
        for (size_t k = 0; k < Kp; k++) {
            int8_t v = (n < N && k < K) ? w[n * K + k] : 0;
            panel[(k / 4) * 64 + c * 4 + (k % 4)] = v;
            sum += v;
        }
        sc[n] = (n < N && scales) ? scales[n] : 0.0f;
        cs[n] = sum;
    }
}

void samq_pack_panel_i8(const int8_t *q, size_t ldq, const float *scales, size_t rows, size_t N, size_t K,
                        size_t panel, void *out) {
    size_t Np = samq_round_up(N, 16), Kp = samq_round_up(K, 8);
    uint8_t *dst = (uint8_t *)out + panel * Kp * 16;
    float *sc = (float *)((uint8_t *)out + Np * Kp) + panel * 16;
    int32_t *cs = (int32_t *)((uint8_t *)out + Np * Kp + 4 * Np) + panel * 16;
    for (size_t c = 0; c < 16; c++) {
        int32_t sum = 0;
        if (c < rows) {
            const int8_t *row = q + c * ldq;
            for (size_t g = 0; g < Kp / 4; g++) memcpy(dst + g * 64 + c * 4, row + 4 * g, 4);
            for (size_t k = 0; k < K; k++) sum += row[k];
        } else {
            for (size_t g = 0; g < Kp / 4; g++) memset(dst + g * 64 + c * 4, 0, 4);
        }
        sc[c] = c < rows ? scales[c] : 0.0f;
        cs[c] = sum;
    }
}

void samq_quantize_rows(samq_isa isa, const float *x, size_t M, size_t K, size_t ldx,
                        int8_t *q, size_t ldq, float *row_scale) {
    if (M == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_quantize_avx2(x, M, K, ldx, q, ldq, row_scale); return;
    case SAMQ_VEC_AVX512: samq_quantize_avx512(x, M, K, ldx, q, ldq, row_scale); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_quantize_neon(x, M, K, ldx, q, ldq, row_scale); return;
#endif
    default: samq_quantize_scalar(x, M, K, ldx, q, ldq, row_scale); return;
    }
}

void samq_softmax_q8_rows(samq_isa isa, const float *s, size_t rows, size_t count, size_t lds,
                          int8_t *q, size_t ldq, size_t padded, float *scale) {
    if (rows == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_softmax_q8_avx2(s, rows, count, lds, q, ldq, padded, scale); return;
    case SAMQ_VEC_AVX512: samq_softmax_q8_avx512(s, rows, count, lds, q, ldq, padded, scale); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_softmax_q8_neon(s, rows, count, lds, q, ldq, padded, scale); return;
#endif
    default: samq_softmax_q8_scalar(s, rows, count, lds, q, ldq, padded, scale); return;
    }
}

void samq_pack_columns_i8(samq_isa isa, const float *x, size_t rows, size_t cols, size_t ld, void *out) {
    if (cols == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_pack_columns_avx2(x, rows, cols, ld, out); return;
    case SAMQ_VEC_AVX512: samq_pack_columns_avx512(x, rows, cols, ld, out); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_pack_columns_neon(x, rows, cols, ld, out); return;
#endif
    default: samq_pack_columns_scalar(x, rows, cols, ld, out); return;
    }
}

void samq_relpos_fill(samq_isa isa, float *scores, size_t lds, size_t rows, size_t size, const float *rel_h,
                      const float *rel_w) {
    if (rows == 0 || size == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_relpos_fill_avx2(scores, lds, rows, size, rel_h, rel_w); return;
    case SAMQ_VEC_AVX512: samq_relpos_fill_avx512(scores, lds, rows, size, rel_h, rel_w); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_relpos_fill_neon(scores, lds, rows, size, rel_h, rel_w); return;
#endif
    default: samq_relpos_fill_scalar(scores, lds, rows, size, rel_h, rel_w); return;
    }
}

void samq_add_f32(samq_isa isa, const float *a, const float *b, float *out, size_t n) {
    if (n == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_add_f32_avx2(a, b, out, n); return;
    case SAMQ_VEC_AVX512: samq_add_f32_avx512(a, b, out, n); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_add_f32_neon(a, b, out, n); return;
#endif
    default: samq_add_f32_scalar(a, b, out, n); return;
    }
}

void samq_softmax_lanes8(samq_isa isa, float *p, size_t rows, size_t groups, size_t ld) {
    if (rows == 0 || groups == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2:
    case SAMQ_VEC_AVX512: samq_softmax_lanes8_avx2(p, rows, groups, ld); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_softmax_lanes8_neon(p, rows, groups, ld); return;
#endif
    default: samq_softmax_lanes8_scalar(p, rows, groups, ld); return;
    }
}

void samq_softmax_partial(samq_isa isa, float *s, size_t pixels, size_t rows, size_t group, const float *v,
                          size_t ldv, size_t hd, float *mx, float *sum, float *acc) {
    if (rows == 0 || group == 0) return;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_softmax_partial_avx2(s, pixels, rows, group, v, ldv, hd, mx, sum, acc); return;
    case SAMQ_VEC_AVX512: samq_softmax_partial_avx512(s, pixels, rows, group, v, ldv, hd, mx, sum, acc); return;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_softmax_partial_neon(s, pixels, rows, group, v, ldv, hd, mx, sum, acc); return;
#endif
    default: samq_softmax_partial_scalar(s, pixels, rows, group, v, ldv, hd, mx, sum, acc); return;
    }
}

static int samq_check_ranges(size_t M, size_t N, size_t mb, size_t me, size_t nb, size_t ne) {
    if (mb > me || me > M || nb > ne || ne > N) return -1;
    return 0;
}

int samq_gemm_i8(samq_isa isa, const samq_gemm_args *a) {
    if (!a || !samq_isa_supported(isa)) return -1;
    if (samq_check_ranges(a->M, a->N, a->m_begin, a->m_end, a->n_begin, a->n_end)) return -1;
    if (a->n_begin % 16 != 0 || (a->n_end % 16 != 0 && a->n_end != a->N)) return -1;
    if (a->m_begin == a->m_end || a->n_begin == a->n_end) return 0;
    size_t Kp = samq_round_up(a->K, 8);
    if (!a->packed_w || (Kp > 0 && (!a->A || a->lda < Kp))) return -1;
    if (((uintptr_t)a->packed_w & 3) != 0) return -1;
    if (a->flags & SAMQ_GEMM_RAW_I32) {
        if (!a->C_i32 || a->ldc < a->n_end) return -1;
    } else {
        if (!a->C || !a->row_scale || a->ldc < a->n_end) return -1;
        if (a->residual && a->ldr < a->n_end) return -1;
    }
    switch (isa) {
#if defined(SAMQ_X86)
    case SAMQ_ISA_AVX2: samq_gemm_avx2(a); return 0;
    case SAMQ_ISA_AVX512VNNI: samq_gemm_avx512vnni(a); return 0;
    case SAMQ_ISA_AMX: samq_gemm_amx(a); return 0;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_ISA_NEON: samq_gemm_neon(a); return 0;
    case SAMQ_ISA_DOTPROD: samq_gemm_dotprod(a); return 0;
    case SAMQ_ISA_I8MM: samq_gemm_i8mm(a); return 0;
#endif
    default: samq_gemm_scalar(a); return 0;
    }
}

size_t samq_gemm_i8_row_tile(samq_isa isa) {
    switch (isa) {
    case SAMQ_ISA_AVX2: return SAMQ_AVX2_MR;
    case SAMQ_ISA_AVX512VNNI: return SAMQ_VNNI_MR;
    case SAMQ_ISA_AMX: return SAMQ_AMX_MR;
    case SAMQ_ISA_NEON:
    case SAMQ_ISA_DOTPROD:
    case SAMQ_ISA_I8MM: return 4;
    default: return 1;
    }
}

int samq_sgemm(samq_isa isa, const samq_sgemm_args *a) {
    if (!a || !samq_isa_supported(isa)) return -1;
    if (samq_check_ranges(a->M, a->N, a->m_begin, a->m_end, a->n_begin, a->n_end)) return -1;
    if (a->m_begin == a->m_end || a->n_begin == a->n_end) return 0;
    if (!a->C || a->ldc < a->n_end) return -1;
    if (a->residual && a->ldr < a->n_end) return -1;
    int half = (a->flags & SAMQ_SGEMM_B_F16) != 0;
    if (half && (a->flags & SAMQ_SGEMM_B_KN)) return -1;
    if (a->K > 0) {
        if (!a->A || (half ? !a->B_f16 : !a->B) || a->lda < a->K) return -1;
        if ((a->flags & SAMQ_SGEMM_B_KN) ? a->ldb < a->N : a->ldb < a->K) return -1;
    }
    if (half) {
        switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
        case SAMQ_VEC_AVX2: samq_hgemm_avx2(a); return 0;
        case SAMQ_VEC_AVX512: samq_hgemm_avx512(a); return 0;
#endif
#if defined(SAMQ_ARM64)
        case SAMQ_VEC_NEON: samq_hgemm_neon(a); return 0;
#endif
        default: samq_hgemm_scalar(a); return 0;
        }
    }
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_sgemm_avx2(a); return 0;
    case SAMQ_VEC_AVX512: samq_sgemm_avx512(a); return 0;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_sgemm_neon(a); return 0;
#endif
    default: samq_sgemm_scalar(a); return 0;
    }
}

int samq_bf16_native(samq_isa isa) {
#if defined(SAMQ_X86)
    if ((isa == SAMQ_ISA_AVX512VNNI || isa == SAMQ_ISA_AMX) && samq_isa_supported(isa)) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl");
    }
#endif
    (void)isa;
    return 0;
}

int samq_bf16gemm(samq_isa isa, const samq_bf16gemm_args *a) {
    if (!a || !samq_isa_supported(isa)) return -1;
    if (samq_check_ranges(a->M, a->N, a->m_begin, a->m_end, a->n_begin, a->n_end)) return -1;
    if (a->m_begin == a->m_end || a->n_begin == a->n_end) return 0;
    if (!a->C || a->ldc < a->n_end) return -1;
    if (a->residual && a->ldr < a->n_end) return -1;
    if (a->flags & ~(uint32_t)SAMQ_SGEMM_GELU) return -1;
    if (a->residual_add && !a->residual) return -1;
    if (a->K > 0 && (!a->A || !a->B || a->lda < a->K || a->ldb < a->N)) return -1;
#if defined(SAMQ_X86)
    if (samq_bf16_native(isa)) {
        samq_bf16gemm_avx512(a);
        return 0;
    }
#endif
    samq_bf16gemm_scalar(a);
    return 0;
}

/* 1 if the float ranges [a, a+na) and [b, b+nb) share memory. */
static int samq_overlap(const float *a, size_t na, const float *b, size_t nb) {
    uintptr_t a0 = (uintptr_t)a, a1 = a0 + na * sizeof(float);
    uintptr_t b0 = (uintptr_t)b, b1 = b0 + nb * sizeof(float);
    return na > 0 && nb > 0 && a0 < b1 && b0 < a1;
}

int samq_dwconv3x3(samq_isa isa, const samq_dwconv3x3_args *a) {
    if (!a || !samq_isa_supported(isa)) return -1;
    if ((a->stride != 1 && a->stride != 2) || (a->flags & ~SAMQ_DW_GELU)) return -1;
    size_t Ho = samq_dw_out_size(a->H, a->stride), Wo = samq_dw_out_size(a->W, a->stride);
    if (a->y_begin > a->y_end || a->y_end > Ho) return -1;
    if (a->y_begin == a->y_end || Wo == 0 || a->C == 0) return 0;
    if (!a->x || !a->w || !a->y) return -1;
    size_t ny = Ho * Wo * a->C;
    if (samq_overlap(a->y, ny, a->x, a->H * a->W * a->C) || samq_overlap(a->y, ny, a->w, 9 * a->C) ||
        (a->bias && samq_overlap(a->y, ny, a->bias, a->C)))
        return -1;
    switch (samq_vector_unit(isa)) {
#if defined(SAMQ_X86)
    case SAMQ_VEC_AVX2: samq_dwconv3x3_avx2(a); return 0;
    case SAMQ_VEC_AVX512: samq_dwconv3x3_avx512(a); return 0;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_VEC_NEON: samq_dwconv3x3_neon(a); return 0;
#endif
    default: samq_dwconv3x3_scalar(a); return 0;
    }
}

uint64_t samq_peak_i8(samq_isa isa, uint64_t iterations) {
    if (!samq_isa_supported(isa)) return 0;
    switch (isa) {
#if defined(SAMQ_X86)
    case SAMQ_ISA_AVX2: return samq_peak_avx2(iterations);
    case SAMQ_ISA_AVX512VNNI: return samq_peak_avx512vnni(iterations);
    case SAMQ_ISA_AMX: return samq_peak_amx(iterations);
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_ISA_NEON: return samq_peak_neon(iterations);
    case SAMQ_ISA_DOTPROD: return samq_peak_dotprod(iterations);
    case SAMQ_ISA_I8MM: return samq_peak_i8mm(iterations);
#endif
    default: return samq_peak_scalar(iterations);
    }
}
