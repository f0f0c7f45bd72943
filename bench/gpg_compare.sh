#!/usr/bin/env bash
# fwknop's GPG mode: fwknopd 2.6.10 against xdpknockd on the same captures, offline, in one
# run. Keys are made here (gpg's defaults: RSA-3072, as `fwknop --gpg-*` users have them);
# the real fwknop client sends N signed, HMAC'd knocks over loopback, captured by dumpcap;
# then J GPG-shaped junk datagrams (random base64, 700 bytes) are captured the same way.
# Measured, taken in turns each round so they share the machine's noise:
#   valid knocks: fwknopd -t --pcap-file (PCAP_LOOP_SLEEP 1) vs xdpknockd --pcap --dry-run
#     -q with 1 and W workers, start to exit: each knock costs a gpg run either way;
#   junk, stanza without HMAC: fwknopd runs gpg for every one; xdpknockd for at most the
#     range's gpg_per_second (10) in each second of the capture, the rest gpg_rate_limited;
#   junk, stanza with HMAC: both refuse each at the HMAC, no gpg run.
# Writes bench/results/<date>-gpg.{md,json}.
#
#   bench/gpg_compare.sh [--knocks 100] [--junk 1000] [--runs 3] [--workers 2]
#                        [--build DIR] [--results DIR]
# CI smoke: bench/gpg_compare.sh --knocks 5 --junk 50 --runs 1 --results /tmp/x
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
knocks=100 junk=1000 runs=3 workers=2 build="${BUILD_DIR:-$root/build}" results="$root/bench/results"
args="$*"
while [ $# -gt 0 ]; do
    case $1 in
        --knocks) knocks=$2; shift 2 ;;
        --junk) junk=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --results) results=$2; shift 2 ;;
        *) echo "usage: $0 [--knocks N] [--junk N] [--runs K] [--workers W] [--build DIR] [--results DIR]" >&2
           exit 2 ;;
    esac
done
xdpknockd="$build/userspace/daemon/xdpknockd" xdpknock="$build/userspace/cli/xdpknock"
for f in "$xdpknockd" "$xdpknock"; do
    [ -x "$f" ] || { echo "missing $f: cmake --build $build --target xdpknockd xdpknock" >&2; exit 2; }
done
for t in fwknop fwknopd gpg gpgconf dumpcap tshark jq python3; do
    command -v "$t" >/dev/null || { echo "needs $t (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/xk-gpg-compare.XXXXXX)
chmod 700 "$work"
cleanup() {
    for h in gateway client; do gpgconf --homedir "$work/gpg/$h" --kill gpg-agent 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
port=62201

g() { local who=$1; shift; gpg --homedir "$work/gpg/$who" --batch --yes --quiet "$@"; }
make_key() {
    mkdir -p -m 700 "$work/gpg/$1"
    g "$1" --passphrase '' --quick-gen-key "xk bench $1 <$1@xk.test>" default default never 2>/dev/null
    g "$1" --list-secret-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}'
}
gateway=$(make_key gateway) client=$(make_key client)
g gateway --export "$gateway" | g client --import 2>/dev/null
g client --export "$client" | g gateway --import 2>/dev/null
g gateway --quick-lsign-key "$client" >/dev/null 2>&1
hkey=$(head -c 32 /dev/urandom | base64 -w0)

# access.conf with and without the HMAC key; xdpknockd's configs are imported from them.
stanza() {
    printf 'SOURCE ANY\nOPEN_PORTS tcp/22\nGPG_HOME_DIR %s\nGPG_DECRYPT_ID %s\nGPG_ALLOW_NO_PW Y\nGPG_FINGERPRINT_ID %s\n' \
        "$work/gpg/gateway" "$gateway" "$client"
}
(umask 077 && { stanza; echo "HMAC_KEY_BASE64 $hkey"; } >"$work/hmac.conf" && stanza >"$work/plain.conf")
for v in hmac plain; do
    "$xdpknock" import-fwknop "$work/$v.conf" -i lo -o "$work/$v.json" 2>/dev/null
done

# capture NAME CMD…: what CMD sends to udp/$port on loopback, into $work/NAME.pcap.
capture() {
    local name=$1; shift
    dumpcap -q -i lo -f "udp dst port $port" -P -w "$work/$name.pcap" 2>"$work/dumpcap.log" &
    local pid=$!
    for _ in $(seq 50); do grep -q "Capturing on" "$work/dumpcap.log" && break; sleep 0.1; done
    "$@"
    sleep 0.5
    kill -INT "$pid"
    wait "$pid" || true
}
send_knocks() {
    for ((i = 0; i < knocks; i++)); do
        HOME="$work" fwknop --no-rc-file --no-save-args -A tcp/22 -a 127.0.0.1 -D 127.0.0.1 \
            --gpg-home-dir "$work/gpg/client" --gpg-recipient-key "$gateway" \
            --gpg-signer-key "$client" --gpg-no-signing-pw --use-hmac --key-base64-hmac "$hkey" \
            --hmac-digest-type sha256 >/dev/null 2>&1
    done
}
send_junk() {
    python3 - "$port" "$junk" <<'PY'
import random, socket, string, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
alphabet = string.ascii_letters + string.digits + "+/"
for i in range(count):
    s.sendto(("G" + "".join(random.choice(alphabet) for _ in range(697))).encode(), ("127.0.0.1", port))
    if i % 100 == 99:
        time.sleep(0.01)  # let dumpcap keep up
PY
}
echo "capturing $knocks fwknop GPG knocks and $junk GPG-shaped junk datagrams"
capture valid send_knocks
capture junk send_junk
frames() { tshark -r "$1" 2>/dev/null | wc -l; }
n_valid=$(frames "$work/valid.pcap") n_junk=$(frames "$work/junk.pcap")

now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# fwknopd ACCESS PCAP FRAMES: "seconds accepted".
fwknopd_run() {
    mkdir -p "$work/run"
    (umask 077 && printf 'PCAP_FILTER udp port %s;\nPCAP_LOOP_SLEEP 1;\n' "$port" >"$work/fwknopd.conf")
    local t0; t0=$(now_ns)
    timeout 600 fwknopd -f -t -C "$3" --pcap-file "$2" -a "$1" -c "$work/fwknopd.conf" \
        -d "$work/run/digest.cache" -p "$work/run/fwknopd.pid" -r "$work/run" >"$work/fwknopd.log" 2>&1 || true
    echo "$(secs_since "$t0") $(grep -c -- '--test mode enabled, skipping firewall manipulation' "$work/fwknopd.log" || true)"
}
# xdpknockd CONFIG PCAP WORKERS: "seconds accepted gpg_decrypt_failed gpg_rate_limited"; its
# own rate (judging only: no process start, no keyring opened) goes to $work/inner.
xdpknockd_run() {
    local t0 s; t0=$(now_ns)
    s=$("$xdpknockd" --config "$1" --pcap "$2" --dry-run -q --workers "$3" | jq -c .summary)
    jq -r .knocks_per_second <<<"$s" >"$work/inner"
    echo "$(secs_since "$t0") $(jq -r '[.accepted, (.rejected.gpg_decrypt_failed // 0), (.rejected.gpg_rate_limited // 0)] | join(" ")' <<<"$s")"
}

declare -A t acc inner
rows=(fw_valid xk_valid_1 xk_valid_w fw_junk_plain xk_junk_plain fw_junk_hmac xk_junk_hmac)
for ((r = 0; r < runs; r++)); do
    echo "round $((r + 1)) of $runs"
    read -r s a <<<"$(fwknopd_run "$work/hmac.conf" "$work/valid.pcap" "$n_valid")"; t[fw_valid]+="$s "; acc[fw_valid]=$a
    read -r s a _ <<<"$(xdpknockd_run "$work/hmac.json" "$work/valid.pcap" 1)"; t[xk_valid_1]+="$s "; acc[xk_valid_1]=$a; inner[xk_valid_1]+="$(cat "$work/inner") "
    read -r s a _ <<<"$(xdpknockd_run "$work/hmac.json" "$work/valid.pcap" "$workers")"; t[xk_valid_w]+="$s "; acc[xk_valid_w]=$a; inner[xk_valid_w]+="$(cat "$work/inner") "
    read -r s a <<<"$(fwknopd_run "$work/plain.conf" "$work/junk.pcap" "$n_junk")"; t[fw_junk_plain]+="$s "; acc[fw_junk_plain]=$a
    read -r s a gpg_runs limited <<<"$(xdpknockd_run "$work/plain.json" "$work/junk.pcap" "$workers")"
    t[xk_junk_plain]+="$s "; acc[xk_junk_plain]=$a; inner[xk_junk_plain]+="$(cat "$work/inner") "
    read -r s a <<<"$(fwknopd_run "$work/hmac.conf" "$work/junk.pcap" "$n_junk")"; t[fw_junk_hmac]+="$s "; acc[fw_junk_hmac]=$a
    read -r s a _ <<<"$(xdpknockd_run "$work/hmac.json" "$work/junk.pcap" "$workers")"; t[xk_junk_hmac]+="$s "; acc[xk_junk_hmac]=$a; inner[xk_junk_hmac]+="$(cat "$work/inner") "
done
med() { tr ' ' '\n' <<<"${t[$1]}" | grep . | median; }
own() { tr ' ' '\n' <<<"${inner[$1]}" | grep . | median | xargs printf '%.1f'; }
rate() { awk -v n="$1" -v s="$(med "$2")" 'BEGIN { printf "%.1f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
junk_span=$(tshark -r "$work/junk.pcap" -T fields -e frame.time_epoch 2>/dev/null |
    awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.2f", b - a }')

fw_valid=$(rate "$n_valid" fw_valid) xk1=$(rate "$n_valid" xk_valid_1) xkw=$(rate "$n_valid" xk_valid_w)
fw_jp=$(rate "$n_junk" fw_junk_plain) xk_jp=$(rate "$n_junk" xk_junk_plain)
fw_jh=$(rate "$n_junk" fw_junk_hmac) xk_jh=$(rate "$n_junk" xk_junk_hmac)
own1=$(own xk_valid_1) ownw=$(own xk_valid_w) own_jp=$(own xk_junk_plain) own_jh=$(own xk_junk_hmac)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || rev="$rev+uncommitted"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
load=$(cut -d' ' -f1-3 /proc/loadavg)
day=$(date -u +%Y-%m-%d)
mkdir -p "$results"
base="$results/$day-gpg"
jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg rev "$rev" --arg cpu "$cpu" \
    --argjson nproc "$(nproc)" --arg kernel "$(uname -r)" --arg load "$load" \
    --arg command "bench/gpg_compare.sh $args" --argjson valid "$n_valid" --argjson junk "$n_junk" \
    --argjson runs "$runs" --argjson workers "$workers" --arg junk_span "$junk_span" \
    --argjson fw_valid "$fw_valid" --argjson xk1 "$xk1" --argjson xkw "$xkw" \
    --argjson fw_jp "$fw_jp" --argjson xk_jp "$xk_jp" --argjson fw_jh "$fw_jh" --argjson xk_jh "$xk_jh" \
    --argjson acc_fw "${acc[fw_valid]}" --argjson acc_xk1 "${acc[xk_valid_1]}" --argjson acc_xkw "${acc[xk_valid_w]}" \
    --argjson gpg_runs "$gpg_runs" --argjson limited "$limited" --argjson own1 "$own1" \
    --argjson ownw "$ownw" --argjson own_jp "$own_jp" --argjson own_jh "$own_jh" '{
  date: $date, xdpknock: $rev, host: {cpu: $cpu, nproc: $nproc, kernel: $kernel, loadavg_after: $load},
  command: $command, runs: $runs, key: "gpg --quick-gen-key ... default default (RSA-3072), signed, HMAC sha256",
  xdpknockd_own_timing: {valid_1: $own1, valid_workers: $ownw, junk_no_hmac: $own_jp, junk_hmac: $own_jh},
  valid: {frames: $valid, fwknopd_kps: $fw_valid, xdpknockd_1_kps: $xk1, xdpknockd_workers_kps: $xkw,
          workers: $workers, accepted: {fwknopd: $acc_fw, xdpknockd_1: $acc_xk1, xdpknockd_workers: $acc_xkw}},
  junk: {frames: $junk, capture_seconds: ($junk_span | tonumber),
         no_hmac: {fwknopd_per_second: $fw_jp, xdpknockd_per_second: $xk_jp,
                   xdpknockd_gpg_runs: $gpg_runs, xdpknockd_rate_limited: $limited},
         hmac: {fwknopd_per_second: $fw_jh, xdpknockd_per_second: $xk_jh}},
  ratios: {valid_1_worker: ($xk1 / $fw_valid), valid_workers_vs_1: ($xkw / $xk1),
           junk_no_hmac: ($xk_jp / $fw_jp), junk_hmac: ($xk_jh / $fw_jh),
           junk_hmac_own_timing: ($own_jh / $fw_jh)}}' >"$base.json"

cat >"$base.md" <<EOF
# fwknop GPG mode: fwknopd 2.6.10 vs xdpknockd, offline on the same captures ($day)

xdpknock $rev; $cpu, $(nproc) CPUs, kernel $(uname -r); load after the run: $load.
Keys: gpg's defaults (RSA-3072), made by the script; the real fwknop 2.6.10 client sent the
knocks (\`--gpg-recipient-key --gpg-signer-key --use-hmac\`), dumpcap captured them on
loopback. Each figure: median of $runs rounds, start to exit (process start, config load —
xdpknockd opens the keyring once per worker — and judging); taken in turns each round.

| capture | fwknopd -t (PCAP_LOOP_SLEEP 1) | xdpknockd --dry-run, 1 worker | xdpknockd, $workers workers |
|---|---:|---:|---:|
| $n_valid valid knocks (gpg decrypt + verify each): knocks/s | $fw_valid (${acc[fw_valid]} accepted) | $xk1 (${acc[xk_valid_1]}; own timing $own1) | $xkw (${acc[xk_valid_w]}; own timing $ownw) |
| $n_junk GPG-shaped junk, stanza without HMAC: junk/s | $fw_jp | – | $xk_jp (own timing $own_jp) |
| the same junk, stanza with HMAC: junk/s | $fw_jh | – | $xk_jh (own timing $own_jh) |

"Own timing" is xdpknockd's summary: judging only, without process start and the load-time
keyring check (per worker: an agent cache flush, a message encrypted to the gateway's key
and opened), which dominate a small capture.

- Valid knocks: ${xk1} / ${fw_valid} = **$(ratio "$xk1" "$fw_valid")×** fwknopd with one worker
  (both run gpg once a knock: its fork/exec and the RSA decryption in gpg-agent dominate);
  $workers workers vs 1: **$(ratio "$xkw" "$xk1")×** — one keyring has one gpg-agent, which
  does the private-key work one message at a time.
- Junk without HMAC: fwknopd runs gpg for every datagram; xdpknockd ran it $gpg_runs times
  (the range's gpg_per_second, 10, in each second of the ${junk_span} s capture) and refused
  $limited as \`gpg_rate_limited\`: **$(ratio "$xk_jp" "$fw_jp")×** fwknopd's rate. An HMAC
  makes junk cheap for both (**$(ratio "$xk_jh" "$fw_jh")×** start to exit, **$(ratio "$own_jh" "$fw_jh")×** by
  xdpknockd's own timing); use one.

Reproduce: \`bench/gpg_compare.sh $args\` (needs fwknop-client, fwknop-server, gnupg,
tshark; root for dumpcap on loopback).
EOF
cat "$base.md"
