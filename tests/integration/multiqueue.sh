#!/usr/bin/env bash
# Lab: gw-out with 2 rx queues and 2 workers (one AF_XDP socket and pinned worker per
# queue). fko knocks sent on the client's tx queue 0 and on tx queue 1 (AF_XDP TX, which on
# a veth picks the peer's rx queue) are all authorized, each queue's worker accepting its
# own; knocks spread by flow hash (AF_PACKET, varied source ports) reach both queues; then
# the same with 4 workers (2 extra, fed by the pollers through SPSC rings).
# Usage: multiqueue.sh XDPKNOCKD XDPKNOCK XDPKNOCK_GEN XDPKNOCK_REPLAY
XDPKNOCKD=$1 XDPKNOCK=$2 GEN=$3 REPLAY=$4
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/mq_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
wait_for_free_lab
trap finish EXIT
mkdir -p "$WORK/state"

N=50
LAB_QUEUES=2 lab_up 22
MAC=$(gw_mac)
fko_config 2 '"10.0.0.0/8"' false > "$WORK/gen-config.json"
chmod 600 "$WORK/gen-config.json"
# Three captures of distinct sources (seeds), fko timestamps = now.
for s in 1 2; do
    "$GEN" --config "$WORK/gen-config.json" --out "$WORK/k$s.pcap" --seed "$s$$" --fko "$N" \
        --ipv6-share 0 >/dev/null || bad "xdpknock-gen wrote capture $s"
done
replay() { in_ns xk-client "$REPLAY" --dst-mac "$MAC" --seconds 10 "$@"; }

run_with_workers() {
    local workers=$1
    # Not a pipe: start_daemon must run in this shell to keep the daemon's pid.
    fko_config "$workers" '"10.0.0.0/8"' true > "$WORK/next-config.json"
    start_daemon < "$WORK/next-config.json"
    cp "$WORK/config.json" "$WORK/client.json"
    sleep 1.2  # a first stats.json
    check "[$workers workers] stats.json lists 2 queues" test "$(stats | jq '.interfaces[0].queues | length')" -eq 2
    check "[$workers workers] $workers workers running" test "$(stats | jq '.interfaces[0].workers | length')" -eq "$workers"

    local sent
    sent=$(replay --pcap "$WORK/k1.pcap" --engine xdp --queue 0 | jq .offered)
    check "[$workers workers] $N knocks offered on tx queue 0" test "$sent" -eq "$N"
    check "[$workers workers] queue 0 accepted all $N" wait_accepted "$N" 5
    check "[$workers workers] ... all on queue 0" test "$(queue_field 0 accepted)" -eq "$N"
    sent=$(replay --pcap "$WORK/k2.pcap" --engine xdp --queue 1 | jq .offered)
    check "[$workers workers] $N knocks offered on tx queue 1" test "$sent" -eq "$N"
    check "[$workers workers] queue 1 accepted all $N" wait_accepted $((2 * N)) 5
    check "[$workers workers] ... all on queue 1" test "$(queue_field 1 accepted)" -eq "$N"

    # Real client sockets: each `xdpknock send` has its own source port and flow hash,
    # which picks the client's tx queue, hence gw-out's rx queue. Both queues must see some.
    local f0 f1
    f0=$(queue_field 0 frames) f1=$(queue_field 1 frames)
    for _ in $(seq 20); do
        in_ns xk-client "$XDPKNOCK" send 10.99.0.1 -m fko --config "$WORK/client.json" -A tcp/22 \
            >/dev/null 2>&1
    done
    check "[$workers workers] 20 knocks from client sockets all authorized" wait_accepted $((2 * N + 20)) 5
    check "[$workers workers] client knocks reached queue 0" test "$(queue_field 0 frames)" -gt "$f0"
    check "[$workers workers] client knocks reached queue 1" test "$(queue_field 1 frames)" -gt "$f1"
    check "[$workers workers] no ring drops" test "$(stats | jq '[.interfaces[0].queues[].ring_full] | add')" -eq 0
    check "[$workers workers] latency recorded for every grant" \
        test "$(stats | jq .interfaces[0].latency.count)" -eq $((2 * N + 20))
    if [ "$workers" -gt 2 ]; then
        check "[$workers workers] the extra workers judged frames" \
            test "$(stats | jq '[.interfaces[0].workers[] | select(.poller == false) | .frames] | add')" -gt 0
    fi
    check "[$workers workers] the map holds every source" test "$(authorized_count)" -ge $((2 * N + 1))
    local table
    table=$(in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" status --run-dir "$WORK/run")
    check "[$workers workers] status shows ring drops and latency per queue" \
        sh -c "echo '$table' | grep -q 'queue 1: workers=$((workers / 2)) .*ring_full=0.*p99='"
    stop_daemon
}

run_with_workers 2
# Fresh replay cache and map for the second daemon: a stopped daemon leaves its gate
# attached, so take it off (detach unpins the maps too).
in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach gw-out >/dev/null ||
    bad "xdpknock detach gw-out between the two daemons"
rm -rf "$WORK/state"/*
mkdir -p "$WORK/state"
for s in 1 2; do
    "$GEN" --config "$WORK/gen-config.json" --out "$WORK/k$s.pcap" --seed "4$s$$" --fko "$N" \
        --ipv6-share 0 >/dev/null
done
run_with_workers 4
