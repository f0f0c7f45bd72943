#!/usr/bin/env bash
# Lab faults: the gated link changes under a running daemon.
# - Down and up (same ifindex): the program stays attached, the daemon keeps running, the
#   gate keeps dropping strangers and knocks still open.
# - Deleted, or deleted and recreated under the same name (a new ifindex, no program on
#   it), or our program taken off it: the daemon never goes on believing it gates. It exits
#   with status 1 within about a second, naming the interface and what happened (the
#   service manager restarts it); the next start gates the new link and the grants kept in
#   the pins (by interface name) pass again.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
trap finish EXIT

GW=10.99.0.1 STRANGER=10.99.0.77 KNOCKER=10.99.0.78
SECRET="link knock $(date +%s%N)"
config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 120, "open": ["tcp/8080"],
              "secrets": [{"label": "l", "secret": "$SECRET"}]}]
}
EOF2
}
xdp_attached() { in_ns xk-gw ip link show gw-out 2>/dev/null | grep -q "prog/xdp"; }
ifindex() { in_ns xk-gw ip -j link show gw-out 2>/dev/null | jq -r ".[0].ifindex"; }
running() { kill -0 "$DAEMON_PID" 2>/dev/null; }
# exits_within SECONDS: the daemon ends by itself; its status lands in $EXIT_STATUS.
exits_within() {
    for _ in $(seq $(($1 * 10))); do
        if ! running; then
            wait "$DAEMON_PID"
            EXIT_STATUS=$?
            DAEMON_PID=
            return 0
        fi
        sleep 0.1
    done
    return 1
}
# The lab's gw-out/xk-c pair, made again with lab.sh's addresses.
recreate_link() {
    ip link add xk-c netns xk-client type veth peer name gw-out netns xk-gw
    in_ns xk-client sh -e -c 'ip link set xk-c up; ip addr add 10.99.0.2/24 dev xk-c
        ip addr add 10.99.0.77/24 dev xk-c; ip addr add 10.99.0.78/24 dev xk-c; ip route replace default via 10.99.0.1'
    in_ns xk-gw sh -e -c 'ip link set gw-out up; ip addr add 10.99.0.1/24 dev gw-out'
    in_ns xk-client ping -c1 -W2 "$GW" >/dev/null
}

lab_up 8080
client_alias "$STRANGER/24"
client_alias "$KNOCKER/24"
start_daemon <<<"$(config)"
knock_plain "$GW" "$SECRET"
check "the knocked source connects" connect_ok "$GW" 8080

# ---- Down and up: same ifindex, the program stays.
before=$(ifindex)
in_ns xk-gw ip link set gw-out down
sleep 1.5  # more than a tick: the daemon looked at the link while it was down
check "link down: the program stays attached" xdp_attached
check "link down: the daemon keeps running" running
in_ns xk-gw ip link set gw-out up
in_ns xk-client ping -c1 -W3 "$GW" >/dev/null
check "down and up: same ifindex ($before)" test "$(ifindex)" = "$before"
check "down and up: the program is still attached" xdp_attached
check "down and up: the daemon keeps running" running
check "down and up: a stranger is still dropped by the gate" connect_dropped "$GW" 8080 "$STRANGER"
check "down and up: the grant still passes" connect_ok "$GW" 8080
printf '%s' "$SECRET" >"$WORK/secret.bin"
in_ns xk-client nc -u -w0 -s "$KNOCKER" "$GW" 62201 <"$WORK/secret.bin"
check "down and up: a knock is still judged: it opens for $KNOCKER" connect_ok_from "$KNOCKER" "$GW" 8080

# ---- Deleted and recreated at once: a new ifindex, ungated.
in_ns xk-gw ip link del gw-out
recreate_link
check "recreated: a new ifindex ($before -> $(ifindex))" test "$(ifindex)" != "$before"
check "recreated: the daemon exits by itself within 3 s" exits_within 3
check "recreated: ... with status 1 (${EXIT_STATUS:-none})" test "${EXIT_STATUS:-0}" -eq 1
check "recreated: the log names gw-out and the new ifindex" \
    grep -q "gw-out: .*deleted and recreated (ifindex $before -> $(ifindex)).*not gated" "$WORK/daemon.log"
start_daemon <<<"$(config)"
check "restart: the new gw-out is gated" xdp_attached
check "restart: a stranger is dropped by the gate" connect_dropped "$GW" 8080 "$STRANGER"
check "restart: the grant kept in the pins passes" connect_ok "$GW" 8080

# ---- Our program taken off the link by hand.
in_ns xk-gw ip link set dev gw-out xdp off
check "program removed: the daemon exits by itself within 3 s" exits_within 3
check "program removed: ... with status 1 (${EXIT_STATUS:-none})" test "${EXIT_STATUS:-0}" -eq 1
check "program removed: the log says gw-out is no longer gated" \
    grep -q "gw-out: .*program is no longer attached" "$WORK/daemon.log"
start_daemon <<<"$(config)"
check "restart: gated again" connect_dropped "$GW" 8080 "$STRANGER"

# ---- Deleted for good.
in_ns xk-gw ip link del gw-out
check "deleted: the daemon exits by itself within 3 s" exits_within 3
check "deleted: ... with status 1 (${EXIT_STATUS:-none})" test "${EXIT_STATUS:-0}" -eq 1
check "deleted: the log names gw-out and says it is gone" \
    grep -q "gw-out: the interface is gone" "$WORK/daemon.log"
no_daemon_left() { ! pgrep -f -- "-c $WORK/config.json" >/dev/null; }
check "nothing left behind: no xdpknockd of this test runs" no_daemon_left
