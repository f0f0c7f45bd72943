#!/usr/bin/env bash
# Lab: fwknop's other knock transports (-P) against one fko range taking udp, tcpraw and
# icmp. The real client knocks tcp/22 open over each (udpraw: a raw UDP datagram); the wrong
# keys over each open nothing; junk to the knock port over TCP gets no answer (the port is
# ours), while ordinary pings are still answered.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT
fwknop_key_pairs

lab_up 22
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "fw", "method": "fko", "transports": ["udp", "tcpraw", "icmp"],
              "timeout": 30, "open": ["tcp/22"], "proof_ip": true,
              "secrets": [{"label": "k1", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256"}]}]
}
EOF2

# fwknop_over PROTO KEY HMAC_KEY: the real client from xk-client, asking for tcp/22.
fwknop_over() {
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -P "$1" \
        --key-base64-rijndael "$2" --key-base64-hmac "$3" --use-hmac --hmac-digest-type sha256 \
        -A tcp/22 -a 10.99.0.2 -D 10.99.0.1 >>"$WORK/fwknop.log" 2>&1
}
revoke_client() {
    in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" revoke 10.99.0.2 -i gw-out >/dev/null
}

for proto in tcpraw icmp udpraw; do
    check "$proto: before a knock tcp/22 is dropped by the gate" connect_dropped 10.99.0.1 22
    refused=$(rejected hmac_mismatch)
    fwknop_over "$proto" "$WKEY" "$WHKEY"
    check "$proto: a knock with the wrong keys is judged and refused (hmac_mismatch)" \
        at_least 3 $((refused + 1)) rejected hmac_mismatch
    check "$proto: ... and opens nothing" connect_dropped 10.99.0.1 22
    fwknop_over "$proto" "$KEY" "$HKEY"
    check "$proto: fwknop -P $proto opens tcp/22 for its source" at_least 3 1 active_grants 10.99.0.2
    check "$proto: connect succeeds" connect_ok 10.99.0.1 22
    check "$proto: revoked again" revoke_client
done
check "the knocks came by each transport (daemon log: one grant each)" \
    test "$(grep -c 'authorized 10.99.0.2' "$WORK/daemon.log")" -ge 3

drops=$(xdp_counter knock_len_drop)
out=$(in_ns xk-client hping3 -S -p 62201 -c 3 -i u100000 10.99.0.1 2>&1)
check "SYNs to the knock port get no answer (no RST: the port is ours)" \
    grep -q '100% packet loss' <<<"$out"
check "... and the gate dropped them as junk knocks (knock_len_drop)" \
    at_least 2 $((drops + 3)) xdp_counter knock_len_drop
check "ordinary pings are still answered" in_ns xk-client ping -c 2 -W 1 -q 10.99.0.1
