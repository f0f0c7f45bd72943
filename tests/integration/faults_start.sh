#!/usr/bin/env bash
# Lab faults at start:
# - No bpffs at /sys/fs/bpf (a mount namespace without it): the daemon mounts one, says so,
#   and gates; without CAP_SYS_ADMIN it cannot, and the start fails naming /sys/fs/bpf.
# - Pins left by another version: a map of another type and key layout is never used (it
#   is replaced, with a warning that its entries were dropped); an older, narrower value is
#   migrated (its entries carried over, said in the log), never read as the new layout.
# - A second xdpknockd on the same interface: refused before it loads, pins or writes
#   anything; the first keeps its program, its ports and its knocks.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
trap finish EXIT

GW=10.99.0.1 STRANGER=10.99.0.77 KNOCKER=10.99.0.78
SECRET="start knock $(date +%s%N)"
# config [PORT]
config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/${1:-8080}"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 60, "open": ["tcp/${1:-8080}"],
              "secrets": [{"label": "l", "secret": "$SECRET"}]}]
}
EOF2
}
PINS=$PIN_ROOT/gw-out
prog_id() { in_ns xk-gw ip -j link show gw-out | jq -r '.[0].xdp.prog.id // 0'; }
detach() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach gw-out >/dev/null; }
knock_from() { printf '%s' "$SECRET" | in_ns xk-client nc -u -w0 -s "$1" "$GW" 62201; }

lab_up 8080 9090
client_alias "$STRANGER/24"
client_alias "$KNOCKER/24"
config >"$WORK/base.json"
chmod 600 "$WORK/base.json"

# ---- 1. No bpffs: a private mount namespace without /sys/fs/bpf.
no_bpffs() {  # CMD... in a fresh mount namespace without bpffs, in xk-gw's netns (exec: subshell it)
    exec unshare -m --propagation private sh -c \
        'while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 99; done; exec "$@"' sh \
        nsenter --net=/run/netns/xk-gw "$@"
}
(no_bpffs "$XDPKNOCKD" -c "$WORK/base.json" --pin-root "$PIN_ROOT" --run-dir "$WORK/run1") \
    >"$WORK/nobpffs.log" 2>&1 9>&- &
NB=$!
for _ in $(seq 50); do grep -q "xdpknockd running" "$WORK/nobpffs.log" && break; sleep 0.1; done
in_its_ns() { nsenter --mount="/proc/$NB/ns/mnt" --net=/run/netns/xk-gw "$@"; }
check "no bpffs: the daemon starts" grep -q "xdpknockd running" "$WORK/nobpffs.log"
check "no bpffs: it says it mounted one" grep -q "/sys/fs/bpf: no bpffs mounted; mounted one" "$WORK/nobpffs.log"
check "no bpffs: ... and it is a bpffs" test "$(in_its_ns findmnt -n -o FSTYPE /sys/fs/bpf)" = bpf
check "no bpffs: its pins are there" in_its_ns test -e "$PINS/authorized"
check "no bpffs: a stranger gets no answer" connect_blocked_from "$STRANGER" "$GW" 8080
check "no bpffs: ... dropped by the gate (syn_drop counted)" \
    sh -c "nsenter --mount=/proc/$NB/ns/mnt --net=/run/netns/xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' status --json --run-dir '$WORK/run1' | jq -e '.interfaces[0].counters.syn_drop > 0' >/dev/null"
knock_from "$KNOCKER"
check "no bpffs: a knock opens" connect_ok_from "$KNOCKER" "$GW" 8080
kill -TERM "$NB"
wait "$NB"
detach  # the program stays attached; its pins went with that namespace's bpffs
# Without CAP_SYS_ADMIN no bpffs can be mounted: refused, naming it.
(no_bpffs setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
    timeout 20 "$XDPKNOCKD" -c "$WORK/base.json" --pin-root "$PIN_ROOT" --run-dir "$WORK/run1") \
    >"$WORK/nobpffs-nocap.log" 2>&1 9>&-
rc=$?
check "no bpffs, no CAP_SYS_ADMIN: the start fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 99
check "... naming /sys/fs/bpf" grep -q "/sys/fs/bpf: cannot mount bpffs" "$WORK/nobpffs-nocap.log"
check "... and attaches nothing" test "$(prog_id)" = 0

# ---- 2. Pins from another version.
mkdir -p "$PINS"
# An authorized map of another type and key layout, and a ports map of another value size.
bpftool map create "$PINS/authorized" type lru_hash key 8 value 16 entries 64 name authorized
bpftool map create "$PINS/ports" type array key 4 value 2 entries 8 name ports
start_daemon <"$WORK/base.json"
check "foreign pins: the authorized map is replaced, its entries said to be dropped" \
    grep -q "warn gw-out: authorized: the pinned map had another shape (type lru_hash -> hash, key 8 -> 20 bytes.*); replaced, its entries not carried over" "$WORK/daemon.log"
check "foreign pins: the ports map is replaced (the config rewrites it)" \
    grep -q "gw-out: ports: the pinned map had another shape (value 2 -> .*); replaced, its entries not carried over: the config rewrites it" "$WORK/daemon.log"
check "foreign pins: the pinned authorized map is ours now (20-byte key)" \
    test "$(bpftool -j map show pinned "$PINS/authorized" | jq .bytes_key)" = 20
check "foreign pins: a stranger is dropped by the gate" connect_dropped "$GW" 8080 "$STRANGER"
knock_plain "$GW" "$SECRET"
check "foreign pins: a knock opens" connect_ok "$GW" 8080
read -r MAXE FLAGS < <(bpftool -j map show pinned "$PINS/authorized" | jq -r '"\(.max_entries) \(.flags)"')
stop_daemon
detach
# An older layout of authorized: the same key, a narrower value (expires_ns only), holding a
# grant for the stranger: migrated (the new fields at 0) and said, never misread.
mkdir -p "$PINS"
bpftool map create "$PINS/authorized" type hash key 20 value 8 entries "$MAXE" name authorized flags "$FLAGS"
expires=$(python3 -c 'import time; print((time.monotonic_ns() + 60 * 10**9).to_bytes(8, "little").hex(" "))')
bpftool map update pinned "$PINS/authorized" \
    key hex 00 00 00 00 00 00 00 00 00 00 ff ff 0a 63 00 4d 90 1f 06 00 value hex $expires
start_daemon <"$WORK/base.json"
check "older pins: the grant is carried over and said so" \
    grep -q "gw-out: authorized: the pinned map had another shape (value 8 -> 16 bytes); replaced: 1 entr(ies) carried over (their 8 new value bytes at 0)" "$WORK/daemon.log"
check "older pins: the migrated grant passes for its source" connect_ok_from "$STRANGER" "$GW" 8080
check "older pins: with its expiry kept (about 60 s left)" \
    test "$(active_grants "$STRANGER")" -eq 1 -a "$(gate_json | jq '[.authorized[] | select(.source == "'$STRANGER'") | .seconds_left] | max')" -ge 50

# ---- 3. A second xdpknockd on the same interface (another config: tcp/9090 instead).
first=$(prog_id)
config 9090 >"$WORK/second.json"
chmod 600 "$WORK/second.json"
timeout 20 "$LAB" exec xk-gw "$XDPKNOCKD" -c "$WORK/second.json" --pin-root "$PIN_ROOT" \
    --run-dir "$WORK/run2" >"$WORK/second.log" 2>&1 9>&-
rc=$?
check "second daemon: refused (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "second daemon: ... naming the interface and the first one's pid" \
    grep -q "gw-out: another xdpknockd (pid $DAEMON_PID) already gates this interface" "$WORK/second.log"
check "second daemon: the first one's program is still the one attached" test "$(prog_id)" = "$first"
check "second daemon: the first one runs on" kill -0 "$DAEMON_PID"
check "second daemon: its port (tcp/9090) was never gated" connect_ok_from "$STRANGER" "$GW" 9090
check "second daemon: the first one's port still gated" connect_dropped "$GW" 8080 "$KNOCKER"
knock_from "$KNOCKER"
check "second daemon: the first one still judges knocks" connect_ok_from "$KNOCKER" "$GW" 8080
