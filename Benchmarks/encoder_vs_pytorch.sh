#!/usr/bin/env bash
# Encoder time of samq against the official PyTorch implementation, on the
# same weights and image, in one run. Not part of CI.
#
#   Benchmarks/encoder_vs_pytorch.sh [CHECKPOINT.pth] [IMAGE] [RUNS]
#
# CHECKPOINT defaults to /work/big/sam_vit_b_random.pth, an official-format
# vit_b state dict with random weights (Tests/Fixtures/make_fixtures.py
# --big-dir writes it). PYTHON selects the interpreter that has torch and
# segment-anything (default: /work/venv/bin/python). Runs samq with the f32
# .samq (the reference path) and the int8 .samq (W8A8 encoder), 2 threads.
# samq times are whole `samq encode` processes (load, image decode and
# preprocessing included); PyTorch's are set_image calls in a warm process.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:-/work/big/sam_vit_b_random.pth}
image=${2:-Models/demo/demo_1.png}
runs=${3:-3}
python=${PYTHON:-/work/venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/install-deps.sh --runtime-only
swift build -c release --product samq-convert >/dev/null
swift build -c release --product samq >/dev/null
bin=.build/release

"$bin/samq-convert" "$ckpt" -o "$work/f32.samq" --dtype f32 --quiet
"$bin/samq-convert" "$ckpt" -o "$work/int8.samq" --quiet

time_samq() { # model -> "median min peak_mb"
  local model=$1 times=() log
  log=$(mktemp)
  "$bin/samq" encode "$model" "$image" -o "$work/warm.npy" --quiet
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v "$bin/samq" encode "$model" "$image" -o "$work/e.npy" --quiet 2>"$log"
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b-a}')")
  done
  local peak; peak=$(awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print int($2/1024)}' "$log")
  printf '%s\n' "${times[@]}" | sort -n | awk -v p="$peak" '{a[NR]=$1} END {printf "%.2f %.2f %s\n", a[int((NR+1)/2)], a[1], p}'
}

read -r torch_median torch_min torch_peak < <("$python" Benchmarks/pytorch_encoder.py "$ckpt" "$image" --runs "$runs" --threads 2 --plain)
read -r f32_median f32_min f32_peak < <(time_samq "$work/f32.samq")
read -r i8_median i8_min i8_peak < <(time_samq "$work/int8.samq")

echo "| system (2 threads, $(basename "$ckpt")) | encoder median | min | vs PyTorch | peak RSS |"
echo "|---|---|---|---|---|"
echo "| official PyTorch f32 (set_image) | ${torch_median} s | ${torch_min} s | 1.00× | ${torch_peak} MB |"
awk -v m="$f32_median" -v n="$f32_min" -v t="$torch_median" -v p="$f32_peak" 'BEGIN {printf "| samq f32 .samq (whole process) | %.2f s | %.2f s | %.2f× | %s MB |\n", m, n, t/m, p}'
awk -v m="$i8_median" -v n="$i8_min" -v t="$torch_median" -v p="$i8_peak" 'BEGIN {printf "| samq int8 .samq (whole process) | %.2f s | %.2f s | %.2f× | %s MB |\n", m, n, t/m, p}'
