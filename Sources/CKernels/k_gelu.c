/* In-place GELU runs (samq_gelu.h) on the vector GELUs of samq_simd.h,
 * which mirror samq_gelu_ref op for op: every ISA gives the scalar bits. */
#include "samq_internal.h"
#include "samq_simd.h"
#include "samq_gelu.h"

static void gelu_scalar(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = samq_gelu_ref(x[i]);
}

#if defined(SAMQ_X86)
TGT_AVX2 static void gelu_run_avx2(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu_avx2(_mm256_loadu_ps(x + i)));
    gelu_scalar(x + i, n - i);
}
TGT_512 static void gelu_run_512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu_512(_mm512_loadu_ps(x + i)));
    gelu_scalar(x + i, n - i);
}
#endif

#if defined(SAMQ_ARM64)
static void gelu_run_neon(float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, gelu_neon(vld1q_f32(x + i)));
    gelu_scalar(x + i, n - i);
}
#endif

int samq_gelu_inplace(samq_isa isa, float *x, size_t n) {
    if (!samq_isa_supported(isa)) return -1;
    if (n == 0) return 0;
    if (!x) return -1;
    switch (isa) {
#if defined(SAMQ_X86)
    case SAMQ_ISA_AVX2: gelu_run_avx2(x, n); return 0;
    case SAMQ_ISA_AVX512VNNI: gelu_run_512(x, n); return 0;
#endif
#if defined(SAMQ_ARM64)
    case SAMQ_ISA_NEON:
    case SAMQ_ISA_DOTPROD:
    case SAMQ_ISA_I8MM: gelu_run_neon(x, n); return 0;
#endif
    default: gelu_scalar(x, n); return 0;
    }
}
