#!/usr/bin/env bash
# Lab fault: memory pressure, both tables full at once. The smallest replay cache
# ("replay_capacity": 1024: 64 shards of 64 slots, 4,096 digests at most) and the XDP knock
# buckets (32,768 sets of 2 sources) under fko-shaped junk from 65,536 spoofed sources at
# full speed, while 5,000 valid fko knocks from 5,000 more sources arrive: the daemon does
# not crash, accepts no more than the cache can remember (a knock it cannot remember is
# refused as replay_cache_full, never accepted unremembered), grants exactly what it
# accepted, and counts what it dropped. Sent again without the flood, every knock is judged
# once more: the accepted ones are replays, the others still replay_cache_full.
XDPKNOCKD=$1 XDPKNOCK=$2 GEN=$3 REPLAY=$4
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/mq_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
wait_for_free_lab
trap finish EXIT

N=5000 SLOTS=4096 GW=10.99.0.1 STRANGER=10.99.0.77
lab_up 22
client_alias "$STRANGER/24"
mkdir -p "$WORK/state"
MAC=$(gw_mac)
fko_config 2 '"10.0.0.0/8"' false '"replay_capacity": 1024,' >"$WORK/fko.json"
start_daemon <"$WORK/fko.json"
"$GEN" --config "$WORK/config.json" --out "$WORK/knocks.pcap" --seed $$ --fko "$N" \
    --ipv6-share 0 >/dev/null || bad "xdpknock-gen wrote $N knocks"
inject() { in_ns xk-client taskset -c 0 "$REPLAY" --dst-mac "$MAC" "$@"; }
valid() { inject --pcap "$WORK/knocks.pcap" --src-net 10.99.128.0/17 --rate 2500 --seconds 4 >/dev/null; }
queues_sum() { stats | jq "[.interfaces[0].queues[].$1] | add"; }

inject --fko-junk 65536 --junk-net 10.100.0.0/16 --count 100000000 --rate 0 --seconds 5 \
    >"$WORK/junk.json" &
JUNK=$!
sleep 0.5
valid
wait "$JUNK"
sleep 1.5  # the workers drain; stats.json is rewritten each second
accepted=$(accepted_total) full=$(rejected replay_cache_full)
echo "     (flood: $(jq .offered "$WORK/junk.json") junk frames; valid: $accepted accepted," \
    "$full replay_cache_full, ring_full $(queues_sum ring_full), rx_dropped $(queues_sum rx_dropped)," \
    "knock_rate_drop $(xdp_counter knock_rate_drop), hmac_mismatch $(rejected hmac_mismatch))"
check "the daemon survived both tables full" kill -0 "$DAEMON_PID"
check "the replay cache filled: knocks refused as replay_cache_full ($full)" test "$full" -gt 0
check "no more accepted than the cache can remember ($accepted <= $SLOTS)" test "$accepted" -le "$SLOTS"
check "... but it did fill up: over half of it ($accepted)" test "$accepted" -gt $((SLOTS / 2))
check "a grant per accepted knock, no more" \
    test "$(grants_from 10.99.1)" -eq "$accepted"
check "no junk source authorized" test "$(grants_from 10.100.)" -eq 0
check "the junk was refused by the workers (hmac_mismatch counted)" test "$(rejected hmac_mismatch)" -gt 0
check "a stranger is still dropped by the gate" connect_dropped "$GW" 22 "$STRANGER"

# Again, no flood: every valid knock judged, none accepted twice, none accepted unremembered
# (a knock the flood shed unjudged may be accepted now, if its shard has room).
replay0=$(rejected replay)
valid
sleep 1.5
accepted2=$(accepted_total) replays=$(($(rejected replay) - replay0)) fulls=$(($(rejected replay_cache_full) - full))
echo "     (again: $((accepted2 - accepted)) accepted, $replays replay, $fulls replay_cache_full)"
check "again: each knock accepted before is a replay ($replays of $accepted)" test "$replays" -eq "$accepted"
check "again: every knock judged: new + replay + replay_cache_full = $N" \
    test $((accepted2 - accepted + replays + fulls)) -eq "$N"
check "again: still no more accepted than the cache holds ($accepted2 <= $SLOTS)" test "$accepted2" -le "$SLOTS"
check "again: a grant per accepted knock" test "$(grants_from 10.99.1)" -eq "$accepted2"
check "the daemon still runs" kill -0 "$DAEMON_PID"
