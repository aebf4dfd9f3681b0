#!/usr/bin/env bash
# Fuzzes the file readers with libFuzzer + AddressSanitizer.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]      default: 60 s, all targets
#
# Each target is compiled straight with swiftc (not SwiftPM) from the sources it
# needs, seeded from the committed test corpus, run for a bounded time, and the
# script fails if any target crashes, leaks past the RSS limit or times out.
# Crash inputs land in .build-fuzz/artifacts/<target>/; re-run one with
#   .build-fuzz/fuzz-<target> <crash-file>
#
# Adding a target: write Fuzz/Fuzz<Name>.swift with an
# @_cdecl("LLVMFuzzerTestOneInput") function, then add one line to each table
# below (its entry file, its sources, the prebuilt modules it imports, seeds).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/.build-fuzz}
SECONDS_PER_TARGET=${1:-60}
shift || true

CHECKPOINT=Converter/Sources/SAMQConverter/Checkpoint
FIXTURES=Tests/Fixtures/malformed

# --- target tables --------------------------------------------------------------
declare -A ENTRY SOURCES MODULES MODULE_EXTRA SEEDS DICT EXTRA ASAN
ENTRY[pickle]=Fuzz/FuzzPickle.swift
ENTRY[torch]=Fuzz/FuzzTorch.swift
ENTRY[safetensors]=Fuzz/FuzzSafetensors.swift
ENTRY[samq]=Fuzz/FuzzSAMQ.swift
ENTRY[npy]=Fuzz/FuzzNumPy.swift
ENTRY[image]=Fuzz/FuzzImage.swift
# Compiled into one module with the entry file. Directories are searched recursively for *.swift.
SOURCES[pickle]=$CHECKPOINT
SOURCES[torch]=$CHECKPOINT
SOURCES[safetensors]=$CHECKPOINT
SOURCES[samq]=Sources/SAMQFormat
SOURCES[npy]=Sources/SAMQFormat
# The image readers without MaskPostprocessing.swift, the one file that needs the C kernels.
SOURCES[image]=$(cd "$ROOT" && find Sources/SAMQImage -name '*.swift' ! -name MaskPostprocessing.swift | sort | tr '\n' ' ')
# Extra swiftc flags (include paths for system-library module maps, ...).
EXTRA[samq]="-I Sources/CZstd"
EXTRA[npy]="-I Sources/CZstd"
EXTRA[image]="-I Sources/CPNG -I Sources/CTurboJPEG -I Sources/CZlib -I Sources/CZstd"
# AddressSanitizer options. The .samq harness copies each input into a 4096-aligned
# buffer; ASan's quarantine counts requested bytes, not the pages such chunks pin,
# so the default 256 MB quarantine grows RSS past 2 GB. A small one keeps it ~250 MB.
ASAN[samq]="quarantine_size_mb=16"
# Prebuilt modules: NAME=source files (the readers import SAMQFormat only for MappedFile).
MODULES[pickle]="SAMQFormat=Sources/SAMQFormat/MappedFile.swift"
MODULES[torch]="SAMQFormat=Sources/SAMQFormat/MappedFile.swift"
MODULES[safetensors]="SAMQFormat=Sources/SAMQFormat/MappedFile.swift"
MODULES[image]="SAMQFormat=Sources/SAMQFormat"
# Extra swiftc flags for a target's prebuilt modules.
MODULE_EXTRA[image]="-I Sources/CZstd"
# Seed files; "pkl:" means "extract data.pkl from these zips".
SEEDS[pickle]="pkl:$FIXTURES/*.pth pkl:$FIXTURES/valid/*.pth"
SEEDS[torch]="$FIXTURES/*.pth $FIXTURES/valid/*.pth"
SEEDS[safetensors]="$FIXTURES/*.safetensors $FIXTURES/valid/*.safetensors"
SEEDS[samq]="Tests/Fixtures/*.samq Tests/Fixtures/*/*.samq Tests/Fixtures/*/*/*.samq"
SEEDS[image]="Tests/Fixtures/images/bad/* Tests/Fixtures/images/decode/*.png Tests/Fixtures/images/decode/*.jpg"
SEEDS[npy]="Tests/Fixtures/images/npy/* Tests/Fixtures/*/*.npy Tests/Fixtures/*/*/*.npy"
DICT[pickle]=Fuzz/pickle.dict
DICT[safetensors]=Fuzz/safetensors.dict
ALL_TARGETS="pickle torch safetensors samq npy image"
# ---------------------------------------------------------------------------------

TARGETS=${*:-$ALL_TARGETS}
SWIFTC=${SWIFTC:-swiftc}
FLAGS=(-O -g -parse-as-library -sanitize=fuzzer,address)
cd "$ROOT"
mkdir -p "$BUILD"

swift_files() { for path in "$@"; do if [ -d "$path" ]; then find "$path" -name '*.swift' | sort; else echo "$path"; fi; done; }

build_module() {  # NAME=files-or-directories [extra swiftc flags] -> $BUILD/modules/NAME.{swiftmodule,o}
    local name=${1%%=*} paths=${1#*=} extra=${2:-}
    local out=$BUILD/modules
    mkdir -p "$out"
    # shellcheck disable=SC2086,SC2046
    "$SWIFTC" "${FLAGS[@]}" $extra -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -c $(swift_files $paths) -o "$out/$name.o" -wmo
}

build_target() {
    local target=$1 objects=() spec
    for spec in ${MODULES[$target]:-}; do
        build_module "$spec" "${MODULE_EXTRA[$target]:-}"
        objects+=("$BUILD/modules/${spec%%=*}.o")
    done
    # shellcheck disable=SC2046,SC2086
    "$SWIFTC" "${FLAGS[@]}" ${EXTRA[$target]:-} -module-name "Fuzz_$target" -I "$BUILD/modules" "${objects[@]}" \
        $(swift_files ${SOURCES[$target]}) "${ENTRY[$target]}" -o "$BUILD/fuzz-$target"
}

seed_target() {
    local target=$1 dir=$BUILD/seeds/$1 pattern
    rm -rf "$dir" && mkdir -p "$dir"
    for pattern in ${SEEDS[$target]}; do
        if [[ $pattern == pkl:* ]]; then
            python3 - "$dir" ${pattern#pkl:} <<'PY'
import os, sys, zipfile
out = sys.argv[1]
for path in sys.argv[2:]:
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.endswith("data.pkl"):
                    with open(os.path.join(out, os.path.basename(path) + ".pkl"), "wb") as f:
                        f.write(z.read(info))
    except Exception:
        pass  # malformed zips are seeds for the torch target, not this one
PY
        else
            # shellcheck disable=SC2086
            cp $pattern "$dir"/ 2>/dev/null || true
        fi
    done
}

failed=()
for target in $TARGETS; do
    [ -n "${ENTRY[$target]:-}" ] || { echo "unknown fuzz target '$target' (have: $ALL_TARGETS)" >&2; exit 2; }
    echo "== $target: building"
    if ! build_target "$target" > "$BUILD/$target.build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$BUILD/$target.build.log" >&2
        echo "!! $target: build failed" >&2
        exit 1
    fi
    seed_target "$target"
    corpus=$BUILD/corpus/$target artifacts=$BUILD/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    dict=()
    [ -n "${DICT[$target]:-}" ] && dict=(-dict="${DICT[$target]}")
    echo "== $target: fuzzing for ${SECONDS_PER_TARGET}s"
    if ! ASAN_OPTIONS=${ASAN[$target]:-${ASAN_OPTIONS:-}} "$BUILD/fuzz-$target" "$corpus" "$BUILD/seeds/$target" "${dict[@]}" \
            -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -artifact_prefix="$artifacts/" -print_final_stats=1 2> "$BUILD/$target.log"; then
        echo "!! $target: FAILED, see $BUILD/$target.log and $artifacts/" >&2
        grep -E "ERROR|SUMMARY|Fatal|crash-|timeout-|oom-" "$BUILD/$target.log" | head -20 >&2 || true
        failed+=("$target")
    else
        grep -E "stat::number_of_executed_units|cov:" "$BUILD/$target.log" | tail -2
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing: no crashes in ${TARGETS} (${SECONDS_PER_TARGET}s each)"
