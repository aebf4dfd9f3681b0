/* Bilinear resize rows (samq_resize.h). The x86 variant exists because without
 * the FMA target feature every fmaf is a library call, which made SAM's mask
 * upscaling the largest cost of a decoder request on small models. */
#include <math.h>
#include "samq_internal.h"
#include "samq_resize.h"

#pragma STDC FP_CONTRACT OFF

#define BILINEAR_BODY(FMA)                                                      \
    for (intptr_t i = 0; i < n; i++) {                                          \
        const float a = w0[i], b = w1[i];                                       \
        const float t0 = FMA(row0[x0[i]], a, row0[x1[i]] * b);                  \
        const float t1 = FMA(row1[x0[i]], a, row1[x1[i]] * b);                  \
        out[i] = FMA(t0, h0, t1 * h1);                                          \
    }

static void bilinear_row_libm(const float *row0, const float *row1, float h0, float h1,
                              const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                              float *out, intptr_t n) {
    BILINEAR_BODY(fmaf)
}

#if defined(SAMQ_X86)
__attribute__((target("fma")))
static void bilinear_row_fma(const float *row0, const float *row1, float h0, float h1,
                             const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                             float *out, intptr_t n) {
    BILINEAR_BODY(__builtin_fmaf)
}
#endif

void samq_bilinear_row(const float *row0, const float *row1, float h0, float h1,
                       const intptr_t *x0, const intptr_t *x1, const float *w0, const float *w1,
                       float *out, intptr_t n) {
#if defined(SAMQ_X86)
    if (__builtin_cpu_supports("fma")) {
        bilinear_row_fma(row0, row1, h0, h1, x0, x1, w0, w1, out, n);
        return;
    }
#endif
    bilinear_row_libm(row0, row1, h0, h1, x0, x1, w0, w1, out, n);
}
