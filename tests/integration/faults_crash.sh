#!/usr/bin/env bash
# Lab fault: kill -9 of xdpknockd in the middle of a knock flood (fko-shaped junk from 65,536
# spoofed sources at full speed, and valid fko knocks from 200 more). While it is dead the
# gate keeps gating: a stranger's SYN is dropped, the granted client keeps its access,
# knocks find no socket and no new grant appears. The restart adopts every grant and the
# replay journal: each knock accepted before the crash is refused as a replay after it.
# (restart.sh covers kill -9 without load, and grants expiring while no daemon runs.)
XDPKNOCKD=$1 XDPKNOCK=$2 GEN=$3 REPLAY=$4
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/mq_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
wait_for_free_lab
trap finish EXIT

GW=10.99.0.1 STRANGER=10.99.0.77 N=200
lab_up 22
client_alias "$STRANGER/24"
mkdir -p "$WORK/state"
MAC=$(gw_mac)
fko_config 2 '"10.0.0.0/8"' false >"$WORK/fko.json"
start_daemon <"$WORK/fko.json"
"$GEN" --config "$WORK/config.json" --out "$WORK/knocks.pcap" --seed $$ --fko "$N" \
    --ipv6-share 0 >/dev/null || bad "xdpknock-gen wrote $N knocks"
inject() { in_ns xk-client taskset -c 0 "$REPLAY" --dst-mac "$MAC" "$@"; }
knock_fko() { in_ns xk-client "$XDPKNOCK" send "$GW" -m fko --config "$WORK/config.json" -A tcp/22 >/dev/null; }
grants() { gate_json | jq '[.authorized[] | select(.expired == false)] | length'; }

check "before: a stranger is dropped by the gate" connect_dropped "$GW" 22 "$STRANGER"
knock_fko
check "the client's fko knock opens tcp/22" connect_ok "$GW" 22

inject --fko-junk 65536 --junk-net 10.100.0.0/16 --count 100000000 --rate 0 --seconds 7 \
    >"$WORK/junk.json" &
JUNK=$!
sleep 1
inject --pcap "$WORK/knocks.pcap" --src-net 10.99.128.0/17 --rate 400 --seconds 3 >/dev/null
# A flood sheds some load (ring full): those knocks were never judged, so never accepted.
check "under the flood, at least 90% of the $N knocks are accepted" wait_accepted $((N * 9 / 10 + 1)) 5
sleep 1.2  # the last of them reach stats.json
accepted=$(accepted_total)
before=$(grants)
check "the map holds a grant per accepted knock ($before)" test "$before" -eq "$accepted"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
redirect_dead=$(xdp_counter knock_no_socket)
check "killed mid-flood: the gate stays attached" sh -c "'$LAB' exec xk-gw ip link show gw-out | grep -q prog/xdp"
check "killed mid-flood: a stranger is still dropped by the gate" connect_dropped "$GW" 22 "$STRANGER"
check "killed mid-flood: the granted client still connects" connect_ok "$GW" 22
knock_fko  # finds no socket: judged by nobody, grants nothing
check "killed mid-flood: knocks find no socket (knock_no_socket rises)" \
    at_least 2 $((redirect_dead + 1)) xdp_counter knock_no_socket
check "killed mid-flood: nothing else gets in (still $before grants)" test "$(grants)" -eq "$before"
wait "$JUNK"
check "the junk flood ran at full speed meanwhile ($(jq .offered "$WORK/junk.json") frames)" \
    test "$(jq .offered "$WORK/junk.json")" -ge 100000

start_daemon <"$WORK/fko.json"
check "restart: every grant adopted ($before)" \
    grep -q "gw-out: gate attached.* $before live authorization(s) kept from before" "$WORK/daemon.log"
check "restart: the replay journal restored at least the $accepted accepted knocks" \
    sh -c "grep 'replay cache: [0-9]* digest(s) restored' '$WORK/daemon.log' | tail -1 | awk '{ exit !(\$5 >= $accepted) }'"
check "restart: the granted client still connects" connect_ok "$GW" 22
check "restart: a stranger is still dropped" connect_dropped "$GW" 22 "$STRANGER"
inject --pcap "$WORK/knocks.pcap" --src-net 10.99.128.0/17 --rate 400 --seconds 3 >/dev/null
# The client's own knock is not in the capture: $((accepted - 1)) of the capture's were accepted.
check "restart: each of the $((accepted - 1)) captured knocks accepted before the crash is refused as a replay" \
    at_least 5 $((accepted - 1)) rejected replay
sleep 1.2
check "restart: ... and no other: the rest ($((N - accepted + 1)), shed by the flood, never judged) are accepted now" \
    test "$(rejected replay)" -eq $((accepted - 1)) -a "$(accepted_total)" -eq $((N - accepted + 1))
check "restart: no source of the junk net was ever authorized" \
    test "$(gate_json | jq '[.authorized[] | select(.source | startswith("10.100."))] | length')" -eq 0
