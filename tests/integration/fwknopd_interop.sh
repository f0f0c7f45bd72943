#!/usr/bin/env bash
# Our encoder against fwknopd 2.6.10: for every HMAC type x encryption mode (and no-HMAC
# cbc / legacy IV), a capture of N valid fko knocks from xdpknock-gen must be accepted in
# full by fwknopd --pcap-file and by `xdpknockd --pcap --dry-run`. Then one mixed capture
# (replays, junk, scans, background) to see each side decide the same frames.
# Usage: fwknopd_interop.sh XDPKNOCKD XDPKNOCK XDPKNOCK_GEN [N]
XDPKNOCKD=$1 GEN=$3 N=${4:-200}
source "$(dirname "$0")/interop_lib.sh"
require_tool fwknopd
require_tool jq
trap finish EXIT

PORT=62201
b64() { head -c "$1" /dev/urandom | base64 -w0; }

# config_for NAME HMAC MODE: one fko range with one secret; no HMAC when HMAC is "none".
config_for() {
    local name=$1 hmac=$2 mode=$3 hmac_fields=""
    [ "$hmac" != none ] && hmac_fields="\"hmac_key_base64\": \"$(b64 64)\", \"hmac\": \"$hmac\","
    write_private "$WORK/$name/config.json" <<EOF
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "nas", "port": "tcp/8080"}],
  "ranges": [{"name": "interop", "method": "fko", "port": $PORT, "timeout": 30,
              "open": ["tcp/22", "tcp/8080"],
              "secrets": [{"label": "$name", "key_base64": "$(b64 32)", $hmac_fields
                           "mode": "$mode"}]}]
}
EOF
}

# xdpknockd's summary line for a capture, judged at capture time.
xk_summary() { "$XDPKNOCKD" --config "$1" --pcap "$2" --dry-run -q | jq -c .summary; }

combos=()
for hmac in md5 sha1 sha256 sha384 sha512 sha3_256 sha3_512; do
    for mode in cbc ctr cfb ofb ecb; do combos+=("$hmac:$mode"); done
done
combos+=("none:cbc" "none:legacy")

for combo in "${combos[@]}"; do
    hmac=${combo%%:*} mode=${combo#*:} name="${combo/:/-}"
    dir="$WORK/$name"
    mkdir -p "$dir"
    config_for "$name" "$hmac" "$mode"
    if ! "$GEN" --config "$dir/config.json" --out "$dir/knocks.pcap" --seed 1 --fko "$N" \
        --ipv6-share 0 --fwknopd-access "$dir/access.conf" >"$dir/gen.json"; then
        bad "$name: xdpknock-gen wrote the capture"
        continue
    fi
    run_fwknopd "$dir" "$dir/knocks.pcap" "$dir/access.conf" "$N" "PCAP_FILTER udp port $PORT;"
    rc=$?
    check_eq "$name: fwknopd exited cleanly at the end of the capture" 0 "$rc"
    check_eq "$name: fwknopd accepted all $N knocks" "$N" "$(fwknopd_accepted "$dir/fwknopd.log")"
    check_eq "$name: fwknopd refused none" 0 "$(fwknopd_refused "$dir/fwknopd.log")"
    s=$(xk_summary "$dir/config.json" "$dir/knocks.pcap")
    check_eq "$name: xdpknockd saw $N knocks" "$N" "$(jq -r .knocks <<<"$s")"
    check_eq "$name: xdpknockd accepted all $N" "$N" "$(jq -r .accepted <<<"$s")"
    if [ "$FAILS" -ne 0 ] && [ ! -f "$WORK/shown" ]; then
        touch "$WORK/shown"
        echo "--- first failure: $name"; sed 's/KEY.*/KEY .../' "$dir/access.conf"
        head -20 "$dir/fwknopd.log"; echo "$s"
    fi
done

# Controls: the accepts above mean something only if each side refuses a wrong HMAC type
# or a wrong mode for the same knocks.
dir="$WORK/md5-cbc"
sed 's/^HMAC_DIGEST_TYPE .*/HMAC_DIGEST_TYPE        sha1/' "$dir/access.conf" |
    write_private "$dir/wrong-hmac.conf"
run_fwknopd "$dir" "$dir/knocks.pcap" "$dir/wrong-hmac.conf" "$N" "PCAP_FILTER udp port $PORT;"
check_eq "control: fwknopd with HMAC sha1 accepts none of the md5 knocks" 0 \
    "$(fwknopd_accepted "$dir/fwknopd.log")"
sed 's/^ENCRYPTION_MODE .*/ENCRYPTION_MODE         ecb/' "$dir/access.conf" |
    write_private "$dir/wrong-mode.conf"
run_fwknopd "$dir" "$dir/knocks.pcap" "$dir/wrong-mode.conf" "$N" "PCAP_FILTER udp port $PORT;"
check_eq "control: fwknopd in ecb accepts none of the cbc knocks" 0 \
    "$(fwknopd_accepted "$dir/fwknopd.log")"
sed 's/"mode": "cbc"/"mode": "ctr"/' "$dir/config.json" | write_private "$dir/wrong-mode.json"
s=$(xk_summary "$dir/wrong-mode.json" "$dir/knocks.pcap")
check_eq "control: xdpknockd in ctr accepts none of the cbc knocks" 0 "$(jq -r .accepted <<<"$s")"

# One capture of everything: both sides must accept the valid knocks and nothing else,
# except that fwknopd -t keeps no digest cache, so it takes the replays too.
dir="$WORK/mix"
mkdir -p "$dir"
config_for mix sha256 cbc
"$GEN" --config "$dir/config.json" --out "$dir/mix.pcap" --seed 3 --fko "$N" --replay 20 \
    --junk 300 --syn 300 --background 300 --ipv6-share 0 \
    --fwknopd-access "$dir/access.conf" >"$dir/gen.json"
to_port=$(jq -r .to_knock_port "$dir/gen.json")
run_fwknopd "$dir" "$dir/mix.pcap" "$dir/access.conf" "$to_port" "PCAP_FILTER udp port $PORT;"
check_eq "mix: fwknopd -t accepted the $N knocks plus the 20 replays" "$((N + 20))" \
    "$(fwknopd_accepted "$dir/fwknopd.log")"
s=$(xk_summary "$dir/config.json" "$dir/mix.pcap")
check_eq "mix: xdpknockd accepted exactly the $N knocks" "$N" "$(jq -r .accepted <<<"$s")"
check_eq "mix: xdpknockd refused the 20 replays as replays" 20 "$(jq -r '.rejected.replay // 0' <<<"$s")"
check_eq "mix: xdpknockd counted junk + knocks + replays as knocks, not scans/background" \
    "$to_port" "$(jq -r .knocks <<<"$s")"

# IPv6 knocks: fwknopd 2.6.10 reads only IPv4 frames; xdpknockd takes both families.
dir="$WORK/v6"
mkdir -p "$dir"
config_for v6 sha256 cbc
"$GEN" --config "$dir/config.json" --out "$dir/v6.pcap" --seed 4 --fko "$N" --ipv6-share 1 \
    --fwknopd-access "$dir/access.conf" >"$dir/gen.json"
run_fwknopd "$dir" "$dir/v6.pcap" "$dir/access.conf" "$N" "PCAP_FILTER udp port $PORT;"
check_eq "v6: fwknopd ignores IPv6 knocks (accepts none)" 0 "$(fwknopd_accepted "$dir/fwknopd.log")"
s=$(xk_summary "$dir/config.json" "$dir/v6.pcap")
check_eq "v6: xdpknockd accepted all $N IPv6 knocks" "$N" "$(jq -r .accepted <<<"$s")"

# Same seed, same bytes: the generator is deterministic.
"$GEN" --config "$WORK/mix/config.json" --out "$WORK/a.pcap" --seed 9 --fko 20 --junk 20 \
    --syn 20 --background 20 --time 1700000000 >/dev/null
"$GEN" --config "$WORK/mix/config.json" --out "$WORK/b.pcap" --seed 9 --fko 20 --junk 20 \
    --syn 20 --background 20 --time 1700000000 >/dev/null
check "xdpknock-gen: same seed and time give the same capture" cmp -s "$WORK/a.pcap" "$WORK/b.pcap"
