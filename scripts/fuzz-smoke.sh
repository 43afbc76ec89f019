#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target under fuzz/ and runs each for SECONDS
# (default 30) with libFuzzer's -max_total_time, then prints executions per target.
# Exits non-zero if any target crashes, times out, runs out of memory or fails to build.
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]     # default: 30 s, every target
#
# Needs rustup (nightly and cargo-fuzz are installed if missing) and a C/C++ compiler (libFuzzer
# is C++). Runs under `nice` (FUZZ_NICE, default 10) so it leaves shared cores usable.
# Crash inputs land in fuzz/artifacts/<target>/; reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# The corpus grown by a run is kept in fuzz/target/smoke-corpus/<target>/ (the committed seeds
# in fuzz/corpus/<target>/ and past crash inputs in fuzz/regressions/<target>/ are only read), so
# repeated local runs keep what earlier ones found.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-30}
shift || true
NICE=${FUZZ_NICE:-10}

case $SECONDS_PER_TARGET in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

ALL_TARGETS=(envelope_open bundle_open grant_verify note_open proof_verify json_bodies)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

dict_for() {
    case $1 in
        note_open) echo "$ROOT/fuzz/dicts/note.dict" ;;
        proof_verify) ;;
        *) echo "$ROOT/fuzz/dicts/json.dict" ;;
    esac
}

start_all=$(date +%s)

# --- toolchain --------------------------------------------------------------------------------
if ! command -v rustup >/dev/null 2>&1; then
    echo "fuzz-smoke: rustup is required (https://rustup.rs)" >&2
    exit 2
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    nice -n "$NICE" cargo install cargo-fuzz --version 0.13.2 --locked
fi
TRIPLE=$(rustup run nightly rustc -vV | sed -n 's/^host: //p')
BIN_DIR=$ROOT/fuzz/target/$TRIPLE/release

# --- build ------------------------------------------------------------------------------------
# Release optimizations with debug assertions and overflow checks, AddressSanitizer (the
# cargo-fuzz default): an arithmetic overflow is a crash here, as it would be in a debug build.
echo "fuzz-smoke: building ${#TARGETS[@]} target(s) for $TRIPLE"
start_build=$(date +%s)
for t in "${TARGETS[@]}"; do
    nice -n "$NICE" cargo +nightly fuzz build --debug-assertions --target "$TRIPLE" "$t"
done
build_secs=$(( $(date +%s) - start_build ))
echo "fuzz-smoke: build took ${build_secs}s"

# --- run --------------------------------------------------------------------------------------
LOG_DIR=$ROOT/fuzz/target/smoke-logs
mkdir -p "$LOG_DIR"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0:abort_on_error=0}
declare -A EXECS RATE STATUS
failed=0

for t in "${TARGETS[@]}"; do
    bin=$BIN_DIR/$t
    seeds=$ROOT/fuzz/corpus/$t
    work=$ROOT/fuzz/target/smoke-corpus/$t
    artifacts=$ROOT/fuzz/artifacts/$t
    log=$LOG_DIR/$t.log
    mkdir -p "$work" "$artifacts" "$seeds"
    args=(
        -max_total_time="$SECONDS_PER_TARGET"
        -timeout=10
        -rss_limit_mb=2048
        -max_len=4096
        -print_final_stats=1
        -artifact_prefix="$artifacts/"
    )
    dict=$(dict_for "$t")
    if [ -n "$dict" ]; then args+=(-dict="$dict"); fi
    echo "fuzz-smoke: $t for ${SECONDS_PER_TARGET}s (log: ${log#"$ROOT"/})"
    before=$(find "$artifacts" -type f | wc -l)
    set +e
    corpora=("$work" "$seeds")
    # Inputs that once crashed this target are replayed first thing in every run.
    if [ -d "$ROOT/fuzz/regressions/$t" ]; then corpora+=("$ROOT/fuzz/regressions/$t"); fi
    nice -n "$NICE" "$bin" "${args[@]}" "${corpora[@]}" >"$log" 2>&1
    rc=$?
    set -e
    after=$(find "$artifacts" -type f | wc -l)

    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then
        # Fallback: libFuzzer's last status line, e.g. "#123456  DONE   cov: …".
        execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
    fi
    rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    EXECS[$t]=${execs:-?}
    RATE[$t]=${rate:-?}
    if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then
        STATUS[$t]=ok
    else
        failed=1
        if grep -q 'ERROR: libFuzzer: timeout' "$log"; then
            STATUS[$t]="TIMEOUT (rc $rc)"
        elif grep -q 'out-of-memory' "$log"; then
            STATUS[$t]="OOM (rc $rc)"
        else
            STATUS[$t]="CRASH (rc $rc)"
        fi
        echo "fuzz-smoke: $t FAILED; last lines of its log:" >&2
        tail -n 40 "$log" >&2
        grep -h 'Test unit written to' "$log" >&2 || true
    fi
done

total_secs=$(( $(date +%s) - start_all ))

# --- summary ----------------------------------------------------------------------------------
echo
printf '%-16s %14s %10s  %s\n' target executions exec/s result
printf '%-16s %14s %10s  %s\n' ---------------- -------------- ---------- ------
for t in "${TARGETS[@]}"; do
    printf '%-16s %14s %10s  %s\n' "$t" "${EXECS[$t]}" "${RATE[$t]}" "${STATUS[$t]}"
done
echo
echo "fuzz-smoke: ${SECONDS_PER_TARGET}s per target; build ${build_secs}s; total ${total_secs}s"
if [ "$failed" -ne 0 ]; then
    echo "fuzz-smoke: FAILED — crash inputs are in fuzz/artifacts/<target>/" >&2
    exit 1
fi
echo "fuzz-smoke: no crashes"
