#!/usr/bin/env bash
# Lab: an IPv6 allow-IP with proof (beyond fwknop 2.6.10, whose access message carries IPv4
# only). A proof_ip range takes an IPv6 knock whose message names its IPv6 source — `xdpknock
# send` writes it by itself — and opens tcp/22 for that source only; a knock naming another
# IPv6 address is refused (source_mismatch) and opens nothing; IPv4 over the same range is
# unchanged: its own IPv4 source opens, a foreign one is refused.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT
fwknop_key_pairs
(umask 077 && printf 'KEY_BASE64 %s\nHMAC_KEY_BASE64 %s\n' "$KEY" "$HKEY" >"$WORK/keys")

lab_up 22
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "proof", "method": "fko", "timeout": 30, "open": ["tcp/22"],
              "proof_ip": true, "sources": ["10.99.0.0/24", "fd99::/64"],
              "secrets": [{"label": "k1", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256"}]}]
}
EOF2
send() { in_ns xk-client "$XDPKNOCK" send "$1" -m fko --key-file "$WORK/keys" -A tcp/22 "${@:2}" >>"$WORK/send.log" 2>&1; }

check "v6: before a knock [fd99::1] tcp/22 is dropped by the gate" connect_dropped fd99::1 22
mismatch=$(rejected source_mismatch)
send fd99::1 -a fd99::99
check "v6: a knock naming another IPv6 address is refused (source_mismatch)" \
    at_least 3 $((mismatch + 1)) rejected source_mismatch
check "... and opens nothing" connect_dropped fd99::1 22
send fd99::1
check "v6: xdpknock send's own knock (allow-IP fd99::2) opens tcp/22 for fd99::2" \
    at_least 3 1 active_grants fd99::2
check "v6: connect succeeds" connect_ok fd99::1 22
check "... for that source only: nothing for the client's IPv4 address" \
    test "$(active_grants 10.99.0.2)" -eq 0
check "the daemon log names the IPv6 source it authorized" \
    grep -q "authorized fd99::2 for tcp/22" "$WORK/daemon.log"

send 10.99.0.1 -a 10.99.0.77
check "v4: a foreign allow-IP is still refused" at_least 3 $((mismatch + 2)) rejected source_mismatch
send 10.99.0.1
check "v4: the client's own IPv4 source opens, as before" at_least 3 1 active_grants 10.99.0.2
check "v4: connect succeeds" connect_ok 10.99.0.1 22
