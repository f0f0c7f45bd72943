#!/usr/bin/env bash
# Idle memory in the lab, side by side in one run: xdpknockd on examples/xdpknock.json (its
# state_dir moved to a scratch folder) attached to gw-out (2 rx queues), and fwknopd 2.6.10
# sniffing gw-out (one stanza, HMAC), each left idle for a few seconds. RSS is read from
# /proc/PID/smaps_rollup; xdpknockd's biggest mappings are listed so the bytes can be placed.
#
#   bench/memory.sh [--build DIR] [--json OUT] [--config FILE] [--idle SECONDS]
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" json=/dev/stdout config="$root/examples/xdpknock.json" idle=3
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --json) json=$2; shift 2 ;;
        --config) config=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        *) echo "usage: $0 [--build DIR] [--json OUT] [--config FILE] [--idle SECONDS]" >&2; exit 2 ;;
    esac
done
lab="$root/scripts/lab.sh"
xdpknockd="$build/userspace/daemon/xdpknockd" xdpknock="$build/userspace/cli/xdpknock"
for f in "$xdpknockd" "$xdpknock"; do
    [ -x "$f" ] || { echo "missing $f (cmake --build $build)" >&2; exit 2; }
done
command -v fwknopd >/dev/null && command -v jq >/dev/null ||
    { echo "needs fwknopd and jq (scripts/install-deps.sh)" >&2; exit 2; }
work=$(mktemp -d /tmp/xdpknock-memory.XXXXXX)
pins=/sys/fs/bpf/xdpknock-memory
daemon= fw=
cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    [ -n "$fw" ] && kill -TERM "$fw" 2>/dev/null && wait "$fw" 2>/dev/null
    "$lab" exec xk-gw "$xdpknock" --pin-root "$pins" detach gw-out >/dev/null 2>&1 || true
    "$lab" down >/dev/null
    rm -rf "$work" "$pins"
}
# One lab per machine: hold its lock for the whole run (the tests take it too).
exec 9>/run/xdpknock-lab.lock
flock -w 900 9 || { echo "the lab stayed busy for 15 minutes" >&2; exit 1; }
trap cleanup EXIT
"$lab" up >/dev/null

# rss_kb PID: resident KiB (Rss of smaps_rollup: every mapping, shared libraries included).
rss_kb() { awk '/^Rss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
# top_mappings PID: the ten biggest resident mappings, "KiB name".
top_mappings() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6) }
         /^Rss:/ { rss[name] += $2 }
         END { for (n in rss) printf "%d %s\n", rss[n], n }' "/proc/$1/smaps" | sort -rn | head -10
}

jq --arg state "$work/state" '.state_dir = $state' "$config" >"$work/config.json"
chmod 600 "$work/config.json"
"$lab" exec xk-gw "$xdpknockd" -c "$work/config.json" --pin-root "$pins" --run-dir "$work/run" \
    >"$work/xdpknockd.log" 2>&1 9>&- &
daemon=$!
for _ in $(seq 100); do grep -q "xdpknockd running" "$work/xdpknockd.log" && break; sleep 0.1; done
grep -q "xdpknockd running" "$work/xdpknockd.log" ||
    { cat "$work/xdpknockd.log" >&2; echo "xdpknockd did not start" >&2; exit 1; }
sleep "$idle"
xk_rss=$(rss_kb "$daemon")
xk_top=$(top_mappings "$daemon")
xk_threads=$(ls "/proc/$daemon/task" | wc -l)
xk_log=$(grep -m1 "gate attached" "$work/xdpknockd.log" | sed 's/^.*gw-out: //')
kill -TERM "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=
# A stopped daemon leaves its gate closed: remove it before fwknopd sniffs the link.
"$lab" exec xk-gw "$xdpknock" --pin-root "$pins" detach gw-out >/dev/null

(umask 077
 printf 'PCAP_INTF gw-out;\nPCAP_FILTER udp port 62201;\n' >"$work/fwknopd.conf"
 printf 'SOURCE ANY\nKEY_BASE64 %s\nHMAC_KEY_BASE64 %s\nFW_ACCESS_TIMEOUT 30\n' \
     "$(head -c 32 /dev/urandom | base64 -w0)" "$(head -c 64 /dev/urandom | base64 -w0)" \
     >"$work/access.conf")
mkdir -p "$work/fw"
"$lab" exec xk-gw fwknopd -f -t -c "$work/fwknopd.conf" -a "$work/access.conf" \
    -d "$work/fw/digest.cache" -p "$work/fw/pid" -r "$work/fw" >"$work/fwknopd.log" 2>&1 9>&- &
fw=$!
sleep "$idle"
fw_pid=$(cat "$work/fw/pid" 2>/dev/null || echo "$fw")
fw_rss=$(rss_kb "$fw_pid")
kill -TERM "$fw" 2>/dev/null
wait "$fw" 2>/dev/null || true
fw=

ratio=$(awk -v a="$xk_rss" -v b="$fw_rss" 'BEGIN { printf "%.2f", a / b }')
jq -n --argjson xk "$xk_rss" --argjson fw "$fw_rss" --argjson threads "$xk_threads" \
    --arg top "$xk_top" --arg attached "$xk_log" --argjson ratio "$ratio" \
    --arg config "${config#"$root"/}" --argjson idle "$idle" '{
  how: "bench/memory.sh: idle \($idle) s in the lab (gw-out, 2 rx queues), Rss of /proc/PID/smaps_rollup",
  config: $config,
  xdpknockd: {rss_kb: $xk, threads: $threads, attached: $attached,
              top_mappings_kb: ($top | split("\n") | map(select(length > 0) | split(" ") | {kb: (.[0] | tonumber), mapping: .[1]}))},
  fwknopd: {rss_kb: $fw, conf: "PCAP_INTF gw-out; PCAP_FILTER udp port 62201; one stanza (HMAC)"},
  ratio: $ratio,
  goal_16mb: (if $xk <= 16384 then "met" else "not met" end)
}' >"$json"
echo "idle RSS: xdpknockd $xk_rss KiB ($xk_threads threads), fwknopd $fw_rss KiB, ratio ${ratio}x" >&2
