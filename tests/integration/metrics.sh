#!/usr/bin/env bash
# Lab: the Prometheus endpoint ("metrics": {"listen": ...}). After one wrong and one right
# plain knock and one connect, a scrape says exactly that: the accepted counter of the
# range/secret label is 1, the reject reason 1, the XDP counters moved by the packets sent
# and agree with the pinned map. Served on the gw namespace's loopback only; no source
# address and no secret in it; anything but /metrics is 404. The endpoint is cpp-httplib in
# xdpknock-metrics.so, mapped by the daemon with metrics on and never with them off (httplib
# starts OpenSSL when loaded: a few MB in every daemon).
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

PORT=9642
SECRET="lab metrics $(date +%s%N)"
WRONG="${SECRET:0:-1}x"  # same length: only the workers' compare refuses it
IFACE='interface="gw-out"'
ACCEPTED="xdpknock_knocks_total{$IFACE,range=\"lab\",secret=\"lab-secret\",result=\"accepted\"}"
SPARE="xdpknock_knocks_total{$IFACE,range=\"lab\",secret=\"spare\",result=\"accepted\"}"

# The daemon runs in xk-gw: scrape from inside that namespace.
scrape() { in_ns xk-gw curl -sS --max-time 3 "http://127.0.0.1:$PORT/metrics"; }
# metric SERIES: the value of the line whose series (name{labels}) is exactly SERIES.
metric() { scrape | awk -v s="$1" '$1 == s { print $2; found = 1 } END { exit !found }'; }
xdp() { metric "xdpknock_xdp_packets_total{$IFACE,decision=\"$1\"}"; }
# metric_sum PREFIX: the values of every series starting with PREFIX, added up.
metric_sum() {
    scrape | awk -v p="$1" 'index($1, p) == 1 { n += $2; found = 1 } END { print n + 0; exit !found }'
}
equals() { [ "$("${@:2}")" = "$1" ]; }

lab_up 8080
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "metrics": {"listen": "127.0.0.1:$PORT"},
  "services": [{"name": "nas", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 30, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"},
                          {"label": "spare", "secret": "$SECRET-spare"}]}]
}
EOF2

# The snapshot behind /metrics is taken once a second: wait for the first with counters.
if ! at_least 5 0 xdp knock_redirect; then
    bad "the daemon serves /metrics on 127.0.0.1:$PORT with the XDP counters"
    exit 1
fi
ok "the daemon serves /metrics on 127.0.0.1:$PORT with the XDP counters"
check "nothing accepted yet" equals 0 metric "$ACCEPTED"
redirect0=$(xdp knock_redirect) pass0=$(xdp syn_pass) drop0=$(xdp syn_drop)

check "connect before the knock: dropped by the gate" connect_dropped 10.99.0.1 8080
knock_plain 10.99.0.1 "$WRONG"
check "the wrong knock was refused (plain_mismatch)" at_least 3 1 rejected plain_mismatch
knock_plain 10.99.0.1 "$SECRET"
check "connect after the knock succeeds" connect_ok 10.99.0.1 8080
check "the scrape shows the grant" at_least 5 1 metric "$ACCEPTED"
sleep 1.5  # quiet now: the next snapshot holds every packet above

check "accepted for range lab, secret lab-secret: exactly 1" equals 1 metric "$ACCEPTED"
check "accepted for the secret not used: 0" equals 0 metric "$SPARE"
check "rejects: plain_mismatch exactly 1" \
    equals 1 metric "xdpknock_knock_rejects_total{$IFACE,reason=\"plain_mismatch\"}"
check "knock_redirect rose by the 2 knocks sent" equals $((redirect0 + 2)) xdp knock_redirect
check "syn_pass rose by the 1 authorized connect" equals $((pass0 + 1)) xdp syn_pass
check "syn_drop rose (the connect before the knock)" at_least 1 $((drop0 + 1)) xdp syn_drop
for c in knock_redirect syn_pass syn_drop; do
    check "$c: the scrape agrees with the pinned map" equals "$(xdp_counter $c)" xdp $c
done
check "the workers took the 2 knock frames" equals 2 metric_sum "xdpknock_queue_frames_total{$IFACE,"
check "no ring drops" equals 0 metric_sum "xdpknock_ring_drops_total{$IFACE,"
check "authorized sources of range lab: 1" \
    equals 1 metric "xdpknock_authorized_sources{$IFACE,range=\"lab\"}"
check "latency histogram: the one accepted knock" \
    equals 1 metric "xdpknock_knock_latency_seconds_count{$IFACE}"
check "latency histogram: +Inf bucket equals _count" \
    equals 1 metric "xdpknock_knock_latency_seconds_bucket{$IFACE,le=\"+Inf\"}"
body=$(scrape)
in_body() { grep -q -- "$1" <<<"$body"; }
absent() { ! grep -qF -- "$1" <<<"$body"; }
check "build info" in_body '^xdpknock_build_info{version="[^"]*",commit="[^"]*"} 1$'
check "no source address in the scrape" absent 10.99.0.2
check "no secret in the scrape" absent "$SECRET"
ctype=$(in_ns xk-gw curl -sS -o /dev/null -w '%{content_type}' "http://127.0.0.1:$PORT/metrics")
check "Content-Type text/plain; version=0.0.4" \
    test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"
code=$(in_ns xk-gw curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")
check "/other is 404" test "$code" = 404
from_outside() { in_ns xk-client curl -s --max-time 2 -o /dev/null "http://10.99.0.1:$PORT/metrics"; }
check "not served on the gateway's outside address (loopback only)" eval '! from_outside'

# mapped PID NAME: a mapping of the process is a file named NAME (libcpp-httplib: any version).
# One awk, no pipe: `awk | grep -q` fails under pipefail when grep quits before awk has written
# everything (SIGPIPE), which a process with more libraries mapped makes likely.
mapped() { awk -v n="/$2" 'index($6, n) { found = 1 } END { exit !found }' "/proc/$1/maps"; }
check "metrics on: the daemon mapped xdpknock-metrics.so" mapped "$DAEMON_PID" xdpknock-metrics.so
check "metrics on: the daemon mapped libcpp-httplib" mapped "$DAEMON_PID" libcpp-httplib.so

# Metrics off: the same gateway, idle, never loads the module or httplib.
stop_daemon
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "nas", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 30, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2
sleep 1.5  # a stats tick or so: whatever the idle daemon loads, it has loaded
check "metrics off: the daemon runs" kill -0 "$DAEMON_PID"
check "metrics off: no xdpknock-metrics.so mapped" eval '! mapped "$DAEMON_PID" xdpknock-metrics.so'
check "metrics off: no libcpp-httplib mapped" eval '! mapped "$DAEMON_PID" libcpp-httplib.so'
check "metrics off: nothing listens on $PORT" eval '! scrape >/dev/null 2>&1'
