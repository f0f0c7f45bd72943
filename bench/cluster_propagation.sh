#!/usr/bin/env bash
# Live, in the cluster lab (scripts/lab.sh up cluster): two gateways, each its own XDP gate,
# sharing one Redis (a unix socket, as a local Redis would be). Valid fko knocks from distinct
# sources are sent to gw-a at a steady rate; gw-b measures for each of gw-a's grants the time
# from its acceptance on gw-a (the grant's wall-clock stamp) to its entry written into gw-b's
# map (the same host: one clock), and how many of gw-a's grants gw-b applied: propagated per
# second. Also gw-a's own knock -> authorized latency, for scale. Writes
# bench/results/<date>-cluster.{json,md}. All traffic stays in the lab.
#
#   bench/cluster_propagation.sh [--build DIR] [--out DIR] [--rates "200 1000 2000 5000"]
#                                [--seconds 4] [--smoke]
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" out="$root/bench/results" rates="200 1000 2000 5000" seconds=4
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --rates) rates=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --smoke) rates="200" seconds=1; shift ;;
        *) echo "usage: $0 [--build DIR] [--out DIR] [--rates LIST] [--seconds S] [--smoke]" >&2; exit 2 ;;
    esac
done
args="--rates \"$rates\" --seconds $seconds"
lab="$root/scripts/lab.sh"
xdpknockd="$build/userspace/daemon/xdpknockd"
gen="$build/bench/gen/xdpknock-gen" replay="$build/bench/replay/xdpknock-replay"
for f in "$xdpknockd" "$gen" "$replay"; do
    [ -x "$f" ] || { echo "missing $f (cmake --build $build)" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "redis-server not installed" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/xdpknock-cluster.XXXXXX)
pins=/sys/fs/bpf/xdpknock-cluster-bench
declare -A ns=([gw-a]=xk-gw [gw-b]=xk-gw2) pid=()
redis=
stop_all() {
    for n in gw-a gw-b; do
        [ -n "${pid[$n]:-}" ] && kill -TERM "${pid[$n]}" 2>/dev/null && wait "${pid[$n]}" 2>/dev/null
        pid[$n]=
    done
    [ -n "$redis" ] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
    redis=
    return 0
}
cleanup() {
    stop_all
    "$lab" down >/dev/null
    rm -rf "$work" "$pins"
}
step() { printf '== %s\n' "$*" >&2; }

exec 9>/run/xdpknock-lab.lock
flock -w 900 9 || { echo "the lab stayed busy for 15 minutes" >&2; exit 1; }
trap cleanup EXIT
"$lab" up cluster >/dev/null
gw_mac=$("$lab" exec xk-gw ip -br link show gw-out | awk '{print $3}')
port=62201
key=$(head -c 32 /dev/urandom | base64 -w0) hkey=$(head -c 64 /dev/urandom | base64 -w0)
config() {  # NODE
    cat <<CONFIG
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "knock_rate": {"per_source_pps": 1000, "burst": 1000},
  "state_dir": "$work/state-$1",
  "ranges": [{"name": "live", "method": "fko", "port": $port, "timeout": 300, "open": ["tcp/22"],
              "secrets": [{"label": "live", "key_base64": "$key", "hmac_key_base64": "$hkey"}]}],
  "cluster": {"redis": "unix:$work/redis.sock", "node": "$1", "prefix": "bench"}
}
CONFIG
}
for n in gw-a gw-b; do (umask 077 && config "$n" >"$work/$n.json"); done

# A fresh Redis and both daemons with empty maps, for each point.
start_all() {
    rm -rf "$work"/state-* "$work"/run-* "$pins"
    redis-server --port 0 --unixsocket "$work/redis.sock" --unixsocketperm 700 --save '' \
        --appendonly no --logfile "$work/redis.log" 9>&- &
    redis=$!
    for _ in $(seq 50); do [ -S "$work/redis.sock" ] && break; sleep 0.1; done
    for n in gw-a gw-b; do
        "$lab" exec "${ns[$n]}" "$xdpknockd" -c "$work/$n.json" --pin-root "$pins/$n" \
            --run-dir "$work/run-$n" >"$work/$n.log" 2>&1 9>&- &
        pid[$n]=$!
    done
    for n in gw-a gw-b; do
        for _ in $(seq 100); do grep -q "xdpknockd running" "$work/$n.log" && break; sleep 0.1; done
    done
    for _ in $(seq 50); do
        jq -e '.cluster.connected' "$work/run-gw-b/stats.json" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "gw-b did not join the cluster" >&2; exit 1
}
stats() { jq -c "$2" "$work/run-$1/stats.json"; }
# wait_applied: gw-b has applied every grant gw-a published (stats.json, once a second).
wait_applied() {
    local a b
    for _ in $(seq 300); do
        sleep 0.1
        a=$(jq '.cluster.published' "$work/run-gw-a/stats.json" 2>/dev/null || echo 0)
        b=$(jq '.cluster.applied' "$work/run-gw-b/stats.json" 2>/dev/null || echo 0)
        [ "$a" -gt 0 ] && [ "$a" -eq "$b" ] && break
    done
    sleep 1.2  # the last second's figures
}

points=()
point() {  # KIND RATE COUNT
    local kind=$1 rate=$2 count=$3 t0 t1 sent
    "$gen" --config "$work/gw-a.json" --range live --out "$work/knocks.pcap" --seed "$RANDOM" \
        --fko "$count" --ipv6-share 0 >/dev/null
    start_all
    step "$count knocks to gw-a at $rate/s"
    t0=$(date +%s.%N)
    sent=$("$lab" exec xk-client "$replay" -i xk-c --dst-mac "$gw_mac" --pcap "$work/knocks.pcap" \
        --src-net 10.99.64.0/18 --rate "$rate" --seconds 120)
    t1=$(date +%s.%N)
    wait_applied
    points+=("$(jq -n --arg kind "$kind" --arg rate "$rate" --argjson count "$count" \
        --argjson sent "$sent" --argjson a "$(stats gw-a '{cluster, latency: .interfaces[0].latency}')" \
        --argjson b "$(stats gw-b '.cluster')" --argjson send_s "$(echo "$t1 - $t0" | bc -l)" \
        '{kind: $kind, rate: $rate, knocks: $count, sender: $sent, send_seconds: $send_s,
          gw_a: $a, gw_b: $b}')")
    stop_all
}
for r in $rates; do point steady "$r" $((r * seconds)); done

stamp="$(date -u +%Y-%m-%d)-cluster"
printf '%s\n' "${points[@]}" | jq -s --arg cmd "bench/cluster_propagation.sh $args" \
    --arg rev "$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo +uncommitted)" \
    '{command: $cmd, commit: $rev, redis: "redis-server 7.0 (Debian 12), unix socket",
      points: .}' >"$out/$stamp.json"
{
    echo "# Cluster: grant propagation between two gateways through Redis"
    echo
    echo "\`$(jq -r .command "$out/$stamp.json")\` at $(jq -r .commit "$out/$stamp.json"). Two gateways"
    echo "(each its own XDP gate, lab namespaces), one Redis on a unix socket. Knocks (valid fko, each"
    echo "from its own source) go to gw-a; lag = gw-a's grant (its wall-clock stamp) -> the entry"
    echo "written into gw-b's map, over gw-b's last 4,096 grants. gw-a's own knock -> authorized"
    echo "latency for scale."
    echo
    echo "| knocks/s to gw-a | knocks | granted on gw-a | applied on gw-b | lag p50 | lag p99 | lag max | gw-a knock->authorized p99 | propagated/s |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    jq -r '.points[] | "| \(.rate) | \(.knocks) | \(.gw_a.cluster.published) | \(.gw_b.applied) | \(.gw_b.lag_p50_us / 1000 * 100 | round / 100) ms | \(.gw_b.lag_p99_us / 1000 * 100 | round / 100) ms | \(.gw_b.lag_max_us / 1000 * 100 | round / 100) ms | \(.gw_a.latency.p99_us / 1000 * 100 | round / 100) ms | \(.gw_b.applied / .send_seconds | floor) |"' "$out/$stamp.json"
    echo
    echo "Goal (issue): p99 <= 5 ms on loopback. propagated/s: grants applied on gw-b over the"
    echo "sender's time: it follows the offered rate while gw-b applies all gw-a granted."
} >"$out/$stamp.md"
echo "wrote $out/$stamp.json $out/$stamp.md" >&2
