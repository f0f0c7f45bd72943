#!/usr/bin/env bash
# The test command: dependencies, a clean build, then every test (unit, BPF, lab).
# BPF and lab tests need root; this elevates itself with sudo only when not root.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# The libFuzzer target needs clang: a second, small build of just the codec and fuzzer,
# run for ~20 s first, so the main suite's summary is the last thing printed.
fuzz="${build}-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz" -DXDPKNOCK_FUZZ=ON -DXDPKNOCK_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$fuzz" -j"$(nproc)" --target fko_decode_fuzz >/dev/null
(cd "$fuzz" && ctest -L fuzz --output-on-failure --timeout 120)

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 600
