#!/usr/bin/env bash
# Connect time to a gated service from the lab client, side by side in one run:
#   agent:  `xdpknock agent` running, a plain `nc -z` (the agent holds the SYN, knocks, sends
#           it again); fresh_s is 1 and each connect waits it out, so every one needs a knock;
#   manual: `xdpknock send` then `nc -z` at once (what a script does), the grant revoked
#           after each, so every one needs a knock too.
# Reports p50/p99 of each in milliseconds (JSON), the count of connects that needed TCP's own
# SYN retransmission (a second or more), and the agent's difference to the manual path.
#
#   bench/agent_connect.sh [--build DIR] [--json OUT] [--connects N]
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" json=/dev/stdout n=30
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --json) json=$2; shift 2 ;;
        --connects) n=$2; shift 2 ;;
        *) echo "usage: $0 [--build DIR] [--json OUT] [--connects N]" >&2; exit 2 ;;
    esac
done
lab="$root/scripts/lab.sh"
xdpknockd="$build/userspace/daemon/xdpknockd" xdpknock="$build/userspace/cli/xdpknock"
work=$(mktemp -d /tmp/xdpknock-agent-bench.XXXXXX)
pins=/sys/fs/bpf/xdpknock-agent-bench
daemon= agent=
cleanup() {
    for p in $agent $daemon; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    "$lab" exec xk-gw "$xdpknock" --pin-root "$pins" detach gw-out >/dev/null 2>&1 || true
    "$lab" down >/dev/null
    rm -rf "$work" "$pins"
}
exec 9>/run/xdpknock-lab.lock
flock -w 900 9 || { echo "the lab stayed busy for 15 minutes" >&2; exit 1; }
trap cleanup EXIT
"$lab" up >/dev/null
"$lab" exec xk-gw sh -c 'nc -4 -lk -p 22 >/dev/null 2>&1 &' 9>&-

key=$(head -c 32 /dev/urandom | base64 -w0) hkey=$(head -c 64 /dev/urandom | base64 -w0)
umask 077
cat >"$work/gw.json" <<EOF
{"interfaces": [{"name": "gw-out"}], "services": [{"name": "ssh", "port": "tcp/22"}],
 "state_dir": "$work/state",
 "ranges": [{"name": "fw", "method": "fko", "port": 62201, "timeout": 30, "open": ["tcp/22"],
             "proof_ip": true, "secrets": [{"label": "k", "key_base64": "$key",
             "hmac_key_base64": "$hkey", "hmac": "sha256"}]}]}
EOF
cat >"$work/agent.json" <<EOF
{"remotes": [{"name": "gw", "gateway": "10.99.0.1", "services": ["tcp/22"], "method": "fko",
  "key_base64": "$key", "hmac_key_base64": "$hkey", "hmac": "sha256", "fresh_s": 1}]}
EOF
printf 'KEY_BASE64 %s\nHMAC_KEY_BASE64 %s\n' "$key" "$hkey" >"$work/keys"

wait_for() { for _ in $(seq 100); do grep -q "$1" "$2" && return 0; sleep 0.1; done; cat "$2" >&2; exit 1; }
"$lab" exec xk-gw "$xdpknockd" -c "$work/gw.json" --pin-root "$pins" --run-dir "$work/run" \
    >"$work/xdpknockd.log" 2>&1 9>&- &
daemon=$!
wait_for "xdpknockd running" "$work/xdpknockd.log"

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
connect() { "$lab" exec xk-client nc -z -w5 10.99.0.1 22; }

"$lab" exec xk-client "$xdpknock" agent -c "$work/agent.json" -i xk-c >"$work/agent.log" 2>&1 9>&- &
agent=$!
wait_for "agent running" "$work/agent.log"
: >"$work/agent.ms"
for _ in $(seq "$n"); do
    sleep 1.1  # past fresh_s: the next connect needs a knock
    t0=$(date +%s%N)
    connect && ms_since "$t0" >>"$work/agent.ms"
done
kill -TERM "$agent" && wait "$agent" 2>/dev/null || true
agent=

: >"$work/manual.ms"
for _ in $(seq "$n"); do
    "$lab" exec xk-gw "$xdpknock" --pin-root "$pins" revoke 10.99.0.2 -i gw-out >/dev/null
    t0=$(date +%s%N)
    "$lab" exec xk-client "$xdpknock" send 10.99.0.1 -m fko --key-file "$work/keys" -A tcp/22 &&
        connect && ms_since "$t0" >>"$work/manual.ms"
done

stats() {  # stats FILE: {"n", "p50", "p99", "over_1s"} of the millisecond samples
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]; o = 0
        for (i = 1; i <= NR; i++) if (v[i] >= 1000) o++
        printf "{\"n\": %d, \"p50_ms\": %d, \"p99_ms\": %d, \"over_1s\": %d}", NR, p50, p99, o }'
}
a=$(stats "$work/agent.ms") m=$(stats "$work/manual.ms")
jq -n --argjson agent "$a" --argjson manual "$m" --arg knocks "$(grep -c 'agent: knocked' "$work/agent.log")" \
    '{agent: $agent, manual: $manual, agent_knocks: ($knocks | tonumber),
      agent_minus_manual_p50_ms: ($agent.p50_ms - $manual.p50_ms),
      agent_minus_manual_p99_ms: ($agent.p99_ms - $manual.p99_ms)}' >"$json"
