#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every Swift test,
# including the ARM kernel tests under qemu (driven from CKernelsTests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# All tests are XCTest; without this flag Swift Testing adds a "0 tests" line.
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log
# `samq serve`'s page in headless Chromium (about 10 s on the debug build above).
scripts/browser-test.sh 2>&1 | tee .build/browser-test.log
# One plain closing line for any reader of the log.
awk '/Test Suite .All tests. (passed|failed)/ { getline; if (match($0, /Executed [0-9]+ tests?/)) {
       n = $2; s = 0; f = 0
       if (match($0, /[0-9]+ tests? skipped/)) s = substr($0, RSTART, RLENGTH) + 0
       if (match($0, /[0-9]+ failures?/)) f = substr($0, RSTART, RLENGTH) + 0
       line = sprintf("tests: %d passed, %d failed, %d skipped", n - s - f, f, s) } }
     END { if (line) print line }' .build/test.log
