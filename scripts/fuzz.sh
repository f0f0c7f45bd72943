#!/usr/bin/env bash
# Long fuzzing: builds every fuzzer and its seed corpus (the fuzz_targets target of a clang
# build), then runs each for SECONDS (default 600), one at a time and niced (the box is
# shared), and prints per target the executions, their rate and the findings.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 60 config_fuzz
# RUNS=N stops each target after N executions, whatever SECONDS says (e.g. RUNS=10000000
# scripts/fuzz.sh 0 T).
# Never pause a run (SIGSTOP): libFuzzer times a unit by the wall clock, so the pause becomes
# a "timeout" finding and the run ends; let other work share the box (the fuzzers are niced).
# Corpora grow in $BUILD_DIR/tests/fuzz/long/corpus-TARGET across runs; a finding (libFuzzer
# stops at the first) lands in long/findings-TARGET/, the log in long/TARGET.log. Exits 1 if
# any target found something. xdp_gate_fuzz needs root (BPF_PROG_TEST_RUN): skipped without.
set -euo pipefail

secs=${1:-600}
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DXDPKNOCK_FUZZ=ON -DXDPKNOCK_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_targets >/dev/null
[ "$(id -u)" -ne 0 ] || mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

long="$build/tests/fuzz/long"
mkdir -p "$long"
found=0
printf '%-20s %14s %10s %9s  %s\n' target execs exec/s findings log
# name|binary|libFuzzer flags|seed dirs, one a line (tests/fuzz/CMakeLists.txt).
while IFS='|' read -r name bin flags seeds; do
    if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
    if [ "$name" = xdp_gate_fuzz ] && [ "$(id -u)" -ne 0 ]; then
        printf '%-20s skipped: needs root\n' "$name"
        continue
    fi
    corpus="$long/corpus-$name" art="$long/findings-$name" log="$long/$name.log"
    mkdir -p "$corpus" "$art"
    # shellcheck disable=SC2086 # flags and seeds are word lists
    # With RUNS the count ends the run, not the wall clock: libFuzzer times the run by it, and
    # a clock stepped back (lab_faults_clock steps it ±1 h) makes the elapsed time negative,
    # read as huge: a run sharing the box with the labs ended so.
    limit=$secs
    [ -n "${RUNS:-}" ] && limit=0
    nice -n 10 "$bin" -max_total_time="$limit" ${RUNS:+-runs="$RUNS"} -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" $flags "$corpus" $seeds \
        </dev/null >"$log" 2>&1 || true
    execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")
    rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")
    # crash-, leak-, timeout-, oom- inputs; a slow-unit- one is only slow (or the wall clock
    # stepped under it: libFuzzer times units by it), listed but not counted.
    findings=$(find "$art" -type f ! -name 'slow-unit-*' | wc -l)
    [ "$findings" -eq 0 ] || found=1
    printf '%-20s %14s %10s %9s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$findings" "$log"
done <"$build/tests/fuzz/fuzz_targets.txt"
exit "$found"
