#!/usr/bin/env bash
# The benchmark suite: every figure xdpknock publishes, taken in one run, with the command
# that produced it. Writes bench/results/<date>-<host>.json and .md, then regenerates the
# README's Performance section from them (not with --smoke).
#
#   bench/run.sh [--smoke] [--build DIR] [--out DIR]
#
# --smoke runs every stage at a tiny size (CI keeps the harness working; the values of a
# smoke run mean nothing). Needs root for the BPF stages; elevates with sudo when not root.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
out="$root/bench/results"
smoke=0
while [ $# -gt 0 ]; do
    case $1 in
        --smoke) smoke=1; shift ;;
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--smoke] [--build DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
work=$(mktemp -d /tmp/xdpknock-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
stamp="$(date -u +%Y-%m-%d)-$(hostname -s)"
[ $smoke -eq 1 ] && stamp="smoke"

if [ $smoke -eq 1 ]; then
    xdp_repeat=2000 xdp_rounds=1 frames=2000 runs=1 knocks=300 small=100 fruns=1 codec_time=0.01
else
    xdp_repeat=1000000 xdp_rounds=5 frames=20000 runs=7 knocks=50000 small=5000 fruns=3 codec_time=0.3
fi
for t in tests/bpf/bpf_gate_perf bench/spa/spa_fko_bench bench/workers/worker_scaling_bench \
         bench/gen/xdpknock-gen userspace/daemon/xdpknockd; do
    [ -x "$build/$t" ] || { echo "missing $build/$t: build first (cmake --build $build)" >&2; exit 2; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
step() { printf '== %s\n' "$*" >&2; }

step "XDP ns/packet per class (bpf_prog_test_run, repeat $xdp_repeat, median of $xdp_rounds)"
"$build/tests/bpf/bpf_gate_perf" --json --repeat "$xdp_repeat" --rounds "$xdp_rounds" >"$work/xdp.json"

step "codec ns/packet vs crypto floor (one core)"
taskset -c 1 "$build/bench/spa/spa_fko_bench" --benchmark_min_time="$codec_time" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$work/codec.json" 2>/dev/null

step "validator throughput, 1 and 2 workers, from memory"
"$build/bench/workers/worker_scaling_bench" --frames "$frames" --runs "$runs" \
    --json "$work/workers_valid.json" >/dev/null
"$build/bench/workers/worker_scaling_bench" --frames "$frames" --runs "$runs" --mix half \
    --json "$work/workers_half.json" >/dev/null

step "fwknopd 2.6.10 vs xdpknockd, offline, same capture"
"$root/bench/fwknopd_compare.sh" --build "$build" --knocks "$knocks" --small "$small" \
    --runs "$fruns" --results "$work/fwknopd" >/dev/null
cp "$work"/fwknopd/*-fwknopd-offline.json "$work/fwknopd.json"

step "live in the lab: valid knocks under a junk flood, xdpknockd vs fwknopd (+ PNG)"
"$root/bench/live_compare.sh" --build "$build" --out "$work/live" $([ $smoke -eq 1 ] && echo --smoke) >&2
cp "$work"/live/*-live.json "$work/live.json"
[ $smoke -eq 1 ] || cp "$work"/live/*-live.png "$out/$stamp-live.png"

e2e="$work/e2e.json"
echo '{}' >"$e2e"
if [ -x "$root/bench/e2e_flood.sh" ]; then
    step "end to end in the lab: flood + valid knocks, latency"
    "$root/bench/e2e_flood.sh" --build "$build" $([ $smoke -eq 1 ] && echo --smoke) --json "$e2e" >&2
fi

step "combine"
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
jq -n --arg stamp "$stamp" --arg rev "$git_rev" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" \
    --arg kernel "$(uname -r)" --argjson smoke "$smoke" \
    --slurpfile xdp "$work/xdp.json" --slurpfile codec "$work/codec.json" \
    --slurpfile wv "$work/workers_valid.json" --slurpfile wh "$work/workers_half.json" \
    --slurpfile fw "$work/fwknopd.json" --slurpfile live "$work/live.json" --slurpfile e2e "$e2e" '
{
  stamp: $stamp, git: $rev, cpu: $cpu, kernel: $kernel, smoke: ($smoke == 1),
  xdp: { how: $xdp[0].command,
         classes: [ $xdp[0].results[] | {class, action, ns: .kernel_ns_per_packet} ] },
  codec: { how: "taskset -c 1 spa_fko_bench (Google Benchmark, median CPU time)",
           results: [ $codec[0].benchmarks[] | select(.aggregate_name == "median")
                      | {name: .run_name, ns: .cpu_time} ] },
  validators: { how: "worker_scaling_bench: KnockHandler over pre-built frames, 1 vs 2 threads",
                valid: $wv[0], half_hmac_failing: $wh[0] },
  fwknopd_offline: $fw[0],
  live_flood: $live[0],
  end_to_end: $e2e[0]
}' >"$out/$stamp.json"

"$root/bench/render_results.sh" "$out/$stamp.json" >"$out/$stamp.md"
echo "wrote $out/$stamp.json $out/$stamp.md" >&2
if [ $smoke -eq 0 ]; then
    "$root/bench/render_results.sh" --readme "$out/$stamp.json" "$root/README.md"
fi
