#!/usr/bin/env bash
# Build and run the single-thread kernel benchmark with the flags SwiftPM uses
# for the CKernels target (clang -O3 -fno-strict-aliasing). Args go to bench.
set -eu
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CC="${CC:-clang}"
OUT="${TMPDIR:-/tmp}/samq-kernel-bench"
"$CC" -O3 -fno-strict-aliasing -I"$ROOT/Sources/CKernels/include" \
    "$ROOT/Benchmarks/kernels/bench.c" "$ROOT"/Sources/CKernels/*.c -lm -o "$OUT"
exec "$OUT" "$@"
