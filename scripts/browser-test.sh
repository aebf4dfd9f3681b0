#!/usr/bin/env bash
# Real-browser test of `samq serve`: headless Chromium (Debian chromium +
# chromium-driver, installed here if missing) drives the page on the demo
# model: upload demo_1.png, click the star, check the mask overlay, drag a box,
# undo, tap on a phone-sized touch screen, and save screenshots (default
# out/browser/serve_screenshot.png and …_phone.png). CONFIG=release uses a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
shot=${1:-out/browser/serve_screenshot.png}
scripts/install-deps.sh --browser
config=${CONFIG:-debug}
swift build -c "$config" --product samq >/dev/null
swift build -c "$config" --product samq-convert >/dev/null
bin=.build/$config
mkdir -p out/browser
model=out/browser/demo.samq
"$bin/samq-convert" Models/demo/samq_demo_256.pth -o "$model" --brief >/dev/null
python3 scripts/browser_test.py "$bin/samq" "$model" Models/demo/demo_1.png 144,59 "$shot"
