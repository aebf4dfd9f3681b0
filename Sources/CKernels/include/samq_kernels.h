#ifndef SAMQ_KERNELS_H
#define SAMQ_KERNELS_H
#include <stddef.h>
#include <stdint.h>
int samq_kernels_version(void);
#endif
