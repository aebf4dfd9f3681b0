#!/usr/bin/env bash
# MobileSAM (vit_t): samq against the official PyTorch MobileSAM, on the same
# weights and the same 1024 px image, in one run, 2 threads. Not part of CI.
#
#   Benchmarks/mobilesam.sh [CHECKPOINT.pt] [IMAGE] [RUNS]
#
# CHECKPOINT defaults to /work/big/fixtures/vit_t.pth: official vit_t shapes
# with seeded random weights (Tests/Fixtures/make_mobilesam_fixtures.py), saved
# like mobile_sam.pt. IMAGE defaults to Models/demo/demo_1.png scaled to
# 1024 px on its long side. PYTHON selects the interpreter with torch,
# mobilesam-mirror and timm (default /work/venv/bin/python).
#
# Reported (medians over RUNS):
#   encoder   samq: `samq bench` encoder median (in process, warm);
#             PyTorch: SamPredictor.set_image in a warm process
#   segment   samq: a whole `samq segment` process with one point (load,
#             decode, encode, decode masks, write PNGs); PyTorch: set_image +
#             predict in a warm process (no load, no file output)
#   peak RSS  `samq encode` under /usr/bin/time -v; PyTorch: ru_maxrss
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:-/work/big/fixtures/vit_t.pth}
image_in=${2:-Models/demo/demo_1.png}
runs=${3:-5}
python=${PYTHON:-/work/venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product samq-convert >/dev/null
swift build -c release --product samq >/dev/null
bin=.build/release

image="$work/image_1024.png"
"$python" - "$image_in" "$image" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
s = 1024 / max(im.size)
im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.BILINEAR).save(sys.argv[2])
PY
read -r width height < <("$python" -c "from PIL import Image; im = Image.open('$image'); print(*im.size)")
point="$((width / 2)),$((height / 2))"

"$bin/samq-convert" "$ckpt" -o "$work/int8.samq" --quiet
"$bin/samq-convert" "$ckpt" -o "$work/f32.samq" --dtype f32 --quiet

read -r torch_enc torch_seg torch_peak < <("$python" Benchmarks/pytorch_mobilesam.py "$ckpt" "$image" \
    --point "$point" --runs "$runs" --threads 2)

bench_encoder() { # model -> median encoder seconds (samq bench, warm, in process)
  "$bin/samq" bench "$1" --image "$image" --runs "$runs" --threads 2 --json |
    "$python" -c "import json, sys; print(json.load(sys.stdin)['encoderMedianMs'] / 1000)"
}
segment_median() { # model -> median seconds of whole `samq segment` processes
  local times=()
  "$bin/samq" segment "$1" "$image" --point "$point" -o "$work/seg" --quiet --threads 2
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    "$bin/samq" segment "$1" "$image" --point "$point" -o "$work/seg" --quiet --threads 2
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b-a}')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
encode_peak() { # model -> peak RSS MB of `samq encode`
  /usr/bin/time -v "$bin/samq" encode "$1" "$image" -o "$work/e.npy" --quiet --threads 2 2>"$work/time.log"
  awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print int($2/1024)}' "$work/time.log"
}

i8_enc=$(bench_encoder "$work/int8.samq"); i8_seg=$(segment_median "$work/int8.samq"); i8_peak=$(encode_peak "$work/int8.samq")
f32_enc=$(bench_encoder "$work/f32.samq"); f32_seg=$(segment_median "$work/f32.samq"); f32_peak=$(encode_peak "$work/f32.samq")

echo "| MobileSAM vit_t, 2 threads, ${width}×${height} image | encoder median | vs PyTorch | segment (1 point) median | vs PyTorch | peak RSS |"
echo "|---|---|---|---|---|---|"
awk -v e="$torch_enc" -v s="$torch_seg" -v p="$torch_peak" 'BEGIN {printf "| official PyTorch MobileSAM f32 | %.0f ms | 1.00× | %.0f ms (warm process) | 1.00× | %s MB |\n", e*1000, s*1000, p}'
awk -v e="$f32_enc" -v s="$f32_seg" -v p="$f32_peak" -v te="$torch_enc" -v ts="$torch_seg" 'BEGIN {printf "| samq f32 .samq | %.0f ms | %.2f× | %.0f ms (whole process) | %.2f× | %s MB (encode) |\n", e*1000, te/e, s*1000, ts/s, p}'
awk -v e="$i8_enc" -v s="$i8_seg" -v p="$i8_peak" -v te="$torch_enc" -v ts="$torch_seg" 'BEGIN {printf "| samq int8 .samq | %.0f ms | %.2f× | %.0f ms (whole process) | %.2f× | %s MB (encode) |\n", e*1000, te/e, s*1000, ts/s, p}'
echo "(ratio = PyTorch time / samq time; above 1 means samq is faster)"
