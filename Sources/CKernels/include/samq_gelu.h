/*
 * GELU over a run of floats, in place: the GELU of the int8 GEMM epilogue
 * (samq_gelu, see samq_kernels.h), bit-exact across every ISA.
 * Plain C, no allocation, no threads: split the run freely across threads.
 */
#ifndef SAMQ_GELU_H
#define SAMQ_GELU_H

#include <stddef.h>
#include "samq_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x[i] = samq_gelu(x[i]) for i < n. Returns 0, or -1 for a NULL x with
 * n > 0 or an ISA this CPU lacks. */
int samq_gelu_inplace(samq_isa isa, float *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif
