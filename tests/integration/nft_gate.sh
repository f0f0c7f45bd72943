#!/usr/bin/env bash
# Lab: the nftables gate ("gate": "nftables") passes what the XDP gate's labs check. A
# protected port is invisible until a knock (IPv4 and IPv6), open for the grant, shut after;
# a wrong secret opens nothing; the knock port never answers; FIN/NULL/Xmas/ACK scans see
# nothing; a kill -9 and a plain stop leave the table and its grants (closed to everyone
# else), the next start adopts them; allow/revoke/status by hand; only detach removes it,
# and never the admin's own table.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

SECRET="nft lab knock $(date +%s%N)"
WRONG="${SECRET:0:-1}x"
LONG="nft lab long knock $(date +%s%N)"
lab_up 8080 22
nft_gw() { in_ns xk-gw nft "$@"; }
chain_loaded() { nft_gw list chain inet xdpknock gw_2Dout_gate >/dev/null; }
# An admin's own table on the gateway: ours must never touch it.
nft_gw add table inet admin
nft_gw add chain inet admin input '{ type filter hook input priority 0; policy accept; }'
nft_gw add rule inet admin input tcp dport 9 counter accept

start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out", "gate": "nftables"}], "state_dir": "$WORK/state",
  "workers": 2, "metrics": {"listen": "127.0.0.1:9643"},
  "services": [{"name": "nas", "port": "tcp/8080"}, {"name": "ssh", "port": "tcp/22"},
               {"name": "dead", "port": "tcp/7443"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 3, "open": ["tcp/8080", "tcp/7443"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]},
             {"name": "long", "method": "plain", "port": 62202, "timeout": 60, "open": ["tcp/22"],
              "transports": ["udp", "icmp"],
              "secrets": [{"label": "long-secret", "secret": "$LONG"}]}]
}
EOF2
check "the daemon says it gates with nftables over AF_PACKET" \
    grep -q "gw-out: gate attached (nftables, table inet xdpknock), 2 AF_PACKET fanout member" \
    "$WORK/daemon.log"
check "no XDP program on gw-out" test "$(xdp_mode_of gw-out)" != native
check "status names the nftables gate" \
    sh -c "'$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' status --run-dir '$WORK/run' | grep -q 'gw-out  gate: nftables'"

for addr in 10.99.0.1 fd99::1; do
    src=10.99.0.2
    [ "$addr" = fd99::1 ] && src=fd99::2
    check "$addr: connect before the knock: dropped by the chain (no RST, syn_drop rose)" \
        connect_dropped "$addr" 8080
    mismatches=$(rejected plain_mismatch)
    knock_plain "$addr" "$WRONG"
    check "$addr: the wrong secret reached the workers over AF_PACKET and was refused" \
        at_least 3 $((mismatches + 1)) rejected plain_mismatch
    check "$addr: a wrong secret authorizes nothing" test "$(active_grants)" -eq 0
    knock_plain "$addr" "$SECRET"
    check "$addr: status lists the authorization of $src" at_least 2 1 active_grants "$src"
    check "$addr: connect after the knock succeeds" connect_ok "$addr" 8080
    check "$addr: only the range's ports opened (tcp/22 still dropped)" connect_dropped "$addr" 22
    sleep 3.3
    check "$addr: after the timeout the port is shut again" connect_dropped "$addr" 8080
done
check "the grant's element carried its timeout into the kernel (nothing left once expired)" \
    test -z "$(nft_gw list set inet xdpknock gw_2Dout_allow4 | grep -o '10.99.0.2 . tcp . 8080')"

# No answer of any kind on the knock ports: the tap copied the knock, the chain dropped it.
for addr in 10.99.0.1 fd99::1; do
    six=; [ "$addr" = fd99::1 ] && six=-6
    out=$(in_ns xk-client nmap $six -Pn -n -sU -p 62201,62202 --max-retries 1 "$addr" 2>&1)
    check "$addr: nmap sees the knock ports as open|filtered (no ICMP unreachable)" \
        sh -c "echo '$out' | grep -q '62201/udp open|filtered' && echo '$out' | grep -q '62202/udp open|filtered'"
done
check "a range takes knocks in ICMP echoes: pings get no reply either" \
    sh -c "! '$LAB' exec xk-client ping -c 2 -W 1 10.99.0.1 >/dev/null 2>&1"
check "... over IPv6 too" sh -c "! '$LAB' exec xk-client ping -6 -c 2 -W 1 fd99::1 >/dev/null 2>&1"
out=$(in_ns xk-client hping3 --udp -p 62201 -c 3 -i u100000 10.99.0.1 2>&1)
check "hping3 UDP probes of the knock port get no reply" sh -c "echo '$out' | grep -q '100% packet loss'"

# Every TCP flag combination is gated: a live (8080) and a dead (7443) protected port look alike.
port_states() {
    in_ns xk-client nmap -n -Pn -T4 --max-retries 1 "$@" -p 8080,7443 10.99.0.1 2>/dev/null |
        awk '/^(8080|7443)\/tcp/ {split($1, p, "/"); printf "%s=%s ", p[1], $2}'
}
for scan in -sF -sN -sX; do
    states=$(port_states "$scan")
    check "nmap $scan: live and dead protected ports look alike ($states)" \
        test "$states" = "7443=open|filtered 8080=open|filtered "
done
states=$(port_states -sA)
check "nmap -sA: both filtered ($states)" test "$states" = "7443=filtered 8080=filtered "
states=$(port_states -sS)
check "nmap -sS: both filtered ($states)" test "$states" = "7443=filtered 8080=filtered "

# Metrics read the same on both gates: the chain's counters under the XDP counters' names.
scrape() { in_ns xk-gw curl -sS --max-time 3 "http://127.0.0.1:9643/metrics"; }
metric() { scrape | awk -v s="$1" '$1 == s { print $2; found = 1 } END { exit !found }'; }
check "metrics: syn_drop counts the chain's drops" at_least 3 1 \
    metric 'xdpknock_xdp_packets_total{interface="gw-out",decision="syn_drop"}'
check "metrics: the plain range's grants" at_least 3 2 \
    metric 'xdpknock_knocks_total{interface="gw-out",range="lab",secret="lab-secret",result="accepted"}'

# A reload rewrites the protected services in the same batch: tcp/5555 becomes protected.
in_ns xk-gw sh -c "nc -4 -lk -p 5555 >/dev/null 2>&1 &" 9>&-
check "before the reload tcp/5555 is not protected" connect_ok 10.99.0.1 5555
jq '.services += [{"name": "new", "port": "tcp/5555"}]' "$WORK/config.json" >"$WORK/config.new"
cp "$WORK/config.new" "$WORK/config.json"
log_mark
kill -HUP "$(pgrep -f "xdpknockd -c $WORK/config.json")"
check "the daemon reloaded" log_since_mark "config reloaded"
check "after the reload tcp/5555 is dropped by the chain" connect_dropped 10.99.0.1 5555

# kill -9: the table stays, its grants too; nobody else gets in; the next start adopts them.
client_alias 10.99.0.77/24
printf '%s' "$LONG" | in_ns xk-client "$XDPKNOCK" send 10.99.0.1 --port 62202 --secret-file -
check "the long range's knock opens tcp/22" connect_ok 10.99.0.1 22
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
check "after kill -9: the chain is still loaded" chain_loaded
check "after kill -9: the authorized source still connects (its element lives on)" \
    connect_ok 10.99.0.1 22
check "after kill -9: another source is still dropped" connect_blocked_from 10.99.0.77 10.99.0.1 22
check "after kill -9: a protected port without a grant stays shut" connect_blocked 10.99.0.1 8080
cp "$WORK/config.json" "$WORK/config.again"
start_daemon <"$WORK/config.again"
check "the restart adopts the grant" \
    grep -q "1 live authorization(s) kept from before" "$WORK/daemon.log"
check "after the restart the authorized source connects" connect_ok 10.99.0.1 22

# A plain stop: fail closed, the same.
stop_daemon
check "after stop: the gate is left loaded" chain_loaded
check "after stop: a new source is dropped" connect_blocked_from 10.99.0.77 10.99.0.1 22
check "after stop: status still reads the gate's grants without the daemon" \
    test "$(active_grants 10.99.0.2)" -ge 1

# By hand, daemon or not: allow, revoke.
gw_cli() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" "$@"; }
check "allow by hand on the nftables gate" gw_cli allow 10.99.0.77 -i gw-out --port tcp/8080 -t 30
check "... lets that source in" connect_ok_from 10.99.0.77 10.99.0.1 8080
check "revoke by hand ends its grants" sh -c "'$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' revoke 10.99.0.77 -i gw-out | grep -q 'revoked 1 authorization'"
check "... and shuts it out" connect_blocked_from 10.99.0.77 10.99.0.1 8080

# The config's "gate" changed without a detach: the start refuses, naming what is left.
jq '.interfaces[0].gate = "xdp"' "$WORK/config.json" >"$WORK/config.xdp"
chmod 600 "$WORK/config.xdp"
out=$(in_ns xk-gw "$XDPKNOCKD" -c "$WORK/config.xdp" --pin-root "$PIN_ROOT" --run-dir "$WORK/run2" 2>&1)
rc=$?
check "a start with \"gate\": \"xdp\" over the nftables gate is refused (exit $rc)" test "$rc" -ne 0
check "... naming the gate left and the way to remove it" \
    grep -q "gw-out: an nftables gate (table inet xdpknock) is still there .*xdpknock detach gw-out" <<<"$out"
check "... attaching nothing: no XDP program, the chain still loaded" \
    sh -c "[ \"\$('$LAB' exec xk-gw ip -j link show gw-out | jq -r '.[0].xdp // empty')\" = '' ] && '$LAB' exec xk-gw nft list chain inet xdpknock gw_2Dout_gate >/dev/null"

# Only detach removes the gate; the admin's table stays whole.
out=$(gw_cli detach gw-out 2>&1)
check "detach says the nftables gate came off ($out)" grep -q "nftables gate detached" <<<"$out"
check "detach removed our table" sh -c "! '$LAB' exec xk-gw nft list table inet xdpknock >/dev/null 2>&1"
check "the admin's table and rule are untouched" \
    sh -c "'$LAB' exec xk-gw nft list chain inet admin input | grep -q 'tcp dport 9 counter'"
check "after detach the service answers again" connect_ok 10.99.0.1 8080
check "after detach pings are answered again" in_ns xk-client ping -c 1 -W 2 10.99.0.1
