#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every Swift test,
# including the ARM kernel tests under qemu (driven from CKernelsTests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test.log
