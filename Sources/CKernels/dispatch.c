#include "samq_kernels.h"
int samq_kernels_version(void) { return 1; }
