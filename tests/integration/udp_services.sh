#!/usr/bin/env bash
# Lab: a UDP service (an echo on udp/1194, as OpenVPN would sit there) behind the gate.
# Silent until a knock; the knock's source then talks to it; a flow that started inside the
# grant keeps working after the grant ends while it stays active; a new flow after the
# grant, or the old one after it idled out, gets nothing. IPv4 and IPv6; plain knocks, the
# real fwknop client asking for udp/1194, and `xdpknock allow --port udp/1194`.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT
command -v fwknop >/dev/null || { echo "SKIP: fwknop (fwknop-client) not installed"; exit 77; }

ECHO="$(dirname "$0")/tools/udp_echo.py"
SECRET="udp lab $(date +%s%N)"
FWHOME=$WORK/fwknop-home  # fwknop's $HOME: nothing may land in /root
mkdir -p "$FWHOME" "$WORK/state"
chmod 700 "$FWHOME"
keys=$(HOME=$FWHOME fwknop --key-gen --no-rc-file)
KEY=$(sed -n 's/^KEY_BASE64: //p' <<<"$keys")
HKEY=$(sed -n 's/^HMAC_KEY_BASE64: //p' <<<"$keys")

lab_up
in_ns xk-gw python3 "$ECHO" serve 1194 >/dev/null 2>&1 9>&- &
# udp_timeout 5 s after one datagram, 6 s once a stream; grants last 3 s.
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "udp_timeout": 5, "udp_stream_timeout": 6,
  "services": [{"name": "vpn", "port": "udp/1194"}, {"name": "ssh", "port": "tcp/22"}],
  "ranges": [
    {"name": "plain", "method": "plain", "timeout": 3, "open": ["udp/1194"],
     "secrets": [{"label": "udp-lab", "secret": "$SECRET"}]},
    {"name": "fko", "method": "fko", "port": 62202, "timeout": 3, "open": ["udp/1194", "tcp/22"],
     "secrets": [{"label": "fko-lab", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                  "hmac": "sha256"}]}
  ]
}
EOF2

# lists_port PORT: status shows a live authorization for PORT ("udp/1194").
lists_port() {
    gate_json | jq -e --arg p "$1" '[.authorized[] | select(.port == $p and .expired == false)] |
        length >= 1' >/dev/null
}
# echoes ADDR SPORT [N [GAP]]: how many of N datagrams from SPORT the service echoed.
echoes() { in_ns xk-client python3 "$ECHO" ask "$1" 1194 "$2" "${3:-1}" "${4:-0}"; }
udp_refused() { gate_json | jq -e '.counters.udp_drop + .counters.udp_expired'; }
# silent ADDR SPORT: no echo, and the gate counted the drop (not a service that never answers).
silent() {
    local before
    before=$(udp_refused) || return 1
    [ "$(echoes "$1" "$2")" -eq 0 ] && [ "$(udp_refused)" -gt "$before" ]
}

out=$(in_ns xk-client nmap -Pn -n -sU -p 1194 --max-retries 1 10.99.0.1 2>&1)
check "nmap sees udp/1194 as open|filtered before a knock (nothing answers)" \
    grep -q '1194/udp open|filtered' <<<"$out"

for pair in "10.99.0.1 10.99.0.2" "fd99::1 fd99::2"; do
    set -- $pair
    gw=$1 src=$2
    check "$gw: before a knock udp/1194 is silent (the gate dropped it)" silent "$gw" 40001
    knock_plain "$gw" "$SECRET"
    check "$gw: the knock authorized $src for udp/1194" at_least 3 1 active_grants "$src"
    check "$gw: the service answers the knock's source" test "$(echoes "$gw" 40001)" -eq 1
    check "$gw: a TCP port the knock did not open stays shut" connect_dropped "$gw" 22
    # 7 datagrams 0.9 s apart: the 3 s grant ends in the middle; the flow carries on.
    check "$gw: an active flow outlives the grant (7/7 echoed over 6 s)" \
        test "$(echoes "$gw" 40001 7 0.9)" -eq 7
    check "$gw: the grant is over" test "$(active_grants "$src")" -eq 0
    check "$gw: a new flow after the grant is silent" silent "$gw" 40002
done
sleep 6.5
check "after udp_stream_timeout idle, the old flow is silent too" silent 10.99.0.1 40001

# The real fwknop client asks for udp/1194 (fwknop -A udp/1194).
in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -p 62202 \
    --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --use-hmac --hmac-digest-type sha256 \
    -A udp/1194 -a 10.99.0.2 -D 10.99.0.1 >>"$WORK/fwknop.log" 2>&1
check "fwknop -A udp/1194: authorized for udp/1194 only" at_least 3 1 active_grants 10.99.0.2
check "fwknop -A udp/1194: status lists udp/1194" lists_port udp/1194
check "fwknop -A udp/1194: the service answers" test "$(echoes 10.99.0.1 40003)" -eq 1
check "fwknop -A udp/1194 opened no TCP" connect_dropped 10.99.0.1 22

check "xdpknock allow --port udp/1194 says so" sh -c \
    "'$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' allow fd99::2 -i gw-out --port udp/1194 -t 5 |
     grep -q 'authorized fd99::2 for udp/1194 for 5s'"
check "after allow, the service answers fd99::2" test "$(echoes fd99::1 40004)" -eq 1

