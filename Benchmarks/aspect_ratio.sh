#!/usr/bin/env bash
# The vit_t encoder on one image cropped to several shapes, interleaved, 2 threads.
# Not part of CI.
#
#   Benchmarks/aspect_ratio.sh [MODEL.samq] [IMAGE] [ROUNDS]
#
# SAM pads every image to a square with zeros at the bottom or on the right.
# TinyViT's stage 0 copies what reads only that padding instead of computing
# it (docs/DECISIONS.md, session 13), so a non-square image encodes faster
# than a square one. MODEL defaults to a fresh `samq-convert --random vit_t --seed 1`;
# IMAGE to Models/demo/demo_1.png. Each shape is the image resized to fill
# 1024 px on its long side (no padding inside the file). PYTHON selects an
# interpreter with Pillow (default /work/venv/bin/python).
#
# Prints the median `samq bench` encoder time per shape over ROUNDS rounds
# (5 timed runs each), and its ratio to the square image's.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-}
image_in=${2:-Models/demo/demo_1.png}
rounds=${3:-5}
python=${PYTHON:-/work/venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product samq >/dev/null
bin=.build/release
if [ -z "$model" ]; then
  swift build -c release --product samq-convert >/dev/null
  model="$work/vit_t.samq"
  "$bin/samq-convert" --random vit_t --seed 1 -o "$model" --quiet
fi

shapes=("1024x1024 square" "1024x768 4:3" "1024x576 16:9" "768x1024 3:4")
"$python" - "$image_in" "$work" "${shapes[@]%% *}" <<'PY'
import sys
from PIL import Image
src, out, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
im = Image.open(src).convert("RGB")
for s in sizes:
    w, h = map(int, s.split("x"))
    im.resize((w, h), Image.BILINEAR).save(f"{out}/{s}.png")
PY

for round in $(seq "$rounds"); do
  for shape in "${shapes[@]}"; do
    size=${shape%% *}
    ms=$("$bin/samq" bench "$model" --image "$work/$size.png" --runs 5 --prompts 1 --threads 2 --json |
      "$python" -c "import json, sys; print(json.load(sys.stdin)['encoderMedianMs'])")
    echo "$size $ms" >>"$work/times"
  done
done

echo "| vit_t encoder, 2 threads | padding | median of $rounds rounds | vs square |"
echo "|---|---|---|---|"
"$python" - "$work/times" "${shapes[@]}" <<'PY'
import sys, statistics
times = {}
for line in open(sys.argv[1]):
    size, ms = line.split()
    times.setdefault(size, []).append(float(ms))
shapes = [s.split(" ", 1) for s in sys.argv[2:]]
square = statistics.median(times[shapes[0][0]])
for size, name in shapes:
    w, h = map(int, size.split("x"))
    pad = 1 - w * h / (1024 * 1024)
    where = "none" if pad == 0 else ("bottom" if w >= h else "right")
    m = statistics.median(times[size])
    print(f"| {size} ({name}) | {pad:.0%} {where} | {m:.0f} ms | {m / square:.2f} |")
PY
