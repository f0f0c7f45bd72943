#!/usr/bin/env bash
# Lab: a start that fails leaves the gate it found in place. A first daemon gates gw-out and
# stops, leaving the gate (fail closed); then starts that fail — a second interface that does
# not exist, a wake host on a missing interface — must exit non-zero, name the cause, and
# leave gw-out gated: a never-knocked source is still dropped, the kept grant still passes.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
trap finish EXIT

GW=10.99.0.1 NEVER=10.99.0.3  # the knocked source is the client, 10.99.0.2
# config [EXTRA_INTERFACE_JSON] [EXTRA_TOP_LEVEL_JSON]
config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}${1:+, $1}], ${2:-} "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 60, "open": ["tcp/8080"],
              "secrets": [{"label": "l", "secret": "failed-start-secret"}]}]
}
EOF2
}
xdp_attached() { in_ns xk-gw ip link show gw-out | grep -q "prog/xdp"; }

lab_up 8080
client_alias "$NEVER/24"
# --keep-attached: the gate outlives this daemon (a no-op once a plain stop keeps it too).
DAEMON_FLAGS=--keep-attached
start_daemon <<<"$(config)"
knock_plain "$GW" failed-start-secret
check "the knocked source connects" connect_ok "$GW" 8080
check "a never-knocked source is dropped by the gate" connect_dropped "$GW" 8080 "$NEVER"
stop_daemon
DAEMON_FLAGS=
check "the first daemon stopped, its gate stays attached" xdp_attached

# failing_start NAME CONFIG_TEXT CAUSE: xdpknockd exits non-zero, logs CAUSE, and gw-out is
# still gated as before.
failing_start() {
    local name=$1 cause=$3 rc
    printf '%s\n' "$2" >"$WORK/$name.json"
    chmod 600 "$WORK/$name.json"
    timeout 20 "$LAB" exec xk-gw "$XDPKNOCKD" -c "$WORK/$name.json" --pin-root "$PIN_ROOT" \
        --run-dir "$WORK/run" >"$WORK/$name.log" 2>&1 9>&-
    rc=$?
    check "$name: the start fails (exit $rc, not 0, not killed by the timeout)" \
        test "$rc" -ne 0 -a "$rc" -ne 124
    check "$name: the log names the cause ($cause)" grep -qF "$cause" "$WORK/$name.log"
    check "$name: the gate is still attached to gw-out" xdp_attached
    check "$name: status still reads the gate's maps" test "$(xdp_mode_of gw-out)" = native
    check "$name: a never-knocked source is still dropped by the gate" \
        connect_dropped "$GW" 8080 "$NEVER"
    check "$name: the grant from before still passes" connect_ok "$GW" 8080
    [ "$FAILS" -eq 0 ] || cat "$WORK/$name.log"
}

failing_start "second interface missing" "$(config '{"name": "xk-nosuch0"}')" "xk-nosuch0"
failing_start "wake host on a missing interface" "$(config '' '"hosts": [{"name": "nas",
    "mac": "02:00:5e:10:00:01", "ipv4": "10.99.1.2", "interface": "xk-nosuch1"}],')" "xk-nosuch1"
