#!/usr/bin/env bash
# Bounded loopback load test of `samq serve` on the demo model:
# 200 predict requests from 8 concurrent clients against one encoded image.
# Builds release samq/samq-convert and converts the demo model if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product samq >/dev/null
swift build -c release --product samq-convert >/dev/null
model=${MODEL:-out/demo/demo.samq}
if [ ! -f "$model" ]; then
  mkdir -p "$(dirname "$model")"
  .build/release/samq-convert Models/demo/samq_demo_256.pth -o "$model" --brief >/dev/null
fi
python3 Benchmarks/serve_load.py .build/release/samq "$model" Models/demo/demo_1.png "$@"
