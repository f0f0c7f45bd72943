#!/usr/bin/env bash
# Lab fault: the wall clock stepped +1 h and -1 h under a running daemon (each step held a
# few seconds, and always undone: the EXIT trap steps back whatever is still applied).
# Grants run on CLOCK_MONOTONIC: no expiry moves, a grant neither lengthens nor shortens.
# fko time windows are judged against the wall clock as it reads now: after +1 h a knock
# stamped before the step is too_old and one stamped with the new time is accepted; back at
# the right time, the knocks accepted before and during the step are still replays (no
# digest dropped while the clock was ahead); after -1 h a knock stamped now is too_new.
XDPKNOCKD=$1 XDPKNOCK=$2 GEN=$3 REPLAY=$4
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/mq_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
STEPPED=0  # seconds the clock is off by our doing, undone by unstep
step() { date -s "now ${1#+} seconds" >/dev/null && STEPPED=$((STEPPED + $1)); }
unstep() { [ "$STEPPED" -eq 0 ] || step $((-STEPPED)); }
trap 'rc=$?; unstep; (exit $rc); finish' EXIT
wait_for_free_lab

GW=10.99.0.1 STRANGER=10.99.0.77
lab_up 22
client_alias "$STRANGER/24"
mkdir -p "$WORK/state"
MAC=$(gw_mac)
fko_config 2 '"10.0.0.0/8"' false >"$WORK/fko.json"
start_daemon <"$WORK/fko.json"
now=$(date +%s)
n=0
make_knock() {  # make_knock NAME STAMP: one fko knock stamped STAMP, from 10.99.(200+n).0/24
    n=$((n + 1))
    "$GEN" --config "$WORK/config.json" --out "$WORK/$1.pcap" --seed "$n$$" --fko 1 \
        --ipv6-share 0 --time "$2" >/dev/null
    eval "SRC_$1=10.99.$((200 + n))."
}
send() {
    local src="SRC_$1"
    in_ns xk-client "$REPLAY" --dst-mac "$MAC" --pcap "$WORK/$1.pcap" --src-net "${!src}0/24" >/dev/null
}
make_knock before "$now"
make_knock ahead $((now + 3600))
make_knock behind "$now"
expiries() { bpftool -j map dump pinned "$PIN_ROOT/gw-out/authorized" | jq -c '[.[].formatted.value.expires_ns] | sort'; }
counted() { at_least 3 "$2" rejected "$1"; }  # counted REASON N

in_ns xk-client "$XDPKNOCK" send "$GW" -m fko --config "$WORK/config.json" -A tcp/22 >/dev/null
check "the client's knock opens tcp/22" connect_ok "$GW" 22
send before
check "a knock stamped now is accepted" at_least 3 2 accepted_total
grants=$(expiries)
left_of() { gate_json | jq '[.authorized[] | select(.source == "10.99.0.2") | .seconds_left] | max'; }
left=$(left_of)
t0=$(date +%s%N)

step +3600
send before
send ahead
check "+1 h: the knock stamped before the step is refused as too_old" counted too_old 1
check "+1 h: a knock stamped with the new time is accepted" at_least 3 3 accepted_total
check "+1 h: no grant moved (every expiry as it was)" test "$(expiries | jq -c "$grants - .")" = "[]"
check "+1 h: the client's grant still passes" connect_ok "$GW" 22
check "+1 h: a stranger is still dropped" connect_dropped "$GW" 22 "$STRANGER"
unstep

send before
check "back: the knock accepted before the step is a replay" counted replay 1
send ahead
check "back: the knock accepted at +1 h (stamped an hour ahead) is refused as a replay" counted replay 2
check "back: nothing accepted since" test "$(accepted_total)" -eq 3
step -3600
send behind
check "-1 h: a knock stamped now is too_new" counted too_new 1
check "-1 h: ... and opens nothing" test "$(grants_from "$SRC_behind")" -eq 0
check "-1 h: the client's grant still passes" connect_ok "$GW" 22
unstep
gone=$((($(date +%s%N) - t0) / 1000000000))
check "after both steps: the expiries unchanged" test "$(expiries | jq -c "$grants - . | length")" -eq 0
now_left=$(left_of)
check "after both steps: the client's grant has $left s - $gone s left, as before (not +-3600): $now_left" \
    test "$now_left" -ge $((left - gone - 1)) -a "$now_left" -le $((left - gone + 1))
