#!/usr/bin/env bash
# Peak memory and streaming cost of `samq`, in one run. Not part of CI (the
# vit_h runs take minutes; Tests/CLITests/MemoryCgroupTests.swift is the
# small version that CI runs).
#
#   Benchmarks/memory.sh [IMAGE] [RUNS]
#
# Models: `samq-convert --random vit_b|vit_h --seed 1` (int8, zstd), kept in
# $MODEL_DIR (default /work/big/memory-bench, else a temporary directory).
# MODELS="vit_b" limits the run (the cgroup row needs vit_h).
# Every figure is a whole `samq` process, 2 threads, peak RSS from
# `/usr/bin/time -v`. Streamed and resident runs alternate so machine load
# hits both alike; times are medians of RUNS (default 3) of each.
#
# Checks (the script exits non-zero if one fails):
#   - streamed and resident embeddings are byte-identical, and 1 vs 2 threads;
#   - vit_h `samq encode` inside a 512 MB memory cgroup (no flags: the limit
#     is detected) completes with the unconstrained output. Needs root and a
#     writable memory cgroup, else that row says "skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-Models/demo/demo_1.png}
runs=${2:-3}
models=${MODEL_DIR:-/work/big/memory-bench}
mkdir -p "$models" 2>/dev/null || models=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product samq-convert >/dev/null
swift build -c release --product samq >/dev/null
bin=.build/release
failed=0

variants=${MODELS:-vit_b vit_h}
for v in $variants; do
  [ -f "$models/$v.samq" ] || "$bin/samq-convert" --random "$v" --seed 1 -o "$models/$v.samq" --quiet
done

# run LABEL OUT.npy samq-args... → appends "label peak_mb encoder_ms first_gemm_ms wait_ms cpu_ms" to $work/runs
run() {
  local label=$1 out=$2; shift 2
  local log=$work/time.log stdout=$work/stdout
  /usr/bin/time -v "$bin/samq" "$@" >"$stdout" 2>"$log" || { echo "FAILED: samq $*" >&2; cat "$log" >&2; exit 1; }
  local peak enc first wait cpu
  peak=$(awk -F: '/Maximum resident/ {gsub(/ /,"",$2); printf "%.0f", $2/1024}' "$log")
  enc=$(sed -n 's/.*encoder \([0-9]*\) ms.*/\1/p' "$stdout" | head -1)
  first=$(sed -n 's/.*first GEMM \([0-9]*\) ms.*/\1/p' "$stdout")
  wait=$(sed -n 's/.* \([0-9]*\) ms spent waiting.*/\1/p' "$stdout")
  cpu=$(sed -n 's/.* \([0-9]*\) ms CPU in the encoder.*/\1/p' "$stdout")
  echo "$label $peak ${enc:--} ${first:--} ${wait:--} ${cpu:--}" >>"$work/runs"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { awk -v l="$1" -v c="$2" '$1 == l {print $c}' "$work/runs"; }
same() { # a.npy b.npy what
  if cmp -s "$1" "$2"; then echo "identical"; else echo "DIFFERENT"; failed=1; fi
}

declare -A budget=([vit_b]=160MB [vit_l]=240MB [vit_h]=320MB)
for v in $variants; do
  for _ in $(seq "$runs"); do
    run "$v-streamed" "$work/$v-s.npy" encode "$models/$v.samq" "$image" -o "$work/$v-s.npy" --threads 2 --memory-budget "${budget[$v]}"
    run "$v-resident" "$work/$v-r.npy" encode "$models/$v.samq" "$image" -o "$work/$v-r.npy" --threads 2 --memory-budget 100GB
  done
  run "$v-decoder" - segment "$models/$v.samq" "$image" --embedding "$work/$v-s.npy" --point 100,100 -o "$work/seg-$v" --threads 2 --quiet
done
"$bin/samq" encode "$models/vit_b.samq" "$image" -o "$work/vit_b-t1.npy" --threads 1 --memory-budget 160MB --quiet

# vit_h in a 512 MB memory cgroup, no flags.
cgroup_result="skipped (needs root and a writable memory cgroup)"
if [ "$(id -u)" = 0 ] && [ -f "$work/vit_h-s.npy" ]; then
  own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  if [ -n "$own" ] && [ -d "/sys/fs/cgroup/memory$own" ]; then
    group="/sys/fs/cgroup/memory$own/samq-memory-bench-$$"; limit_file=memory.limit_in_bytes; peak_file=memory.max_usage_in_bytes
  else
    own=$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup); group="/sys/fs/cgroup$own/samq-memory-bench-$$"
    limit_file=memory.max; peak_file=memory.peak
  fi
  if mkdir "$group" 2>/dev/null && [ -w "$group/$limit_file" ]; then
    echo 512M >"$group/$limit_file"
    [ -f "$group/memory.swap.max" ] && echo 0 >"$group/memory.swap.max"
    [ -f "$group/memory.memsw.limit_in_bytes" ] && echo 512M >"$group/memory.memsw.limit_in_bytes"
    if sh -c "echo \$\$ > '$group/cgroup.procs' && exec /usr/bin/time -v '$bin/samq' encode '$models/vit_h.samq' '$image' -o '$work/vit_h-cg.npy' --threads 2 --quiet" 2>"$work/cg.log"; then
      cg_peak=$(awk -F: '/Maximum resident/ {gsub(/ /,"",$2); printf "%.0f", $2/1024}' "$work/cg.log")
      cgroup_result="completed, peak RSS $cg_peak MB, cgroup peak $(( $(cat "$group/$peak_file") / 1000000 )) MB (page cache included), output $(same "$work/vit_h-cg.npy" "$work/vit_h-s.npy")"
    else
      cgroup_result="FAILED: $(tail -2 "$work/cg.log" | tr '\n' ' ')"; failed=1
    fi
    rmdir "$group"
  else
    rmdir "$group" 2>/dev/null || true
  fi
fi

echo
echo "Peak RSS and encoder time, \`Benchmarks/memory.sh\` ($(basename "$image"), $runs runs each, 2 threads, int8 zstd from --random, $(date -u +%F)):"
echo
echo "| model | mode (flag) | peak RSS (max of runs) | encoder wall median (min) | encoder CPU median | first GEMM after open | waiting for weights |"
echo "|---|---|---|---|---|---|---|"
for v in $variants; do
  for m in streamed resident; do
    flag=$([ $m = streamed ] && echo "--memory-budget ${budget[$v]}" || echo "--memory-budget 100GB")
    printf '| %s | %s (`%s`) | %s MB | %s ms (%s ms) | %s ms | %s ms | %s ms |\n' "$v" "$m" "$flag" \
      "$(col "$v-$m" 2 | sort -n | tail -1)" "$(col "$v-$m" 3 | median)" "$(col "$v-$m" 3 | sort -n | head -1)" \
      "$(col "$v-$m" 6 | median)" "$(col "$v-$m" 4 | median)" "$(col "$v-$m" 5 | median)"
  done
  printf '| %s | decoder only (`segment --embedding`) | %s MB | — | — | — | — |\n' "$v" "$(col "$v-decoder" 2)"
done
echo
for v in $variants; do
  s=$(col "$v-streamed" 3 | median); r=$(col "$v-resident" 3 | median)
  smin=$(col "$v-streamed" 3 | sort -n | head -1); rmin=$(col "$v-resident" 3 | sort -n | head -1)
  sc=$(col "$v-streamed" 6 | median); rc=$(col "$v-resident" 6 | median)
  echo "- $v streamed / resident encoder time: wall $(awk -v s="$s" -v r="$r" 'BEGIN {printf "%.3f", s / r}') (medians), $(awk -v s="$smin" -v r="$rmin" 'BEGIN {printf "%.3f", s / r}') (minima); CPU $(awk -v s="$sc" -v r="$rc" 'BEGIN {printf "%.3f", s / r}') (medians); embeddings $(same "$work/$v-s.npy" "$work/$v-r.npy")"
done
echo "- vit_b 1 vs 2 threads (streamed): $(same "$work/vit_b-t1.npy" "$work/vit_b-s.npy")"
echo "- vit_h \`samq encode\` in a 512 MB memory cgroup: $cgroup_result"
exit $failed
