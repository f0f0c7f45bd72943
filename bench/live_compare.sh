#!/usr/bin/env bash
# Live, on the lab's veth, in one run: K valid fko knocks from K distinct sources, sent while
# fko-shaped junk from spoofed sources floods the knock port at each chosen rate. Counts what
# each receiver authorized: xdpknockd (XDP + AF_XDP on gw-out) and fwknopd 2.6.10 (-t, libpcap
# on gw-out, PCAP_LOOP_SLEEP 1 so it runs as fast as it can). Writes
# bench/results/<date>-live.{json,md,png}. All traffic stays in the lab (scripts/lab.sh).
#
#   bench/live_compare.sh [--build DIR] [--out DIR] [--knocks 500] [--seconds 4]
#                         [--rates "none 50000 100000 200000 300000 max"] [--smoke]
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" out="$root/bench/results" knocks=500 seconds=4
rates="none 50000 100000 200000 300000 max"
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --knocks) knocks=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rates) rates=$2; shift 2 ;;
        --smoke) knocks=50 seconds=1 rates="none max"; shift ;;
        *) echo "usage: $0 [--build DIR] [--out DIR] [--knocks N] [--seconds S] [--rates LIST] [--smoke]" >&2; exit 2 ;;
    esac
done
lab="$root/scripts/lab.sh"
xdpknockd="$build/userspace/daemon/xdpknockd" xdpknock="$build/userspace/cli/xdpknock"
gen="$build/bench/gen/xdpknock-gen" replay="$build/bench/replay/xdpknock-replay"
for f in "$xdpknockd" "$xdpknock" "$gen" "$replay"; do
    [ -x "$f" ] || { echo "missing $f (cmake --build $build)" >&2; exit 2; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/xdpknock-live.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    "$lab" exec xk-gw pkill -x fwknopd 2>/dev/null || true
    "$lab" down >/dev/null
    rm -rf "$work" /sys/fs/bpf/xdpknock-live
}
step() { printf '== %s\n' "$*" >&2; }

# One lab per machine: hold its lock for the whole run (the tests take it too).
exec 9>/run/xdpknock-lab.lock
flock -w 900 9 || { echo "the lab stayed busy for 15 minutes" >&2; exit 1; }
trap cleanup EXIT
"$lab" up >/dev/null
gw_mac=$("$lab" exec xk-gw ip -br link show gw-out | awk '{print $3}')
port=62201
(umask 077 && cat >"$work/config.json") <<CONFIG
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "knock_rate": {"per_source_pps": 1000, "burst": 1000},
  "state_dir": "$work/state",
  "ranges": [{"name": "live", "method": "fko", "port": $port, "timeout": 300, "open": ["tcp/22"],
              "secrets": [{"label": "live", "key_base64": "$(head -c 32 /dev/urandom | base64 -w0)",
                           "hmac_key_base64": "$(head -c 64 /dev/urandom | base64 -w0)"}]}]
}
CONFIG
(umask 077 && printf 'PCAP_INTF gw-out;\nPCAP_FILTER udp port %s;\nPCAP_LOOP_SLEEP 1;\n' "$port" >"$work/fwknopd.conf")

# send_mix RATE: the junk flood (unless "none") and, half a second into it, the valid knocks
# at a gentle 500/s, each from its own source in 10.99.64.0/18. Prints the junk sender's JSON.
send_mix() {
    local rate=$1 junk_json='{}' junk=
    if [ "$rate" != none ]; then
        local r=$rate
        [ "$r" = max ] && r=0
        "$lab" exec xk-client "$replay" -i xk-c --dst-mac "$gw_mac" --fko-junk 65536 \
            --junk-net 10.99.128.0/17 --junk-dst 10.99.0.1 --port "$port" --seed 7 \
            --rate "$r" --count 1000000000 --seconds "$flood_seconds" >"$work/junk.json" &
        junk=$!
        sleep 0.5
    fi
    "$lab" exec xk-client "$replay" -i xk-c --dst-mac "$gw_mac" --pcap "$work/valid.pcap" \
        --src-net 10.99.64.0/18 --rate 500 --seconds 60 >/dev/null
    if [ -n "$junk" ]; then
        wait "$junk"
        junk_json=$(cat "$work/junk.json")
    fi
    sleep 1  # let the receivers drain
    echo "$junk_json"
}

# The flood outlasts the valid knocks (sent at 500/s, half a second in): it loops its pool.
flood_seconds=$(awk -v k="$knocks" -v s="$seconds" 'BEGIN { t = k / 500 + 1; print (t > s ? t : s) }')
results=()
for rate in $rates; do
    # Fresh knocks per point, stamped now, so the time window never refuses them.
    "$gen" --config "$work/config.json" --range live --out "$work/valid.pcap" --seed "$RANDOM" \
        --fko "$knocks" --ipv6-share 0 --fwknopd-access "$work/access.conf" >/dev/null

    step "xdpknockd, flood $rate pps"
    rm -rf "$work/state" "$work/run"
    "$lab" exec xk-gw "$xdpknockd" -c "$work/config.json" --pin-root /sys/fs/bpf/xdpknock-live \
        --run-dir "$work/run" >"$work/xdpknockd.log" 2>&1 9>&- &
    daemon=$!
    for _ in $(seq 50); do grep -q "xdpknockd running" "$work/xdpknockd.log" && break; sleep 0.1; done
    junk=$(send_mix "$rate")
    status=$("$lab" exec xk-gw "$xdpknock" --pin-root /sys/fs/bpf/xdpknock-live status --json \
        --run-dir "$work/run")
    xk_auth=$(jq '[.interfaces[].authorized[]] | length' <<<"$status")
    xk_counters=$(jq -c '.interfaces[0].counters' <<<"$status")
    kill -TERM "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
    # A stopped daemon leaves its gate closed: remove it, or fwknopd's libpcap sees no knock
    # and the next run adopts this run's grants.
    "$lab" exec xk-gw "$xdpknock" --pin-root /sys/fs/bpf/xdpknock-live detach gw-out >/dev/null

    step "fwknopd, flood $rate pps"
    mkdir -p "$work/fw"
    "$lab" exec xk-gw fwknopd -f -t -c "$work/fwknopd.conf" -a "$work/access.conf" \
        -d "$work/fw/digest.cache" -p "$work/fw/pid" -r "$work/fw" >"$work/fwknopd.log" 2>&1 9>&- &
    fw=$!
    sleep 1.5  # time for fwknopd to open libpcap on gw-out
    send_mix "$rate" >/dev/null
    fw_auth=$(grep -c -- "--test mode enabled, skipping firewall manipulation" "$work/fwknopd.log" || true)
    kill -TERM "$fw" 2>/dev/null
    wait "$fw" 2>/dev/null || true

    results+=("$(jq -n --arg rate "$rate" --argjson junk "$junk" --argjson xk "$xk_auth" \
        --argjson fw "$fw_auth" --argjson knocks "$knocks" --argjson counters "$xk_counters" \
        '{flood: $rate, junk: $junk, knocks_sent: $knocks, xdpknockd_authorized: $xk,
          fwknopd_authorized: $fw, xdpknockd_counters: $counters}')")
done

stamp="$(date -u +%Y-%m-%d)-live"
printf '%s\n' "${results[@]}" | jq -s --arg cmd "bench/live_compare.sh --knocks $knocks --seconds $seconds --rates \"$rates\"" \
    '{command: $cmd, fwknopd_conf: "PCAP_INTF gw-out; PCAP_FILTER udp port 62201; PCAP_LOOP_SLEEP 1; -t",
      points: .}' >"$out/$stamp.json"
{
    echo "# Live on the lab veth: valid knocks authorized while junk floods the knock port"
    echo
    echo "\`$(jq -r .command "$out/$stamp.json")\` — $knocks valid fko knocks (distinct sources, 500/s)"
    echo "sent while fko-shaped junk from 65,536 spoofed sources floods udp/$port for ${flood_seconds}s."
    echo
    echo "| flood target | junk offered (pps reached) | xdpknockd authorized | fwknopd authorized |"
    echo "|---|---:|---:|---:|"
    jq -r '.points[] | "| \(.flood) | \(.junk.offered // 0) (\(.junk.rate_pps // 0 | floor)) | \(.xdpknockd_authorized) / \(.knocks_sent) | \(.fwknopd_authorized) / \(.knocks_sent) |"' "$out/$stamp.json"
} >"$out/$stamp.md"
jq -r '.points[] | "\(.junk.rate_pps // 0) \(.xdpknockd_authorized) \(.fwknopd_authorized)"' \
    "$out/$stamp.json" >"$work/plot.dat"
gnuplot <<PLOT
set terminal pngcairo size 800,480 noenhanced
set output "$out/$stamp.png"
set title "Valid knocks authorized vs junk flood on the knock port ($knocks sent)"
set xlabel "junk flood reached (packets/s)"
set ylabel "valid knocks authorized"
set yrange [0:$knocks * 1.05]
set key bottom left
set grid
plot "$work/plot.dat" using 1:2 with linespoints lw 2 title "xdpknockd (XDP + AF_XDP)", \
     "$work/plot.dat" using 1:3 with linespoints lw 2 title "fwknopd 2.6.10 (libpcap)"
PLOT
echo "wrote $out/$stamp.json $out/$stamp.md $out/$stamp.png" >&2
