#!/usr/bin/env bash
# End to end in the lab for bench/run.sh: tests/integration/flood.sh idle (3 times: on a
# shared machine one idle run's p99 is one scheduler hiccup; the median run is reported) and
# at the injector's maximum rate → one JSON object: offered rate, XDP drops by reason, knocks
# authorized / sent, knock→authorized latency p50/p99 (XDP timestamp to map write).
#   bench/e2e_flood.sh --build DIR --json OUT [--smoke] [--idle-runs N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" json= seconds=8 idle_runs=3
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$2; shift 2 ;;
        --json) json=$2; shift 2 ;;
        --smoke) seconds=2 idle_runs=1; shift ;;
        --idle-runs) idle_runs=$2; shift 2 ;;
        *) echo "usage: $0 --build DIR --json OUT [--smoke] [--idle-runs N]" >&2; exit 2 ;;
    esac
done
args=("$build/userspace/daemon/xdpknockd" "$build/userspace/cli/xdpknock"
      "$build/bench/gen/xdpknock-gen" "$build/bench/replay/xdpknock-replay")
# flood.sh asserts its own pass mark; here it is a measurement, so its exit code is not ours.
run() { { env "$@" "$root/tests/integration/flood.sh" "${args[@]}" 2>&1 || true; } | sed -n 's/^RESULT //p' | tail -1; }
idles=()
for ((i = 0; i < idle_runs; i++)); do
    r=$(run FLOOD_SECONDS=0)
    [ -n "$r" ] || { echo "flood.sh (idle) printed no RESULT" >&2; exit 1; }
    idles+=("$r")
done
# The idle run with the median p99.
idle=$(printf '%s\n' "${idles[@]}" | jq -s -c 'sort_by(.latency_us.p99_us) | .[length / 2 | floor]')
idle_p99s=$(printf '%s\n' "${idles[@]}" | jq -s -c 'map(.latency_us.p99_us)')
flood=$(run FLOOD_PPS=0 FLOOD_SECONDS="$seconds")
[ -n "$flood" ] || { echo "flood.sh printed no RESULT" >&2; exit 1; }
jq -n --argjson idle "$idle" --argjson flood "$flood" --arg secs "$seconds" \
    --argjson idle_p99s "$idle_p99s" '
def lat(r): "p50 \(r.latency_us.p50_us | floor) µs, p99 \(r.latency_us.p99_us | floor) µs";
{
  how: "tests/integration/flood.sh: 1,000 valid fko knocks (distinct sources, 500/s) idle, and alongside fko-shaped junk from 65,536 spoofed sources at the injector maximum for \($secs) s",
  offered_pps: $flood.junk.rate_pps, knocks_sent: $flood.valid.offered, authorized: $flood.authorized,
  xdp_drops: ($flood.xdp | with_entries(select(.key | test("drop|no_socket")))),
  latency_us: {p50: $flood.latency_us.p50_us, p99: $flood.latency_us.p99_us},
  idle: {authorized: $idle.authorized, latency_us: {p50: $idle.latency_us.p50_us, p99: $idle.latency_us.p99_us},
         runs_p99_us: $idle_p99s},
  ring_drops: ([$flood.queues[] | .rx_dropped + .ring_full] | add),
  markdown: ([
    "| run | junk offered (pps) | authorized / sent | ring drops | XDP drops by reason | latency |",
    "|---|---:|---:|---:|---|---|",
    "| idle (median p99 of \($idle_p99s | length) runs: \($idle_p99s | map(floor | tostring) | join(", ")) µs) | 0 | \($idle.authorized) / \($idle.valid.offered) | \([$idle.queues[] | .rx_dropped + .ring_full] | add) | – | \(lat($idle)) |",
    "| flood | \($flood.junk.offered) (\($flood.junk.rate_pps | floor)) | \($flood.authorized) / \($flood.valid.offered) | \([$flood.queues[] | .rx_dropped + .ring_full] | add) | \($flood.xdp | with_entries(select(.key | test("drop|no_socket"))) | to_entries | map("\(.key) \(.value)") | join(", ")) | \(lat($flood)) |"
  ] | join("\n"))
}' >"$json"
