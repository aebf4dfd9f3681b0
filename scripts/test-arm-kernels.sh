#!/usr/bin/env bash
# Cross-compile the C kernel test for aarch64 and run it under qemu-user on
# three CPU models, asserting each run exercised the expected best kernel:
#   cortex-a53 -> neon, cortex-a76 -> dotprod, max -> i8mm.
# Also builds the kernels with clang for aarch64 (what SwiftPM uses on a board)
# when clang is available. Needs: apt-get install gcc-aarch64-linux-gnu qemu-user
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CC="${AARCH64_CC:-aarch64-linux-gnu-gcc}"
QEMU="${QEMU_AARCH64:-qemu-aarch64}"

missing=0
for tool in "$CC" "$QEMU"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "missing tool: $tool" >&2
        missing=1
    fi
done
if [ "$missing" -ne 0 ]; then
    echo "install with: apt-get install gcc-aarch64-linux-gnu qemu-user" >&2
    exit 2
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/samq-arm.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
SRC=("$ROOT"/Sources/CKernels/*.c)

# -ffp-contract=off: GCC contracts a*b+c by default in GNU C mode; the
# epilogue bit-exactness contract forbids it (clang honours the pragma).
if ! "$CC" -O2 -static -ffp-contract=off -fno-strict-aliasing -Wall -Wextra \
        -I"$ROOT/Sources/CKernels/include" "$ROOT/Tests/CKernelsC/kernel_test.c" "${SRC[@]}" \
        -lm -o "$OUT/kernel_test"; then
    echo "FAIL: cross-compilation with $CC" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0
failed=0
BINS=("$OUT/kernel_test")
# SwiftPM compiles the kernels with clang on a board: build that flavour too
# (static, against the cross toolchain's libc) and run it on every CPU.
CLANG="${CLANG:-$(command -v clang || true)}"
if [ -n "$CLANG" ] && [ -d /usr/aarch64-linux-gnu/include ]; then
    if "$CLANG" --target=aarch64-linux-gnu -O3 -fno-strict-aliasing -static -Werror -Wall \
            -I"$ROOT/Sources/CKernels/include" "$ROOT/Tests/CKernelsC/kernel_test.c" "${SRC[@]}" \
            -lm -o "$OUT/kernel_test_clang"; then
        BINS+=("$OUT/kernel_test_clang")
    else
        echo "FAIL: clang aarch64 build"
        failed=$((failed + 1))
    fi
else
    echo "note: clang with an aarch64 sysroot not found; testing the gcc build only"
fi

for bin in "${BINS[@]}"; do
  flavour=gcc
  case "$bin" in *_clang) flavour=clang ;; esac
  for pair in "cortex-a53:neon" "cortex-a76:dotprod" "max:i8mm"; do
    cpu="${pair%%:*}"
    isa="${pair##*:}"
    log="$OUT/$cpu-$flavour.log"
    start=$(date +%s)
    if timeout 120 "$QEMU" -cpu "$cpu" "$bin" --expect-isa "$isa" >"$log" 2>&1; then
        rc=0
    else
        rc=$?
    fi
    secs=$(( $(date +%s) - start ))
    grep -E "^FAIL" "$log" | head -n 20
    summary="$(tail -n 1 "$log")"
    if [ "$rc" -eq 0 ] && grep -q "best: $isa" "$log" && echo "$summary" | grep -q " 0 failed"; then
        echo "ok: qemu -cpu $cpu ran $isa ($flavour build): $summary (${secs}s)"
        passed=$((passed + 1))
    else
        echo "FAIL: qemu -cpu $cpu ($flavour build, expected $isa, exit $rc): $(head -n 1 "$log") / $summary"
        failed=$((failed + 1))
    fi
  done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
