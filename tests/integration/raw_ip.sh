#!/usr/bin/env bash
# Lab: a raw-IP link (tun: no Ethernet header, like ppp, WireGuard or a raw-IP modem) is
# gated, not passed. xk-tun-peer is the far end: it writes IPv4 and IPv6 SYNs and knocks
# into the tun and reads what the gateway answers.
XDPKNOCKD=$1 XDPKNOCK=$2 TUN_PEER=$3
source "$(dirname "$0")/lab_lib.sh"
require_root
trap 'kill "$PEER_PID" 2>/dev/null; finish' EXIT

lab_up 8080
coproc PEER { "$LAB" exec xk-gw "$TUN_PEER" xk-tun0 2>&1 9>&-; }
PEER_PID=$!
read -r -t 5 line <&"${PEER[0]}"
[ "$line" = ready ] || { echo "FAIL: xk-tun-peer: $line"; exit 1; }
in_ns xk-gw sh -e -c '
    ip addr add 10.98.0.1/24 dev xk-tun0; ip -6 addr add fd98::1/64 dev xk-tun0 nodad
    ip link set xk-tun0 up'

# peer CMD...: one command to the far end, its one-line answer on stdout.
peer() { echo "$*" >&"${PEER[1]}"; read -r -t 5 answer <&"${PEER[0]}"; echo "$answer"; }
answer_is() { local want=$1; shift; [ "$(peer "$@")" = "$want" ]; }

for mode in generic auto; do
    start_daemon <<EOF2
{
  "interfaces": [{"name": "xk-tun0", "xdp_mode": "$mode"}],
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "tun", "method": "plain", "timeout": 60, "open": ["tcp/8080"],
              "secrets": [{"label": "t", "secret": "tun-secret-$mode"}]}]
}
EOF2
    check "$mode: the daemon knows the link is raw IP" grep -q "xk-tun0: gate attached (.*raw-IP link" "$WORK/daemon.log"
    port=41000
    for fam in 4 6; do
        if [ $fam = 4 ]; then src=10.98.0.2 dst=10.98.0.1; else src=fd98::2 dst=fd98::1; fi
        port=$((port + 10))
        drops=$(counter syn_drop)
        check "$mode v$fam: unauthorized SYN gets no answer" answer_is none syn $src $dst 8080 $port
        check "$mode v$fam: ... because the gate dropped it" test "$(counter syn_drop)" -gt "$drops"
        check "$mode v$fam: wrong knock opens nothing" answer_is sent udp $src $dst 62201 tun-secret-nope
        check "$mode v$fam: still no answer" answer_is none syn $src $dst 8080 $((port + 1))
        check "$mode v$fam: the knock through the tun is sent" answer_is sent udp $src $dst 62201 tun-secret-$mode
        sleep 0.3
        check "$mode v$fam: after the knock the SYN gets a SYN-ACK" answer_is synack syn $src $dst 8080 $((port + 2))
    done
    stop_daemon
    in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach xk-tun0 >/dev/null
done

# A link type the parser cannot read is refused at start, never attached as a no-op.
coproc ODD { "$LAB" exec xk-gw "$TUN_PEER" xk-odd0 32 2>&1 9>&-; }  # 32: ARPHRD_INFINIBAND
ODD_PID=$!
read -r -t 5 line <&"${ODD[0]}"
[ "$line" = ready ] || { echo "FAIL: xk-tun-peer xk-odd0: $line"; exit 1; }
in_ns xk-gw ip link set xk-odd0 up
cat > "$WORK/odd.json" <<EOF2
{"interfaces": [{"name": "xk-odd0"}], "services": [{"name": "web", "port": "tcp/8080"}],
 "ranges": [{"name": "r", "method": "plain", "open": ["tcp/8080"],
             "secrets": [{"label": "t", "secret": "odd-secret"}]}]}
EOF2
chmod 600 "$WORK/odd.json"
in_ns xk-gw timeout 10 "$XDPKNOCKD" -c "$WORK/odd.json" --pin-root "$PIN_ROOT" \
    --run-dir "$WORK/run-odd" >"$WORK/odd.log" 2>&1 9>&-
rc=$?
check "unknown link type: the daemon refuses to start" test "$rc" -ne 0 -a "$rc" -ne 124
check "unknown link type: the error names the type" grep -q "link type 32 (ARPHRD) cannot be gated" "$WORK/odd.log"
check "unknown link type: nothing attached" sh -c "! $LAB exec xk-gw ip link show xk-odd0 | grep -q prog/xdp"
kill "$ODD_PID" 2>/dev/null
