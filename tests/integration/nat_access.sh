#!/usr/bin/env bash
# Lab: fwknop's NAT access. A LAN host behind the gateway (xk-lan, 10.99.1.2) serves tcp/2222;
# an access.conf stanza with FORCE_NAT, imported by import-fwknop, forwards the gateway's
# tcp/22 to it for a knock of the real fwknop client: the connection reaches the LAN host,
# through the XDP gate (which passes the granted SYN; nftables translates it); after expiry a
# new connection does not; one made inside the grant goes on. A range with allow_client_nat takes
# fwknop -N to its nat_targets only; one outside them is refused. Then the same on the
# nftables gate.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap 'in_ns xk-lan pkill -f lan_banner 2>/dev/null; finish' EXIT
fwknop_key_pairs

lab_up 2222  # the gateway's own tcp/2222: NAT access must never reach it
# The LAN host's service: each connection gets one line naming the host, then its own lines
# echoed back until the client closes.
in_ns xk-lan python3 -c '
import socket, threading
def serve(c):
    c.sendall(b"lan-host\n")
    while (data := c.recv(100)):
        c.sendall(data)
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 2222)); s.listen(16)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
' lan_banner >/dev/null 2>&1 9>&- &
sleep 0.3
# reached: one connection to the gateway's tcp/22 brings the LAN host's banner.
reached() { in_ns xk-client timeout 3 nc -w2 10.99.0.1 "${1:-22}" </dev/null 2>/dev/null | grep -q lan-host; }
# outlives SECONDS: a connection made now still carries an echo after SECONDS (the grant and
# its mapping expired meanwhile; conntrack keeps the translation of a flow it made).
outlives() {
    in_ns xk-client timeout 15 python3 -c '
import socket, sys, time
c = socket.create_connection(("10.99.0.1", 22), timeout=3)
assert c.recv(100).startswith(b"lan-host")
time.sleep(float(sys.argv[1]))
c.sendall(b"still here\n")
sys.exit(0 if c.recv(100) == b"still here\n" else 1)
' "$1" 2>/dev/null
}
knock() {
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args \
        --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --use-hmac \
        --hmac-digest-type sha256 -m sha256 -M cbc -a 10.99.0.2 -D 10.99.0.1 "$@" \
        >>"$WORK/fwknop.log" 2>&1
}

cat >"$WORK/access.conf" <<EOF2
SOURCE                 10.99.0.0/24
KEY_BASE64             $KEY
HMAC_KEY_BASE64        $HKEY
HMAC_DIGEST_TYPE       SHA256
OPEN_PORTS             tcp/22
FW_ACCESS_TIMEOUT      4
FORCE_NAT              10.99.1.2 2222
EOF2
printf 'ENABLE_IPT_FORWARDING Y\n' >"$WORK/fwknopd.conf"
"$XDPKNOCK" import-fwknop "$WORK/access.conf" --fwknopd-conf "$WORK/fwknopd.conf" -i gw-out \
    -o "$WORK/imported.json" 2>"$WORK/import.log"
check "import-fwknop carries FORCE_NAT as the range's nat.to" \
    test "$(jq -r '.ranges[0].nat.to' "$WORK/imported.json")" = 10.99.1.2:2222
# The imported range, a client-NAT range beside it, the state folder.
jq --arg state "$WORK/state" --arg key "$KEY" --arg hkey "$HKEY" '.state_dir = $state
  | .ranges += [{"name": "clients", "method": "fko", "port": 62301, "timeout": 4,
                 "open": ["tcp/23"], "allow_client_nat": true, "nat_targets": ["10.99.1.0/24"],
                 "secrets": [{"label": "c", "key_base64": $key, "hmac_key_base64": $hkey,
                              "hmac": "sha256"}]}]
  | .services += [{"name": "telnet", "port": "tcp/23"}]' "$WORK/imported.json" >"$WORK/nat.json"

run_lab() {  # GATE: xdp | nftables
    jq --arg g "$1" '.interfaces[0].gate = $g' "$WORK/nat.json" >"$WORK/nat-$1.json"
    start_daemon <"$WORK/nat-$1.json"  # not in a pipeline: DAEMON_PID must stay set here
    check "$1: before a knock the forwarded port is dropped" connect_dropped 10.99.0.1 22
    check "$1: fwknop sends its knock" knock -A tcp/22
    check "$1: after the knock the gateway's tcp/22 reaches the LAN host's tcp/2222" reached
    check "$1: the log says where the grant is forwarded" \
        grep -q "authorized 10.99.0.2 for tcp/22 for 4s (range .*, forwarded to 10.99.1.2:2222)" \
        "$WORK/daemon.log"
    check "$1: a connection made inside the grant outlives it (and its mapping)" outlives 4.5
    check "$1: after the grant's timeout a new connection is dropped again" connect_dropped 10.99.0.1 22
    check "$1: ... and the kernel expired the mapping" \
        sh -c "! '$LAB' exec xk-gw nft list map inet xdpknock_nat gw_2Dout_nat4 | grep -q '10.99.0.2 . tcp . 22'"
    check "$1: fwknop -N to a LAN address inside nat_targets is sent" \
        knock -A tcp/23 -N 10.99.1.2:2222 -p 62301
    check "$1: ... and forwards tcp/23 to it" reached 23
    local out
    out=$(in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" revoke 10.99.0.2 -i gw-out 2>&1)
    check "$1: xdpknock revoke ends the source's NAT mapping too ($out)" \
        grep -q "ended 1 NAT mapping" <<<"$out"
    check "$1: ... and tcp/23 is forwarded no more" connect_blocked 10.99.0.1 23
    check "$1: fwknop -N to the gateway's own LAN address (inside nat_targets) is sent" \
        knock -A tcp/23 -N 10.99.1.1:2222 -p 62301
    check "$1: ... but reaches no service of the gateway itself (NAT access only forwards)" \
        connect_blocked 10.99.0.1 23
    local refused
    refused=$(rejected nat_refused)
    knock -A tcp/23 -N 10.99.3.5:2222 -p 62301
    check "$1: fwknop -N outside nat_targets is refused (nat_refused)" \
        at_least 3 $((refused + 1)) rejected nat_refused
    stop_daemon
    in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach gw-out >/dev/null 2>&1
    check "$1: detach removed the NAT table" \
        sh -c "! '$LAB' exec xk-gw nft list table inet xdpknock_nat >/dev/null 2>&1"
}
run_lab xdp
run_lab nftables
