#!/usr/bin/env bash
# Lab: from the build tree to a packaged, running service. cpack builds the .deb, dpkg -i
# installs it, the man pages, --version and the installed unit are checked, then the
# INSTALLED xdpknockd runs in the lab under exactly the unit's capabilities (parsed from the
# installed unit, so the two cannot drift), tells READY=1 on a NOTIFY_SOCKET we provide,
# gates and opens on a knock, stops leaving the gate, restarts adopting it; detach, dpkg -r.
# Steps are functions listed in STEPS: add one by writing step_x and naming it there.
# Usage: package.sh XDPKNOCKD XDPKNOCK BUILD_DIR (the first two are the lab tests' usual
# arguments; the package's own binaries are the ones tested).
# shellcheck disable=SC2034  # XDPKNOCKD: lab_lib.sh's variable; the installed one is tested
XDPKNOCKD=$1 XDPKNOCK=$2 BUILD=$3
source "$(dirname "$0")/lab_lib.sh"
require_root
SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
PKG=xdpknock
UNIT=/usr/lib/systemd/system/xdpknockd.service
GW=10.99.0.1 NEVER=10.99.0.3  # the knocking source is the client's 10.99.0.2
ROTATED=10.99.0.4 OLD_KEY=10.99.0.5  # knock after the reload with the new / the old secret
SECRET="package knock $(date +%s%N)"
SECRET2="rotated knock $(date +%s%N)"
METRICS_PORT=19642
for tool in cpack dpkg dpkg-deb man setpriv systemd-analyze python3 jq; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/install-deps.sh)"; exit 1; }
done

LISTENER_PID=
installed() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "ok installed"; }
not_installed() { ! installed; }
not_grep() { ! grep "$@"; }
xdp_attached() { in_ns xk-gw ip link show gw-out | grep -q "prog/xdp"; }
xdp_detached() { ! xdp_attached; }
installed_files_gone() {
    local f
    for f in /usr/sbin/xdpknockd /usr/bin/xdpknock "$UNIT" /usr/share/man/man8/xdpknockd.8.gz; do
        [ -e "$f" ] && return 1
    done
    return 0
}
cleanup() {
    local rc=$?  # finish reads the script's status: hand it over past our own commands
    stop_daemon
    [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null && wait "$LISTENER_PID" 2>/dev/null
    if xdp_attached 2>/dev/null; then in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach --all >/dev/null 2>&1; fi
    installed && dpkg -r "$PKG" >/dev/null 2>&1
    (exit "$rc")
    finish
}
trap cleanup EXIT

# ---- helpers

# unit_caps KEY: the unit's capability list for KEY (e.g. CapabilityBoundingSet), sorted,
# one CAP_X a line; every line of that key counts, as systemd merges them.
unit_caps() { sed -n "s/^$1=//p" "$UNIT" | tr ' ' '\n' | grep . | sort -u; }
# setpriv_caps CAP_X…: "-all,+x,+y" as setpriv takes it.
setpriv_caps() { printf -- '-all'; for c in "$@"; do printf ',+%s' "$(echo "${c#CAP_}" | tr '[:upper:]' '[:lower:]')"; done; }

# start_packaged CAPS…: the installed daemon in xk-gw as root holding only CAPS (bounding,
# inheritable and ambient sets, as systemd sets them), NoNewPrivileges, our NOTIFY_SOCKET.
start_packaged() {
    local set
    set=$(setpriv_caps "$@")
    : >>"$WORK/daemon.log"
    "$LAB" exec xk-gw env NOTIFY_SOCKET="$WORK/notify.sock" setpriv --no-new-privs \
        --inh-caps="$set" --ambient-caps="$set" --bounding-set="$set" -- \
        /usr/sbin/xdpknockd -c "$WORK/config.json" --pin-root "$PIN_ROOT" \
        --run-dir "$WORK/run" >>"$WORK/daemon.log" 2>&1 9>&- &
    DAEMON_PID=$!
}

# notified N WHAT: the N-th datagram or later starts with WHAT (e.g. READY=1), within 10 s.
notified() {
    for _ in $(seq 100); do
        tail -n +"$1" "$WORK/notify.log" | grep -q "^$2" && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || { tail -n +"$1" "$WORK/notify.log" | grep -q "^$2"; return; }
        sleep 0.1
    done
    return 1
}
datagrams() { grep -c . "$WORK/notify.log"; }
# write_config SECRET LABEL: the lab config (0600), metrics on the gateway's loopback.
write_config() {
    cat >"$WORK/config.json.new" <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "metrics": {"listen": "127.0.0.1:$METRICS_PORT"},
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 60, "open": ["tcp/22"],
              "secrets": [{"label": "$2", "secret": "$1"}]}]
}
EOF2
    chmod 600 "$WORK/config.json.new"
    mv "$WORK/config.json.new" "$WORK/config.json"
}
# The daemon serves metrics in xk-gw: scrape there.
scrape() { in_ns xk-gw curl -sS --max-time 3 "http://127.0.0.1:$METRICS_PORT/metrics"; }
# accepted LABEL: the accepted-knocks sample of range lab and that secret label.
accepted() {
    scrape | awk -v l="secret=\"$1\"" 'index($1, "xdpknock_knocks_total{") == 1 && index($1, "range=\"lab\"") &&
        index($1, l) && index($1, "result=\"accepted\"") { n += $2; found = 1 } END { print n + 0; exit !found }'
}
redirect_counted() { local body; body=$(scrape) && grep -Eq 'decision="knock_redirect"[^ ]* [1-9]' <<<"$body"; }
knock_from() { printf '%s' "$2" | in_ns xk-client nc -u -w0 -s "$1" "$GW" 62201; }
man_renders() {
    MANPAGER=cat MANWIDTH=80 man xdpknockd 2>/dev/null | head -20 |
        grep -q 'xdpknockd - single packet authorization gateway'
}

# ---- steps

step_build_deb() {
    mkdir -p "$WORK/pkg"
    check "the packaged targets are built" sh -c \
        "cmake --build '$BUILD' --target xdpknockd xdpknock man >'$WORK/build.log' 2>&1"
    check "cpack -G DEB builds the package from $BUILD" \
        sh -c "cpack -G DEB -B '$WORK/pkg' --config '$BUILD/CPackConfig.cmake' >'$WORK/cpack.log' 2>&1"
    DEB=$(find "$WORK/pkg" -maxdepth 1 -name '*.deb' | head -1)
    check "one .deb came out ($DEB)" test -f "${DEB:-/nonexistent}"
    [ -f "${DEB:-}" ] || { cat "$WORK/cpack.log"; exit 1; }
    local depends
    depends=$(dpkg-deb -f "$DEB" Depends)
    echo "     Depends: $depends"
    for lib in libbpf1 libxdp1 libssl3 libsystemd0 libstdc++6; do
        check "Depends names $lib" sh -c "echo '$depends' | grep -q '\\b$lib\\b'"
    done
    check "Section is net" test "$(dpkg-deb -f "$DEB" Section)" = net
    check "Maintainer is set" test -n "$(dpkg-deb -f "$DEB" Maintainer)"
    check "Description is set" test -n "$(dpkg-deb -f "$DEB" Description)"
    dpkg-deb -c "$DEB" | awk '{print $6}' >"$WORK/contents"
    for f in ./usr/sbin/xdpknockd ./usr/bin/xdpknock "./usr/lib/systemd/system/xdpknockd.service" \
        ./usr/share/man/man8/xdpknockd.8.gz ./usr/share/man/man8/xdpknock.8.gz \
        ./usr/share/doc/xdpknock/examples/xdpknock.json; do
        check "the package holds $f" grep -qx "$f" "$WORK/contents"
    done
    check "no test tool in the package (xdpknock-gen, xdpknock-replay, xk-tun-peer)" \
        not_grep -E 'xdpknock-gen|xdpknock-replay|xk-tun-peer' "$WORK/contents"
}

step_install() {
    installed && dpkg -r "$PKG" >/dev/null 2>&1  # a run that died before its cleanup
    local rc
    dpkg -i "$DEB" >"$WORK/dpkg.log" 2>&1
    rc=$?
    check "dpkg -i installs it (exit $rc)" test "$rc" -eq 0
    check "... cleanly: no warning or error from dpkg" not_grep -Ei "warn|error" "$WORK/dpkg.log"
    [ "$rc" -eq 0 ] || cat "$WORK/dpkg.log"
    check "dpkg says: install ok installed" installed
}

step_man() {
    check "man -w xdpknockd finds the installed page" \
        test "$(man -w xdpknockd 2>/dev/null)" = /usr/share/man/man8/xdpknockd.8.gz
    check "man -w xdpknock finds the installed page" \
        test "$(man -w 8 xdpknock 2>/dev/null)" = /usr/share/man/man8/xdpknock.8.gz
    check "man xdpknockd renders its NAME section" man_renders
}

step_version() {
    local commit=unknown cli daemon
    if [ -e "$SOURCE/.git" ]; then commit=$(git -C "$SOURCE" rev-parse --short HEAD); fi
    cli=$(/usr/bin/xdpknock --version)
    daemon=$(/usr/sbin/xdpknockd --version)
    echo "     xdpknock --version: $cli"
    check "xdpknock --version prints version and commit" \
        sh -c "echo '$cli' | grep -Eq '^xdpknock [0-9]+\.[0-9]+\.[0-9]+ \($commit(-dirty)?\)$'"
    check "xdpknockd --version prints the same line" test "$daemon" = "$cli"
}

step_verify_unit() {
    check "systemd-analyze verify passes on the installed unit (no complaint at all)" \
        "$SOURCE/packaging/verify-unit.sh" "$UNIT"
    mapfile -t BOUNDING < <(unit_caps CapabilityBoundingSet)
    mapfile -t AMBIENT < <(unit_caps AmbientCapabilities)
    echo "     unit capabilities: ${BOUNDING[*]}"
    check "the unit names a capability set" test "${#BOUNDING[@]}" -gt 0
    check "AmbientCapabilities = CapabilityBoundingSet (root: the bounding set is what it holds)" \
        test "${AMBIENT[*]}" = "${BOUNDING[*]}"
    check "the unit sets NoNewPrivileges (emulated by setpriv --no-new-privs)" \
        grep -qx "NoNewPrivileges=yes" "$UNIT"
}

step_start() {
    lab_up 22
    for a in $NEVER $ROTATED $OLD_KEY; do client_alias "$a/24"; done
    write_config "$SECRET" package
    # The service manager's side of sd_notify: one line per datagram, fields joined by '|'.
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode(errors="replace").replace("\n", "|") + "\n")
' "$WORK/notify.sock" "$WORK/notify.log" 9>&- &
    LISTENER_PID=$!
    for _ in $(seq 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done
    touch "$WORK/notify.log"
    local before=$FAILS
    start_packaged "${BOUNDING[@]}"
    check "READY=1 arrives on NOTIFY_SOCKET under the unit's capabilities" notified 1 READY=1
    check "... with a STATUS= line for systemctl status" grep -q "^READY=1|STATUS=." "$WORK/notify.log"
    check "the daemon runs" kill -0 "$DAEMON_PID"
    [ "$FAILS" -eq "$before" ] || exit 1  # nothing after this can pass; finish prints the log
}

step_knock() {
    check "before the knock: the SYN is dropped by the gate" connect_dropped "$GW" 22
    knock_plain "$GW" "$SECRET"
    check "after the knock: the SYN passes" connect_ok "$GW" 22
}

# Prometheus over HTTP from the installed daemon: the knock counted exactly once.
step_metrics() {
    check "metrics: the knock is one accepted knock of range lab, secret package" \
        at_least 5 1 accepted package
    check "... exactly one" test "$(accepted package)" -eq 1
    check "... and the gate's redirect counter moved" redirect_counted
    check "... never the secret" not_grep -qF "$SECRET" <(scrape)
}

# A rotated key by `xdpknock reload` (the installed CLI, as ExecReload's SIGHUP would).
step_reload() {
    local n
    n=$(datagrams)
    write_config "$SECRET2" rotated
    check "xdpknock reload -c (installed) applies the rotated key" \
        /usr/bin/xdpknock reload --run-dir "$WORK/run" -c "$WORK/config.json"
    check "RELOADING=1 then READY=1 on NOTIFY_SOCKET" notified $((n + 1)) RELOADING=1
    check "... READY=1 after it" notified $((n + 2)) READY=1
    knock_from "$ROTATED" "$SECRET2"
    check "the new secret opens" connect_ok_from "$ROTATED" "$GW" 22
    knock_from "$OLD_KEY" "$SECRET"
    check "the old secret is refused" connect_dropped "$GW" 22 "$OLD_KEY"
    check "the grant made before the reload still passes" connect_ok "$GW" 22
    check "metrics: one accepted knock for the rotated label" at_least 5 1 accepted rotated
}

step_stop() {
    local n
    n=$(datagrams)
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID"
    check "SIGTERM: the daemon exits 0" test $? -eq 0
    DAEMON_PID=
    check "STOPPING=1 was sent before the exit" notified $((n + 1)) STOPPING=1
    check "stop leaves the gate attached" xdp_attached
    check "stop leaves the gate closed: a never-knocked source is dropped" \
        connect_dropped "$GW" 22 "$NEVER"
}

# The restart adopts the gate the stop left: this is what needs CAP_SYS_ADMIN (telling our
# own program from a foreign one by its id).
step_restart() {
    local n
    n=$(datagrams)
    start_packaged "${BOUNDING[@]}"
    check "restart under the unit's capabilities: READY=1 again (the left gate adopted)" \
        notified $((n + 1)) READY=1
    check "the grant from before the restart still passes" connect_ok "$GW" 22
    stop_daemon
}

# The harness really restricts: one capability less and the start fails, naming why.
step_one_cap_less() {
    local less=() c rc
    for c in "${BOUNDING[@]}"; do [ "$c" = CAP_NET_RAW ] || less+=("$c"); done
    : >"$WORK/daemon.log"
    start_packaged "${less[@]}"
    wait "$DAEMON_PID"
    rc=$?
    DAEMON_PID=
    check "without CAP_NET_RAW the start fails (exit $rc)" test "$rc" -ne 0
    check "... naming the AF_XDP socket (UMEM)" grep -q "cannot create UMEM" "$WORK/daemon.log"
    check "... and the gate it found stays attached" xdp_attached
}

step_detach() {
    check "xdpknock detach (installed) removes the gate" \
        in_ns xk-gw /usr/bin/xdpknock --pin-root "$PIN_ROOT" detach gw-out
    check "no XDP program on gw-out any more" xdp_detached
    check "the port answers a never-knocked source" connect_ok_from "$NEVER" "$GW" 22
}

# The nftables gate under the same capabilities (CAP_NET_ADMIN for the table, CAP_NET_RAW for
# the AF_PACKET knock sockets), after the XDP gate came off.
step_nftables() {
    local n
    jq '.interfaces[0].gate = "nftables"' "$WORK/config.json" >"$WORK/config.json.new"
    chmod 600 "$WORK/config.json.new"
    mv "$WORK/config.json.new" "$WORK/config.json"
    n=$(datagrams)
    start_packaged "${BOUNDING[@]}"
    check "nftables gate under the unit's capabilities: READY=1" notified $((n + 1)) READY=1
    check "... a never-knocked source is dropped by the chain" connect_dropped "$GW" 22 "$NEVER"
    knock_from "$NEVER" "$SECRET2"
    check "... a knock over AF_PACKET opens the port" connect_ok_from "$NEVER" "$GW" 22
    stop_daemon
    check "xdpknock detach (installed) removes the nftables gate" \
        in_ns xk-gw /usr/bin/xdpknock --pin-root "$PIN_ROOT" detach gw-out
}

step_remove() {
    check "dpkg -r removes it" sh -c "dpkg -r '$PKG' >'$WORK/dpkg-r.log' 2>&1"
    check "no package left" not_installed
    check "binaries, unit and man pages gone" installed_files_gone
}

STEPS=(build_deb install man version verify_unit start knock metrics reload stop restart one_cap_less detach
    nftables remove)
for step in "${STEPS[@]}"; do
    echo "--- $step"
    "step_$step"
done
