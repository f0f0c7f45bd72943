#!/usr/bin/env bash
# Lab: every TCP packet to a protected port is gated, not only SYNs. FIN, NULL, Xmas and
# ACK scans see no difference between a live and a dead protected port; a connection that
# was open before the gate attached survives it; one opened inside a grant outlives the
# grant while it is active, and is cut once idle past flow_idle_timeout.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap 'exec 7>&- 8>&- 6>&-; finish' EXIT

lab_up 2222  # 7443 is protected too, but nothing listens there

# open_conn FD NAME: a client connection to 10.99.0.1:2222 fed by a fifo on fd FD.
open_conn() {
    mkfifo "$WORK/$2"
    in_ns xk-client sh -c "exec nc -N 10.99.0.1 2222 < '$WORK/$2' >/dev/null 2>&1" 9>&- &
    eval "exec $1>'$WORK/$2'"
    sleep 0.3
}
# delivered FD PORT: write a line on the connection; the gateway ACKs it within 3 s (the
# client's send queue drains), so the data got through the gate.
delivered() {
    echo "data $(date +%s%N)" >&"$1"
    for _ in $(seq 30); do
        local q
        q=$(in_ns xk-client ss -tnH state established "( sport = :$2 )" | awk '{print $2}')
        [ "$q" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}
local_port() { in_ns xk-client ss -tnH state established '( dport = :2222 )' | awk '{print $3}' | sed 's/.*://' | sort -n | tail -1; }

open_conn 6 before
PORT_BEFORE=$(local_port)
check "sanity: the connection opened before the gate carries data" delivered 6 "$PORT_BEFORE"

start_daemon <<'EOF2'
{
  "interfaces": [{"name": "gw-out"}],
  "flow_idle_timeout": 10,
  "services": [{"name": "ssh", "port": "tcp/2222"}, {"name": "dead", "port": "tcp/7443"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 3, "open": ["tcp/2222", "tcp/7443"],
              "secrets": [{"label": "l", "secret": "scan-lab-secret"}]}]
}
EOF2
check "attach keeps the established connection (seeded from sock_diag)" \
    grep -q "gw-out: 1 established connection(s) to protected ports kept open" "$WORK/daemon.log"
flow_pass=$(counter tcp_flow_pass)
check "the connection open before the gate still carries data" delivered 6 "$PORT_BEFORE"
check "... through the flow table" test "$(counter tcp_flow_pass)" -gt "$flow_pass"

# port_states FLAGS [nmap args]: "2222=STATE 7443=STATE" as nmap sees them from the client.
port_states() {
    in_ns xk-client nmap -n -Pn -T4 --max-retries 1 "$@" -p 2222,7443 10.99.0.1 2>/dev/null |
        awk '/^(2222|7443)\/tcp/ {split($1, p, "/"); printf "%s=%s ", p[1], $2}'
}
for scan in -sF -sN -sX; do
    drops=$(counter tcp_drop)
    states=$(port_states "$scan")
    check "nmap $scan: live and dead protected ports look alike ($states)" \
        test "$states" = "2222=open|filtered 7443=open|filtered "
    check "nmap $scan: the probes were dropped by the gate" test "$(counter tcp_drop)" -gt "$drops"
done
states=$(port_states -sA)
check "nmap -sA: both filtered, nothing unfiltered ($states)" test "$states" = "2222=filtered 7443=filtered "
states=$(port_states -sF -6)
states6=$(in_ns xk-client nmap -6 -n -Pn -T4 --max-retries 1 -sF -p 2222,7443 fd99::1 2>/dev/null |
    awk '/^(2222|7443)\/tcp/ {split($1, p, "/"); printf "%s=%s ", p[1], $2}')
check "nmap -6 -sF: live and dead look alike ($states6)" test "$states6" = "2222=open|filtered 7443=open|filtered "

# A connection opened inside the grant outlives it while active.
in_ns xk-client "$XDPKNOCK" send 10.99.0.1 --secret scan-lab-secret 2>/dev/null
sleep 0.3
open_conn 7 inside
PORT_INSIDE=$(local_port)
check "a connection opened inside the grant carries data" delivered 7 "$PORT_INSIDE"
range_accepts() { status_json | jq -e '.interfaces[0].ranges[0].accepted[0].accepted'; }
check "status counts the grant for the range's secret" at_least 3 1 range_accepts
sleep 4  # the grant (3 s) has expired; the flow is idle for 4 s, below 10 s
check "the grant has expired" test "$(authorized_count)" -eq 0
check "new connects are blocked again" connect_blocked 10.99.0.1 2222
check "the connection opened inside the grant still carries data" delivered 7 "$PORT_INSIDE"
sleep 12  # idle past flow_idle_timeout (10 s)
check "a connection idle past flow_idle_timeout is cut" sh -c "! delivered 7 $PORT_INSIDE"
