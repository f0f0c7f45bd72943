#!/usr/bin/env bash
# The test command: dependencies, then the fuzzers, the sanitizer builds and a clean build
# running every test (unit, BPF, lab), in that order so the main suite's summary is the
# last thing printed. BPF and lab tests need root; this elevates itself with sudo only when
# not root.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
jobs="$(nproc)"

"$root/scripts/install-deps.sh"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# Each stage's wall time, printed together before the main suite.
times=()
stage_start() { t0=$SECONDS; echo "== $1"; }
stage_end() { times+=("$1: $((SECONDS - t0)) s"); }
# A side build's compiler output goes to a log, shown only when the build fails.
quiet_build() {
    local log="$1/build.log"
    shift
    "$@" >"$log" 2>&1 || { tail -n 60 "$log"; echo "FAIL: $* (log: $log)"; return 1; }
}

# The libFuzzer targets need clang: their own small build, each fuzzer run a few seconds.
stage_start "fuzz (clang, libFuzzer)"
fuzz="${build}-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz" -DXDPKNOCK_FUZZ=ON -DXDPKNOCK_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
quiet_build "$fuzz" cmake --build "$fuzz" -j"$jobs" --target fuzz_targets
(cd "$fuzz" && ctest -L fuzz --output-on-failure --timeout 120)
stage_end fuzz

# ASan+UBSan (fatal): the unit, BPF and conformance tests, only their targets. The lab
# tests are skipped here: they run in the main build below. Leaks are checked; the few
# inside the libraries we link (not our code) are suppressed by name in tests/sanitizers/.
san="$root/tests/sanitizers"
export ASAN_OPTIONS="detect_leaks=1"
export LSAN_OPTIONS="suppressions=$san/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$san/ubsan.supp"
# detect_deadlocks=0: auth::Authorized::reconcile holds its 64 stripes (taken in index order)
# and the counts lock at once, past TSan's 64-held-locks limit (a CHECK abort, not a finding).
# Races are still detected.
export TSAN_OPTIONS="halt_on_error=1:detect_deadlocks=0:suppressions=$san/tsan.supp"

stage_start "ASan+UBSan: unit, bpf, conformance"
asan="${build}-asan"
cmake -S "$root" -B "$asan" -DXDPKNOCK_SANITIZE=ON -DXDPKNOCK_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
quiet_build "$asan" cmake --build "$asan" -j"$jobs" --target tests_unit tests_bpf tests_conformance
(cd "$asan" && ctest -L 'unit|bpf|conformance' --output-on-failure --timeout 600)
stage_end asan

# TSan: the worker pool, batch ring, replay cache and store stress tests (labels unit-tsan,
# bpf-tsan: `-L tsan` matches both, and the ASan run's `-L unit|bpf` takes them too).
stage_start "TSan: tsan"
tsan="${build}-tsan"
cmake -S "$root" -B "$tsan" -DXDPKNOCK_TSAN=ON -DXDPKNOCK_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
quiet_build "$tsan" cmake --build "$tsan" -j"$jobs" --target tests_tsan
(cd "$tsan" && ctest -L tsan --output-on-failure --timeout 600)
stage_end tsan
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

stage_start "main build: every test"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$jobs"
printf '  %s\n' "${times[@]}"
cd "$build"
ctest --output-on-failure --timeout 600
