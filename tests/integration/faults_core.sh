#!/usr/bin/env bash
# Lab faults, what a crash may leak (tests/SECURITY.md rows 19 and 22):
# - No secret of the config on any command line of the daemon (what `ps` shows every user),
#   and `xdpknock send --secret` warns that it puts one there.
# - xdpknockd crashing (SIGSEGV, SIGABRT) with core dumps allowed leaves no core file: a core
#   would hold every key of the config. The gate stays attached and closed after each crash.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap 'finish; [ -n "${PATTERN:-}" ] && echo "$PATTERN" >/proc/sys/kernel/core_pattern' EXIT

GW=10.99.0.1 STRANGER=10.99.0.77
SECRET="core knock $(date +%s%N)"
config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 60, "open": ["tcp/8080"],
              "secrets": [{"label": "l", "secret": "$SECRET"}]}]
}
EOF2
}

lab_up 8080
client_alias "$STRANGER/24"
# A core named "core" in the crashing process's folder: the kernel's plain default, so a
# dumpable daemon would leave one where this test looks.
PATTERN=$(cat /proc/sys/kernel/core_pattern)
echo core >/proc/sys/kernel/core_pattern
mkdir -p "$WORK/cores"
config >"$WORK/core.json"
ulimit -c unlimited

warn=$(in_ns xk-client "$XDPKNOCK" send "$GW" --secret "a throwaway secret" 2>&1 >/dev/null)
check "send --secret warns that every local user can read it (ps)" \
    grep -q "puts a secret on the command line" <<<"$warn"

for sig in SEGV ABRT; do
    rm -f "$WORK/cores"/*
    cd "$WORK/cores"
    start_daemon <"$WORK/core.json"  # not in a pipeline: DAEMON_PID must reach this shell
    cd - >/dev/null
    check "SIG$sig run: the daemon's command line holds no secret" \
        sh -c "! tr '\0' ' ' </proc/$DAEMON_PID/cmdline | grep -qF '$SECRET'"
    kill -"$sig" "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    status=$?
    DAEMON_PID=
    check "SIG$sig: the daemon died of it (status $status)" test "$status" -gt 128
    check "SIG$sig: no core file was written (ls: $(ls "$WORK/cores" | tr '\n' ' '))" \
        test -z "$(ls -A "$WORK/cores")"
    check "SIG$sig: the gate stays attached" sh -c "'$LAB' exec xk-gw ip link show gw-out | grep -q prog/xdp"
    check "SIG$sig: a stranger is still dropped" connect_dropped "$GW" 8080 "$STRANGER"
done
