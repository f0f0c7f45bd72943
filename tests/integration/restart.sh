#!/usr/bin/env bash
# Lab: fail closed on stop, crash and restart. A plain SIGTERM and a kill -9 both leave the
# gate attached and closed: a never-knocked source stays blocked, knocks go unanswered,
# grants expire in the kernel on time, and the next start adopts what is live. Only
# `xdpknock detach` removes the gate.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "nas", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 120, "open": ["tcp/8080"],
              "secrets": [{"label": "l", "secret": "restart-secret"}]}]
}
EOF2
}
xdp_attached() { in_ns xk-gw ip link show gw-out | grep -q "prog/xdp"; }
STRANGER=10.99.0.77  # never knocks

# closed_while_down WHAT: the checks that must hold whenever no daemon runs.
closed_while_down() {
    check "$1: the program stays attached" xdp_attached
    check "$1: the maps stay pinned" test -e "$PIN_ROOT/gw-out/authorized"
    check "$1: a never-knocked source is dropped by the gate" connect_dropped 10.99.0.1 8080 "$STRANGER"
    check "$1: the authorized source still connects" connect_ok 10.99.0.1 8080
    local before
    before=$(xdp_counter knock_no_socket)
    in_ns xk-client "$XDPKNOCK" send 10.99.0.1 --secret restart-secret >/dev/null 2>&1
    check "$1: a knock finds no socket and is dropped" at_least 2 $((before + 1)) xdp_counter knock_no_socket
    check "$1: ... and authorizes nothing" connect_blocked_from "$STRANGER" 10.99.0.1 8080
}

lab_up 8080
client_alias "$STRANGER/24"
start_daemon <<<"$(config)"
check "before the knock: connect is dropped" connect_dropped 10.99.0.1 8080
in_ns xk-client "$XDPKNOCK" send 10.99.0.1 --secret restart-secret
check "connect after the knock" connect_ok 10.99.0.1 8080

stop_daemon
check "SIGTERM: the stop log says the gate stays closed and how to remove it" \
    grep -q "gate left attached and closed.*xdpknock detach gw-out" "$WORK/daemon.log"
closed_while_down "after SIGTERM"
check "daemon down: bpftool reads the entry with named fields" \
    sh -c "bpftool map dump pinned '$PIN_ROOT/gw-out/authorized' | grep -q expires_ns"

# Grants expire in the kernel with no daemon to sweep them.
in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" allow "$STRANGER" -i gw-out -t 2 >/dev/null
check "daemon down: a 2 s grant opens" connect_ok_from "$STRANGER" 10.99.0.1 8080
sleep 2.5
check "daemon down: the grant expired on time" connect_dropped 10.99.0.1 8080 "$STRANGER"

DAEMON_FLAGS=--keep-attached  # accepted, and now what every stop does anyway
start_daemon <<<"$(config)"
check "restart adopts the authorization" grep -q "1 live authorization(s) kept from before" "$WORK/daemon.log"
check "restart: the authorized source still connects" connect_ok 10.99.0.1 8080
check "restart: a never-knocked source is still dropped" connect_dropped 10.99.0.1 8080 "$STRANGER"

kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
DAEMON_FLAGS=
closed_while_down "after kill -9"
start_daemon <<<"$(config)"
check "start after kill -9 adopts the authorization" \
    test "$(grep -c "1 live authorization(s) kept from before" "$WORK/daemon.log")" -eq 2
check "after kill -9 and restart: the authorized source connects" connect_ok 10.99.0.1 8080
stop_daemon

# The one way to open: detach.
check "xdpknock detach removes the gate" \
    sh -c "$LAB exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' detach gw-out | grep -q 'gw-out: gate detached, pins removed'"
check "detached: the program is gone" sh -c "! $LAB exec xk-gw ip link show gw-out | grep -q prog/xdp"
check "detached: the pins are gone" test ! -e "$PIN_ROOT/gw-out"
check "detached: nothing is gated any more" connect_ok_from "$STRANGER" 10.99.0.1 8080
check "detach --all with nothing left says so and succeeds" \
    in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach --all
