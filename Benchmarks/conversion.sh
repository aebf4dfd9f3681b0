#!/usr/bin/env bash
# Conversion benchmark: time, peak RSS and size ratio of samq-convert on
# full-size models. Not part of CI (it needs multi-GB checkpoints).
#
#   Benchmarks/conversion.sh [BIG_DIR]
#
# BIG_DIR (default /work/big) may hold sam_vit_b_random.pth / sam_vit_h_random.pth,
# made by `python Tests/Fixtures/make_fixtures.py --big-dir BIG_DIR` with the
# official package (sam_model_registry[...]() then torch.save(state_dict)),
# exactly what the official files are. --random conversions need nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
big=${1:-/work/big}
mkdir -p "$big"
scripts/install-deps.sh --runtime-only
swift build -c release --product samq-convert >/dev/null
bin=.build/release/samq-convert

measure() { # label, output, args...
  local label=$1 out=$2; shift 2
  local log; log=$(mktemp)
  /usr/bin/time -v "$bin" "$@" -o "$out" --quiet 2>"$log"
  local rss secs
  rss=$(awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print int($2/1024)}' "$log")
  secs=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$log")
  local in_bytes="-" ratio="-"
  if [[ -f "${1:-}" ]]; then
    in_bytes=$(stat -c %s "$1")
    ratio=$(awk -v o="$(stat -c %s "$out")" -v i="$in_bytes" 'BEGIN {printf "%.1f%%", 100*o/i}')
    in_bytes=$(awk -v b="$in_bytes" 'BEGIN {printf "%.1f MB", b/1e6}')
  fi
  printf '| %s | %s | %.1f MB | %s | %s | %s MB |\n' "$label" "$in_bytes" "$(awk -v b="$(stat -c %s "$out")" 'BEGIN {print b/1e6}')" "$ratio" "$secs" "$rss"
  rm -f "$log"
}

echo "| conversion | input | output | ratio | wall time | peak RSS |"
echo "|---|---|---|---|---|---|"
measure "--random vit_b int8" "$big/bench_random_vit_b.samq" --random vit_b --seed 1
measure "--random vit_h int8" "$big/bench_random_vit_h.samq" --random vit_h --seed 1
for v in vit_b vit_l vit_h; do
  pth="$big/sam_${v}_random.pth"
  [[ -f "$pth" ]] || continue
  measure "official-format $v .pth int8" "$big/bench_${v}.samq" "$pth"
  measure "official-format $v .pth f32" "$big/bench_${v}_f32.samq" "$pth" --dtype f32
done
