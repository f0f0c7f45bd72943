#!/usr/bin/env bash
# The real thing in the lab: a hidden service, a blocked connect, a knock, a connect
# that works, and the authorization as the gate and bpftool see it.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
lab="$root/scripts/lab.sh"
work=$(mktemp -d /tmp/xdpknock-demo.XXXXXX)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ ! -x "$build/userspace/daemon/xdpknockd" ]; then
    "$root/scripts/install-deps.sh"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" --target xdpknockd xdpknock >/dev/null
fi
xdpknockd="$build/userspace/daemon/xdpknockd"
xdpknock="$build/userspace/cli/xdpknock"

cleanup() {
    [ -n "${daemon:-}" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    "$lab" down >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

say "lab: client -> gw (XDP on gw-out) -> lan"
exec 9>/run/xdpknock-lab.lock  # one lab per machine: wait for a test that holds it
flock -w 900 9
"$lab" up
"$lab" exec xk-gw sh -c 'nc -4 -lk -p 8080 >/dev/null 2>&1 & nc -6 -lk -p 8080 >/dev/null 2>&1 &' 9>&-

install -m 600 "$root/examples/xdpknock.json" "$work/config.json"
say "xdpknockd --config examples/xdpknock.json (on gw)"
"$lab" exec xk-gw "$xdpknockd" --config "$work/config.json" --run-dir "$work/run" \
    >"$work/daemon.log" 2>&1 9>&- &
daemon=$!
for _ in $(seq 50); do grep -q "xdpknockd running" "$work/daemon.log" && break; sleep 0.1; done
cat "$work/daemon.log"

say "client: nc -z -w2 10.99.0.1 8080 (the NAS port, hidden)"
if "$lab" exec xk-client nc -z -w2 10.99.0.1 8080; then echo "connected?!"; exit 1; fi
echo "blocked: the SYN was dropped at XDP, nothing answered"

say "client: xdpknock send 10.99.0.1 --secret '…'"
"$lab" exec xk-client "$xdpknock" send 10.99.0.1 --secret "correct horse battery staple"
sleep 0.2
tail -1 "$work/daemon.log"

say "client: nc -z -w2 10.99.0.1 8080"
"$lab" exec xk-client nc -z -v -w2 10.99.0.1 8080

sleep 1.1  # the daemon refreshes its queue stats each second
say "gw: xdpknock status"
"$lab" exec xk-gw "$xdpknock" status --run-dir "$work/run"

say "gw: bpftool map dump pinned /sys/fs/bpf/xdpknock/gw-out/authorized"
bpftool map dump pinned /sys/fs/bpf/xdpknock/gw-out/authorized
