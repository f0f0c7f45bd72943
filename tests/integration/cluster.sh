#!/usr/bin/env bash
# Lab: two gateways (xk-gw, xk-gw2, each its own XDP gate on its own gw-out) share one Redis
# (started here, on a unix socket, with a password) as a cluster. The client's 10.99.9.2
# reaches both, as behind ECMP. The real fwknop client knocks.
#   - a knock to gw-a lets the SYN through gw-b; the same knock replayed to gw-b is refused;
#   - `xdpknock revoke -c` on gw-b shuts gw-a too;
#   - Redis killed: each gateway goes on alone with its own knocks; Redis back (empty): the
#     grants and the knocks of the outage reach the other gateway;
#   - a gateway started late loads the live grants.
set -uo pipefail
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
fwknop_key_pairs
command -v redis-server >/dev/null || {
    [ "${CI:-}" = true ] && { echo "FAIL: redis-server missing under CI=true"; exit 1; }
    echo "SKIP: redis-server not installed"; exit 77
}

GWA=10.99.0.1 GWB=10.99.2.1 CLIENT=10.99.9.2 USERNAME=xk-lab-user
REDIS_SOCK=$WORK/redis.sock REDIS_PID=
PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
(umask 077; printf '%s\n' "$PW" >"$WORK/redis.pw")

redis_up() {
    redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 --save '' \
        --appendonly no --requirepass "$PW" --logfile "$WORK/redis.log" 9>&- &
    REDIS_PID=$!
    for _ in $(seq 50); do [ -S "$REDIS_SOCK" ] && return 0; sleep 0.1; done
    echo "redis-server did not start"; exit 1
}
redis_kill() { kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null; rm -f "$REDIS_SOCK"; }

config() {  # NODE
    cat <<EOF
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "telnet", "port": "tcp/23"}],
  "state_dir": "$WORK/state-$1",
  "ranges": [
    {"name": "fw", "method": "fko", "port": 62201, "timeout": 60, "sources": ["10.99.9.0/24"],
     "open": ["tcp/22", "tcp/23"], "proof_ip": true, "proof_time": 120,
     "secrets": [{"label": "k1", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                  "hmac": "sha256", "mode": "cbc"}]}
  ],
  "cluster": {"redis": "unix:$REDIS_SOCK", "node": "$1", "prefix": "lab",
              "password_file": "$WORK/redis.pw", "timeout_ms": 50}
}
EOF
}

declare -A NS=([gw-a]=xk-gw [gw-b]=xk-gw2) ADDR=([gw-a]=$GWA [gw-b]=$GWB) PID=()
start_gw() {  # NODE: its daemon, pins, run folder and log of its own
    local node=$1 log=$WORK/$1.log starts
    (umask 077; config "$node" >"$WORK/$node.json")
    : >>"$log"
    starts=$(grep -c "xdpknockd running" "$log")
    "$LAB" exec "${NS[$node]}" "$XDPKNOCKD" -c "$WORK/$node.json" --pin-root "$PIN_ROOT/$node" \
        --run-dir "$WORK/run-$node" -v >>"$log" 2>&1 9>&- &
    PID[$node]=$!
    for _ in $(seq 50); do
        [ "$(grep -c "xdpknockd running" "$log")" -gt "$starts" ] && return 0
        sleep 0.1
    done
    echo "$node did not start:"; cat "$log"; exit 1
}
stop_gw() { kill -TERM "${PID[$1]}" 2>/dev/null && wait "${PID[$1]}" 2>/dev/null; PID[$1]=; }

cleanup() {
    for n in gw-a gw-b; do [ -n "${PID[$n]:-}" ] && stop_gw "$n"; done
    [ -n "$REDIS_PID" ] && redis_kill
    in_ns xk-gw2 pkill -f "nc -[46] -lk" 2>/dev/null
    cat "$WORK"/gw-*.log >"$WORK/daemon.log"  # finish() shows it on a failure
    finish
}
trap cleanup EXIT

# knock GW [fwknop args…]: the real client from xk-client (source 10.99.9.2).
knock() {
    local gw=$1; shift
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -U "$USERNAME" \
        --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --use-hmac \
        --hmac-digest-type sha256 -m sha256 -M cbc -a "$CLIENT" -D "$gw" "$@" >>"$WORK/fwknop.log" 2>&1
}
# resend FILE GW: a saved knock's bytes again, to GW's knock port.
resend() { in_ns xk-client sh -c "printf '%s' \"\$(cat '$1')\" | nc -u -w1 -q0 $2 62201"; }
# logged NODE PATTERN: in NODE's log within 3 s.
logged() {
    for _ in $(seq 30); do grep -qE "$2" "$WORK/$1.log" && return 0; sleep 0.1; done
    return 1
}
# dropped_at NODE PORT: the connect to NODE times out AND its gate counted the dropped SYN.
status_of() {
    in_ns "${NS[$1]}" "$XDPKNOCK" --pin-root "$PIN_ROOT/$1" status "${@:2}" --run-dir "$WORK/run-$1"
}
syn_drops_of() {
    status_of "$1" --json | jq -e '.interfaces[] | select(.interface == "gw-out")
                                   | .counters.syn_drop + .counters.syn_expired'
}
dropped_at() {
    local before
    before=$(syn_drops_of "$1") || return 1
    connect_blocked "${ADDR[$1]}" "$2" || return 1
    [ "$(syn_drops_of "$1")" -gt "$before" ]
}
passes_at() { connect_ok "${ADDR[$1]}" "$2"; }
cluster_json() { jq -e "$2" "$WORK/run-$1/stats.json" >/dev/null 2>&1; }
cluster_becomes() {  # NODE JQ: stats.json's cluster part satisfies JQ within 5 s
    for _ in $(seq 50); do cluster_json "$1" "$2" && return 0; sleep 0.1; done
    echo "  $1: $(jq -c . "$WORK/run-$1/stats.json" 2>/dev/null)"; return 1
}
revoke_on() {  # NODE: `xdpknock revoke -c` on that gateway
    in_ns "${NS[$1]}" "$XDPKNOCK" --pin-root "$PIN_ROOT/$1" revoke "$CLIENT" -i gw-out \
        -c "$WORK/$1.json" >>"$WORK/cli.log" 2>&1
}

LAB_KIND=cluster lab_up 22 23
in_ns xk-gw2 sh -c "nc -4 -lk -p 22 >/dev/null 2>&1 & nc -4 -lk -p 23 >/dev/null 2>&1 &" 9>&-
redis_up
start_gw gw-a
start_gw gw-b

check "both gateways connect to Redis and see each other" \
    sh -c "$(declare -f cluster_becomes cluster_json); WORK=$WORK; cluster_becomes gw-a '.cluster.connected and .cluster.peers == [\"gw-b\"]' && cluster_becomes gw-b '.cluster.connected and .cluster.peers == [\"gw-a\"]'"
check "before a knock: tcp/22 dropped at gw-a" dropped_at gw-a 22
check "before a knock: tcp/22 dropped at gw-b" dropped_at gw-b 22

# ---- a knock to gw-a opens gw-b; its replay to gw-b is refused
check "fwknop -A tcp/22 to gw-a sends (saved)" knock "$GWA" -A tcp/22 -B "$WORK/k1.pkt"
check "gw-a granted it" logged gw-a "authorized $CLIENT for tcp/22"
check "the SYN through gw-b passes (gw-a's grant reached gw-b)" passes_at gw-b 22
check "gw-b logged whose grant it applied" logged gw-b "cluster: gw-a authorized $CLIENT for tcp/22"
check "gw-b's status shows the propagation lag" \
    cluster_becomes gw-b '.cluster.applied >= 1 and .cluster.lag_samples >= 1'
STATUS_B=$(status_of gw-b 2>&1)
check "xdpknock status on gw-b shows the cluster, connected, its peer" \
    grep -qzE "cluster: node gw-b, Redis unix:[^ ]*: connected.*peers seen: gw-a" <<<"$STATUS_B" || { echo "$STATUS_B"; false; }
check "revoke -c on gw-b: sent to the cluster" revoke_on gw-b
check "gw-a shut by gw-b's revoke" logged gw-a "cluster: gw-b revoked $CLIENT"
check "after the revoke: tcp/22 dropped at gw-a" dropped_at gw-a 22
check "after the revoke: tcp/22 dropped at gw-b" dropped_at gw-b 22
check "the knock replayed to gw-b is sent" resend "$WORK/k1.pkt" "$GWB"
check "gw-b refuses it as a replay (gw-a saw it first)" logged gw-b "knock refused from $CLIENT to udp/62201: replay"
check "gw-b counted it as decided by Redis" cluster_becomes gw-b '.cluster.replay_remote >= 1'
check "after the replay: tcp/22 still dropped at gw-b" dropped_at gw-b 22

# ---- Redis killed: each goes on alone; back: they converge
redis_kill
check "Redis killed: fwknop -A tcp/22 to gw-a sends (saved)" knock "$GWA" -A tcp/22 -B "$WORK/k2.pkt"
check "gw-a alone: the knock opens gw-a" passes_at gw-a 22
check "gw-a said the outage once" logged gw-a "cluster: Redis at unix:.* not answering"
check "fwknop -A tcp/23 to gw-b sends" knock "$GWB" -A tcp/23
check "gw-b alone: the knock opens gw-b's tcp/23" passes_at gw-b 23
check "meanwhile gw-a's grant did not reach gw-b" dropped_at gw-b 22
check "gw-a's status: not connected, one outage, a backlog" \
    cluster_becomes gw-a '(.cluster.connected | not) and .cluster.outages == 1 and .cluster.queued >= 1'
redis_up
check "Redis back (empty): gw-a's outage grant reaches gw-b" passes_at gw-b 22
check "and gw-b's reaches gw-a" passes_at gw-a 23
check "both reconnected, backlogs sent" \
    sh -c "$(declare -f cluster_becomes cluster_json); WORK=$WORK; cluster_becomes gw-a '.cluster.connected and .cluster.queued == 0' && cluster_becomes gw-b '.cluster.connected and .cluster.queued == 0'"
check "the outage was logged once per gateway" \
    test "$(grep -c 'not answering' "$WORK/gw-a.log")" -eq 1 -a "$(grep -c 'not answering' "$WORK/gw-b.log")" -eq 1
REMOTE=$(jq .cluster.replay_remote "$WORK/run-gw-b/stats.json")
check "the knock gw-a accepted during the outage, replayed to gw-b, is sent" resend "$WORK/k2.pkt" "$GWB"
check "gw-b refuses it: Redis says gw-a saw it first (the outage's digest was sent)" \
    cluster_becomes gw-b ".cluster.replay_remote == $((REMOTE + 1))"

# ---- a gateway started late loads the live grants
check "revoke -c on gw-b again" revoke_on gw-b
check "gw-a shut again" sh -c "for _ in \$(seq 30); do [ \$(grep -c 'cluster: gw-b revoked $CLIENT' '$WORK/gw-a.log') -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
check "tcp/22 dropped at gw-a" dropped_at gw-a 22
stop_gw gw-b
check "gw-b stopped: its gate stays closed" dropped_at gw-b 22
check "fwknop -A tcp/22 to gw-a while gw-b is down" knock "$GWA" -A tcp/22
check "gw-a opens" passes_at gw-a 22
LOADED_BEFORE=$(grep -cE "as node gw-b: [1-9][0-9]* live grant" "$WORK/gw-b.log")
start_gw gw-b
check "gw-b started late loaded the live grants" sh -c \
    "for _ in \$(seq 30); do [ \$(grep -cE 'as node gw-b: [1-9][0-9]* live grant' '$WORK/gw-b.log') -gt $LOADED_BEFORE ] && exit 0; sleep 0.1; done; exit 1"
check "the SYN through gw-b passes" passes_at gw-b 22

check "no log holds the Redis password" sh -c "! grep -rqF -- '$PW' '$WORK'/*.log"
