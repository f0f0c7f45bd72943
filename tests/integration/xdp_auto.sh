#!/usr/bin/env bash
# Lab: "xdp_mode": "auto" on a device without native XDP. A bridge in xk-gw (gw-br, its one
# port the gw end of a second veth from xk-client; the bridge driver has no XDP of its own)
# is gated in generic mode: the daemon warns that it fell back, status says generic, and the
# gate works there — a connect is dropped and counted until a knock over that link opens
# it. "native" on the same device fails the start instead of falling back.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
trap finish EXIT

GATE_IFACE=gw-br
GW=10.98.7.1 CLIENT=10.98.7.2
SECRET="auto knock $(date +%s%N)"
lab_up 8080
# Both ends live in the lab's namespaces: they go when the lab goes down.
ip link add xk-c2 netns xk-client type veth peer name gw-port netns xk-gw
in_ns xk-client sh -e -c "ip addr add $CLIENT/24 dev xk-c2; ip link set xk-c2 up"
in_ns xk-gw sh -e -c "ip link add $GATE_IFACE type bridge; ip link set gw-port master $GATE_IFACE
    ip addr add $GW/24 dev $GATE_IFACE; ip link set gw-port up; ip link set $GATE_IFACE up"
check "the bridge carries traffic before any gate" connect_ok "$GW" 8080

config() {
    cat <<EOF2
{
  "interfaces": [{"name": "$GATE_IFACE", "xdp_mode": "$1"}], "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 30, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2
}

# "native" where the driver has none: refused, nothing attached.
config native >"$WORK/native.json"
chmod 600 "$WORK/native.json"
timeout 20 "$LAB" exec xk-gw "$XDPKNOCKD" -c "$WORK/native.json" --pin-root "$PIN_ROOT" \
    --run-dir "$WORK/run" >"$WORK/native.log" 2>&1 9>&-
rc=$?
check "xdp_mode native on $GATE_IFACE: the start fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... naming the device" grep -q "$GATE_IFACE" "$WORK/native.log"
check "... and attaches nothing" test "$(in_ns xk-gw ip -j link show | jq -c '[.[] | select(.xdp) | .ifname]')" = "[]"
rm -rf "$PIN_ROOT"

start_daemon <<<"$(config auto)"
check "auto: the daemon warns that it fell back to generic" \
    grep -q "$GATE_IFACE: driver has no native XDP .*falling back to generic mode" "$WORK/daemon.log"
check "auto: ip link shows a generic (xdpgeneric) program on $GATE_IFACE" \
    sh -c "'$LAB' exec xk-gw ip link show '$GATE_IFACE' | grep -q ' xdpgeneric '"
check "auto: status says generic" test "$(xdp_mode_of "$GATE_IFACE")" = generic
check "auto: before the knock, a connect over the bridge is dropped by the gate" \
    connect_dropped "$GW" 8080
knock_plain "$GW" "$SECRET"
check "auto: the knock over the bridge opens tcp/8080" connect_ok "$GW" 8080
check "auto: status lists $CLIENT" test "$(active_grants "$CLIENT")" -eq 1
check "auto: only the bridge carries a program (not its port, not gw-out)" \
    test "$(in_ns xk-gw ip -j link show | jq -c '[.[] | select(.xdp) | .ifname]')" = "[\"$GATE_IFACE\"]"
