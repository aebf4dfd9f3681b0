#!/usr/bin/env bash
# The main job, end to end, on the embedded demo model:
#   1. build samq and samq-convert (release),
#   2. convert Models/demo/samq_demo_256.pth (official torch.save format) to int8 .samq,
#   3. segment a demo image from a point prompt, writing masks, an overlay and result.json.
# Output goes to out/demo/ (override with OUT=dir).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/demo}
scripts/install-deps.sh --runtime-only
echo "building (release)…" >&2
swift build -c release --product samq-convert >/dev/null
swift build -c release --product samq >/dev/null
bin=.build/release
mkdir -p "$out"

"$bin/samq-convert" Models/demo/samq_demo_256.pth -o "$out/demo.samq" --brief
echo
# The magenta star of demo_1.png (Models/demo/demo_prompts.json lists a point and a box per demo image).
image=Models/demo/demo_1.png
point=144,59
start=$(date +%s.%N)
"$bin/samq" segment "$out/demo.samq" "$image" --point "$point" -o "$out"
end=$(date +%s.%N)
echo
echo "segmented $image at point ($point) in $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b-a}') s (whole process, model load included)"
echo "mask:    $out/mask_*.png"
echo "overlay: $out/overlay.png"
