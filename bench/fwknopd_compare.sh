#!/usr/bin/env bash
# xdpknockd against fwknopd 2.6.10 on the same capture, offline, in one run:
#   fwknopd -f -t --pcap-file (PCAP_LOOP_SLEEP 1, i.e. as fast as it goes), timed from start
#   to exit at the end of the file; `xdpknockd --pcap F --dry-run -q` with one worker and with
#   --workers N (fwknopd is one thread; the dry run judges on the daemon's worker code), the
#   three taken in turns each round so they share the machine's noise; then fwknopd with its
#   default loop sleep on a smaller capture, as it runs out of the box.
# Writes bench/results/<date>-fwknopd-offline.{md,json}. Needs fwknopd, jq and a build with
# xdpknockd and xdpknock-gen (cmake --build BUILD --target xdpknockd xdpknock-gen).
#
# Usage: bench/fwknopd_compare.sh [--knocks 50000] [--small 5000] [--runs 3] [--workers 2]
#                                 [--build DIR] [--results DIR] [--xdpknockd PATH]
# CI smoke: bench/fwknopd_compare.sh --knocks 500 --small 200 --runs 1 --results /tmp/x
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
knocks=50000 small=5000 runs=3 workers=2 build="${BUILD_DIR:-$root/build}" results="$root/bench/results"
xdpknockd=
while [ $# -gt 0 ]; do
    case $1 in
        --workers) workers=$2; shift 2 ;;
        --xdpknockd) xdpknockd=$2; shift 2 ;;
        --knocks) knocks=$2; shift 2 ;;
        --small) small=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --results) results=$2; shift 2 ;;
        *) echo "usage: $0 [--knocks N] [--small N] [--runs K] [--workers N] [--build DIR] [--results DIR] [--xdpknockd PATH]" >&2
           exit 2 ;;
    esac
done
xdpknockd=${xdpknockd:-$build/userspace/daemon/xdpknockd}
gen="$build/bench/gen/xdpknock-gen"
for f in "$xdpknockd" "$gen"; do
    [ -x "$f" ] || { echo "missing $f: cmake --build $build --target xdpknockd xdpknock-gen" >&2; exit 2; }
done
command -v fwknopd >/dev/null && command -v jq >/dev/null ||
    { echo "needs fwknopd and jq (scripts/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/xk-fwknopd-compare.XXXXXX)
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT
port=62201

# One fko range, sha256 HMAC, cbc: fwknop's defaults.
(umask 077 && cat >"$work/config.json") <<EOF
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "bench", "method": "fko", "port": $port, "timeout": 30, "open": ["tcp/22"],
              "secrets": [{"label": "bench", "key_base64": "$(head -c 32 /dev/urandom | base64 -w0)",
                           "hmac_key_base64": "$(head -c 64 /dev/urandom | base64 -w0)",
                           "hmac": "sha256", "mode": "cbc"}]}]
}
EOF

now_ns() { date +%s%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# fwknopd_conf SLEEP_US FILE: a private fwknopd.conf (it warns about anything wider).
fwknopd_conf() {
    (umask 077 && printf 'PCAP_FILTER udp port %s;\n%s' "$port" \
        "${1:+PCAP_LOOP_SLEEP $1;$'\n'}" >"$2")
}

# run_fwknopd PCAP PACKETS CONF LOG: prints wall seconds. fwknopd never exits at the end of
# a capture file on its own; -C PACKETS (frames that pass its filter) makes it.
fwknopd_cmd() {
    echo "fwknopd -f -t -C $2 --pcap-file $1 -a $work/access.conf -c $3" \
         "-d $work/run/digest.cache -p $work/run/fwknopd.pid -r $work/run"
}
run_fwknopd() {
    mkdir -p "$work/run"
    local start end
    start=$(now_ns)
    # shellcheck disable=SC2046
    timeout 280 $(fwknopd_cmd "$1" "$2" "$3") >"$4" 2>&1
    end=$(now_ns)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}
fwknopd_accepted() { grep -c -- "--test mode enabled, skipping firewall manipulation" "$1" || true; }

big="$work/knocks-$knocks.pcap" little="$work/knocks-$small.pcap"
# Commands as recorded: $WORK is the scratch folder (mktemp), CONFIG its config.json.
show() { sed "s|$work|\$WORK|g; s|$root/||g"; }
gen_cmd=$(show <<<"$gen --config CONFIG --range bench --out $big --seed 1 --fko $knocks --ipv6-share 0 --fwknopd-access $work/access.conf")
"$gen" --config "$work/config.json" --range bench --out "$big" --seed 1 --fko "$knocks" \
    --ipv6-share 0 --fwknopd-access "$work/access.conf" >/dev/null
"$gen" --config "$work/config.json" --range bench --out "$little" --seed 2 --fko "$small" \
    --ipv6-share 0 >/dev/null
fwknopd_conf 1 "$work/fast.conf"
fwknopd_conf "" "$work/default.conf"

# An xdpknockd without --workers (older) is measured with one worker only.
"$xdpknockd" --help 2>&1 | grep -q -- --workers || workers=1
# run_xdpknockd WORKERS: one dry run; appends wall seconds, own rate and accepted to xk_*_W.
run_xdpknockd() {
    local w=$1 start end summary
    start=$(now_ns)
    summary=$("$xdpknockd" --config "$work/config.json" --pcap "$big" --dry-run -q \
        $([ "$w" -gt 1 ] && echo --workers "$w") | jq -c .summary)
    end=$(now_ns)
    eval "xk_wall_$w+=(\"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }')\")"
    eval "xk_kps_$w+=(\"$(jq -r .knocks_per_second <<<"$summary")\")"
    eval "xk_acc_$w+=(\"$(jq -r .accepted <<<"$summary")\")"
}
# Each round: fwknopd (it judges knock times against the wall clock; the capture was made
# "now", well inside its window for the whole run), then xdpknockd with 1 and N workers.
echo "fwknopd (PCAP_LOOP_SLEEP 1), xdpknockd --pcap --dry-run -q (1 and $workers workers), $knocks knocks x $runs rounds"
fw_times=() fw_acc=() xk_wall_1=() xk_kps_1=() xk_acc_1=()
eval "xk_wall_$workers=() xk_kps_$workers=() xk_acc_$workers=()"
for ((r = 0; r < runs; r++)); do
    fw_times+=("$(run_fwknopd "$big" "$knocks" "$work/fast.conf" "$work/fwknopd-fast.log")")
    fw_acc+=("$(fwknopd_accepted "$work/fwknopd-fast.log")")
    run_xdpknockd 1
    [ "$workers" -gt 1 ] && run_xdpknockd "$workers"
done
echo "fwknopd, default PCAP_LOOP_SLEEP, $small knocks"
fw_default_time=$(run_fwknopd "$little" "$small" "$work/default.conf" "$work/fwknopd-default.log")
fw_default_acc=$(fwknopd_accepted "$work/fwknopd-default.log")

fw_time=$(printf '%s\n' "${fw_times[@]}" | median)
xk_wall=("${xk_wall_1[@]}") xk_kps=("${xk_kps_1[@]}") xk_acc=("${xk_acc_1[@]}")
eval "xkw_wall=(\"\${xk_wall_$workers[@]}\") xkw_kps=(\"\${xk_kps_$workers[@]}\") xkw_acc=(\"\${xk_acc_$workers[@]}\")"
xk_time=$(printf '%s\n' "${xk_wall[@]}" | median)
xk_inner=$(printf '%s\n' "${xk_kps[@]}" | median | xargs printf '%.1f')
xkw_time=$(printf '%s\n' "${xkw_wall[@]}" | median)
xkw_inner=$(printf '%s\n' "${xkw_kps[@]}" | median | xargs printf '%.1f')
fw_min_acc=$(printf '%s\n' "${fw_acc[@]}" | sort -n | head -1)
xk_min_acc=$(printf '%s\n' "${xk_acc[@]}" | sort -n | head -1)
xkw_min_acc=$(printf '%s\n' "${xkw_acc[@]}" | sort -n | head -1)
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }
fw_kps=$(calc "$knocks / $fw_time")
xk_kps_wall=$(calc "$knocks / $xk_time")
xkw_kps_wall=$(calc "$knocks / $xkw_time")
fw_default_kps=$(calc "$small / $fw_default_time")
ratio=$(calc "$xk_kps_wall / $fw_kps")
ratio_inner=$(calc "$xk_inner / $fw_kps")
ratio_workers=$(calc "$xkw_kps_wall / $fw_kps")
ratio_workers_inner=$(calc "$xkw_inner / $fw_kps")
# The product's answer (N workers, start to exit) is what the goal is judged on.
goal=$(awk -v r="$ratio_workers" 'BEGIN { print (r >= 10 ? "met" : "not met") }')

host_cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
fw_version=$(fwknopd --version 2>&1 | head -1)
fw_pkg=$(dpkg-query -W -f='${Version}' fwknop-server 2>/dev/null || echo unknown)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || rev="$rev+uncommitted"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load=$(cut -d' ' -f1-3 /proc/loadavg)  # the host may be shared: figures are noisier under load
xk_cmd=$(show <<<"$xdpknockd --config CONFIG --pcap $big --dry-run -q")
xkw_cmd=$(show <<<"$xdpknockd --config CONFIG --pcap $big --dry-run -q --workers $workers")

mkdir -p "$results"
base="$results/$(date -u +%Y-%m-%d)-fwknopd-offline"
jq -n --arg date "$date_utc" --arg kernel "$(uname -r)" --arg cpu "$host_cpu" \
    --argjson nproc "$(nproc)" --arg debian "$(cat /etc/debian_version)" \
    --arg load "$load" --arg fwknopd "$fw_version ($fw_pkg)" --arg rev "$rev" --arg build_type "$build_type" \
    --argjson knocks "$knocks" --argjson small "$small" --argjson runs "$runs" \
    --arg gen_cmd "$gen_cmd" --arg fw_cmd "$(fwknopd_cmd "$big" "$knocks" FAST_CONF | show)" \
    --arg fw_default_cmd "$(fwknopd_cmd "$little" "$small" DEFAULT_CONF | show)" --arg xk_cmd "$xk_cmd" \
    --argjson fw_times "$(printf '%s\n' "${fw_times[@]}" | jq -s .)" \
    --argjson fw_acc "$fw_min_acc" --argjson fw_kps "$fw_kps" \
    --argjson xk_wall "$(printf '%s\n' "${xk_wall[@]}" | jq -s .)" \
    --argjson xk_inner "$(printf '%s\n' "${xk_kps[@]}" | jq -s .)" \
    --argjson xk_acc "$xk_min_acc" --argjson xk_kps "$xk_kps_wall" \
    --argjson xk_kps_inner "$xk_inner" --argjson workers "$workers" --arg xkw_cmd "$xkw_cmd" \
    --argjson xkw_wall "$(printf '%s\n' "${xkw_wall[@]}" | jq -s .)" \
    --argjson xkw_inner "$(printf '%s\n' "${xkw_kps[@]}" | jq -s .)" \
    --argjson xkw_acc "$xkw_min_acc" --argjson xkw_kps "$xkw_kps_wall" \
    --argjson xkw_kps_inner "$xkw_inner" --argjson ratio_workers "$ratio_workers" \
    --argjson ratio_workers_inner "$ratio_workers_inner" \
    --argjson fwd_time "$fw_default_time" --argjson fwd_acc "$fw_default_acc" \
    --argjson fwd_kps "$fw_default_kps" --argjson ratio "$ratio" \
    --argjson ratio_inner "$ratio_inner" --arg goal "$goal" '{
  date: $date,
  host: {kernel: $kernel, cpu: $cpu, nproc: $nproc, debian: $debian, loadavg_after: $load},
  versions: {fwknopd: $fwknopd, xdpknock: $rev, build_type: $build_type},
  capture: {knocks: $knocks, kind: "fko, sha256 HMAC, cbc, distinct IPv4 sources",
            command: $gen_cmd},
  fwknopd_fast: {conf: "PCAP_FILTER udp port 62201; PCAP_LOOP_SLEEP 1;", command: $fw_cmd,
                 runs_seconds: $fw_times, accepted_min: $fw_acc, knocks_per_second: $fw_kps},
  xdpknockd: {workers: 1, command: $xk_cmd, runs_wall_seconds: $xk_wall,
              runs_inner_knocks_per_second: $xk_inner, accepted_min: $xk_acc,
              knocks_per_second_wall: $xk_kps, knocks_per_second_inner: $xk_kps_inner},
  xdpknockd_workers: {workers: $workers, command: $xkw_cmd, runs_wall_seconds: $xkw_wall,
                      runs_inner_knocks_per_second: $xkw_inner, accepted_min: $xkw_acc,
                      knocks_per_second_wall: $xkw_kps, knocks_per_second_inner: $xkw_kps_inner},
  fwknopd_default_sleep: {knocks: $small, conf: "PCAP_FILTER udp port 62201; (PCAP_LOOP_SLEEP default 100000 us)",
                          command: $fw_default_cmd, seconds: $fwd_time, accepted: $fwd_acc,
                          knocks_per_second: $fwd_kps},
  ratio_wall: $ratio, ratio_inner: $ratio_inner,
  ratio_workers_wall: $ratio_workers, ratio_workers_inner: $ratio_workers_inner,
  goal_10x: $goal}' >"$base.json"

cat >"$base.md" <<EOF
# xdpknockd vs fwknopd, offline on one capture ($(date -u +%Y-%m-%d))

Same capture for both: $knocks valid fko knocks (sha256 HMAC, cbc, one distinct IPv4 source
each), made by xdpknock-gen with timestamps = now. Median of $runs rounds, each round fwknopd,
then xdpknockd with 1 and with $workers workers. fwknopd runs in
test mode (\`-t\`: no firewall changes, no digest cache writes) and logs to a file (\`-f\`).

| | knocks/s | accepted |
|---|---:|---:|
| fwknopd 2.6.10, PCAP_LOOP_SLEEP 1 (wall, start to exit) | $fw_kps | $fw_min_acc / $knocks |
| xdpknockd --pcap --dry-run -q, 1 worker (wall, start to exit) | $xk_kps_wall | $xk_min_acc / $knocks |
| xdpknockd, its own loop timing (no process start, config load) | $xk_inner | |
| xdpknockd --pcap --dry-run -q --workers $workers (wall, start to exit) | $xkw_kps_wall | $xkw_min_acc / $knocks |
| xdpknockd, $workers workers, its own loop timing | $xkw_inner | |
| fwknopd 2.6.10, default PCAP_LOOP_SLEEP, $small knocks | $fw_default_kps | $fw_default_acc / $small |

**Ratio xdpknockd / fwknopd: ${ratio_workers}x wall-clock with $workers workers
(${ratio_workers_inner}x by xdpknockd's own timing); ${ratio}x with 1 worker (${ratio_inner}x).
Goal of 10x (judged on $workers workers, start to exit): $goal.**

## Commands
\`\`\`sh
$gen_cmd
$(fwknopd_cmd "$big" "$knocks" FAST_CONF | show)
$xk_cmd
$xkw_cmd
$(fwknopd_cmd "$little" "$small" DEFAULT_CONF | show)
\`\`\`
FAST_CONF: \`PCAP_FILTER udp port $port; PCAP_LOOP_SLEEP 1;\` DEFAULT_CONF: \`PCAP_FILTER udp
port $port;\` (PCAP_LOOP_SLEEP 100000 us, PCAP_DISPATCH_COUNT 100). \$WORK is a fresh
mktemp folder; CONFIG is \$WORK/config.json (one fko range, random keys).
Produced by \`bench/fwknopd_compare.sh --knocks $knocks --small $small --runs $runs --workers $workers\`.
Accepted knocks counted from fwknopd's "--test mode enabled, skipping firewall
manipulation" lines and from xdpknockd's summary.

## Notes
- fwknopd never exits at the end of a capture file (it keeps polling the exhausted file);
  \`-C N\` (stop after N frames passed its pcap filter) ends it after the last knock.
- Its default PCAP_LOOP_SLEEP (100 ms after each batch of PCAP_DISPATCH_COUNT = 100 frames)
  caps it near 1,000 frames/s however fast it decodes.
- fwknopd 2.6.10 ignores IPv6 frames, hence an IPv4-only capture.

## Host
- $host_cpu, $(nproc) CPUs, kernel $(uname -r), Debian $(cat /etc/debian_version), load average after the runs $load
- $fw_version (package $fw_pkg); xdpknock $rev ($build_type)
- Raw figures: \`$(basename "$base").json\`
EOF

echo "fwknopd (sleep 1):     $fw_kps knocks/s, accepted $fw_min_acc/$knocks"
echo "xdpknockd (1 worker):  $xk_kps_wall knocks/s wall, $xk_inner inner, accepted $xk_min_acc/$knocks"
echo "xdpknockd ($workers workers): $xkw_kps_wall knocks/s wall, $xkw_inner inner, accepted $xkw_min_acc/$knocks"
echo "fwknopd (default):     $fw_default_kps knocks/s, accepted $fw_default_acc/$small"
echo "ratio: ${ratio_workers}x wall with $workers workers (${ratio_workers_inner}x inner), ${ratio}x with 1 (goal 10x: $goal)"
echo "wrote $base.md $base.json"
# Both must accept (nearly) every knock, or the figures mean nothing.
awk -v a="$fw_min_acc" -v b="$xk_min_acc" -v w="$xkw_min_acc" -v c="$fw_default_acc" -v n="$knocks" \
    -v s="$small" 'BEGIN { exit !(a >= 0.999 * n && b >= 0.999 * n && w >= 0.999 * n && c >= 0.999 * s) }' ||
    { echo "FAIL: not every knock was accepted" >&2; exit 1; }
