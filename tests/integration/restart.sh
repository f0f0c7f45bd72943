#!/usr/bin/env bash
# Lab: fail closed and nothing lost on restart. With --keep-attached the gate and its
# authorizations outlive the daemon and the next daemon adopts them; a plain SIGTERM
# detaches the program and removes the pins.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "nas", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 60, "open": ["tcp/8080"],
              "secrets": [{"label": "l", "secret": "restart-secret"}]}]
}
EOF2
}
xdp_attached() { in_ns xk-gw ip link show gw-out | grep -q "prog/xdp"; }

lab_up 8080
DAEMON_FLAGS=--keep-attached
start_daemon <<<"$(config)"
in_ns xk-client "$XDPKNOCK" send 10.99.0.1 --secret restart-secret
check "connect after the knock" connect_ok 10.99.0.1 8080

stop_daemon
check "--keep-attached: the program stays attached" xdp_attached
check "--keep-attached: the maps stay pinned" test -e "$PIN_ROOT/gw-out/authorized"
check "daemon down: the authorized source still connects" connect_ok 10.99.0.1 8080
check "daemon down: bpftool reads the entry with named fields" \
    sh -c "bpftool map dump pinned '$PIN_ROOT/gw-out/authorized' | grep -q expires_ns"

DAEMON_FLAGS=
start_daemon <<<"$(config)"
check "restart adopts the authorization" grep -q "1 authorization(s) kept from before" "$WORK/daemon.log"
check "restart: the source still connects" connect_ok 10.99.0.1 8080

stop_daemon
check "plain SIGTERM detaches the program" sh -c "! $LAB exec xk-gw ip link show gw-out | grep -q prog/xdp"
check "plain SIGTERM removes the pins" test ! -e "$PIN_ROOT/gw-out/authorized"
check "detached: nothing is gated any more" connect_ok 10.99.0.1 8080
