#!/usr/bin/env bash
# Lab: `xdpknock agent` in the client namespace knocks on demand. A plain connect to a
# protected service succeeds first try with no manual knock — fko and plain, IPv4 and
# IPv6 — because the agent holds the SYN, knocks, and sends the SYN again (the gate never
# drops it); without the agent the same connect is dropped; a second connect within
# fresh_s sends no knock; a service not in the agent's config is never held; on exit,
# even kill -9, nothing is held any more (the client side fails open).
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
AGENT_PID=
stop_agent() {
    [ -n "$AGENT_PID" ] && kill -"${1:-TERM}" "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=
}
trap 'stop_agent; [ "$FAILS" -eq 0 ] || { echo "--- agent log"; cat "$WORK/agent.log"; }; finish' EXIT

GW=10.99.0.1 GW6=fd99::1
KEY=$(head -c 32 /dev/urandom | base64 -w0)
HKEY=$(head -c 64 /dev/urandom | base64 -w0)
PLAIN="agent-plain-$(head -c 12 /dev/urandom | base64 -w0 | tr -d '/+=')"

lab_up 22 23 24
start_daemon <<EOF
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "telnet", "port": "tcp/23"}],
  "ranges": [
    {"name": "fw", "method": "fko", "port": 62201, "timeout": 30, "sources": ["10.99.0.0/24"],
     "open": ["tcp/22"], "proof_ip": true,
     "secrets": [{"label": "agent", "key_base64": "$KEY", "hmac_key_base64": "$HKEY", "hmac": "sha256"}]},
    {"name": "fw6", "method": "fko", "port": 62201, "timeout": 30, "sources": ["fd99::/64"],
     "open": ["tcp/22"], "proof_ip": false,
     "secrets": [{"label": "agent6", "key_base64": "$KEY", "hmac_key_base64": "$HKEY", "hmac": "sha256"}]},
    {"name": "pl", "method": "plain", "port": 62202, "timeout": 30,
     "sources": ["10.99.0.0/24", "fd99::/64"], "open": ["tcp/23"],
     "secrets": [{"label": "plain", "secret": "$PLAIN"}]}
  ]
}
EOF

(umask 077 && cat >"$WORK/agent.json") <<EOF
{"remotes": [
  {"name": "fko4", "gateway": "$GW", "services": ["tcp/22"], "method": "fko", "port": 62201,
   "key_base64": "$KEY", "hmac_key_base64": "$HKEY", "hmac": "sha256", "allow_ip": "source"},
  {"name": "fko6", "gateway": "$GW6", "services": ["tcp/22"], "method": "fko",
   "key_base64": "$KEY", "hmac_key_base64": "$HKEY", "hmac": "sha256", "allow_ip": "any"},
  {"name": "plain4", "gateway": "$GW", "services": ["tcp/23"], "method": "plain", "port": 62202,
   "secret": "$PLAIN"},
  {"name": "plain6", "gateway": "$GW6", "services": ["tcp/23"], "method": "plain", "port": 62202,
   "secret": "$PLAIN", "fresh_s": 2}
]}
EOF

start_agent() {
    : >>"$WORK/agent.log"
    local n
    n=$(grep -c "agent running" "$WORK/agent.log")
    # "$LAB" exec, not in_ns: $! must be the agent itself (lab.sh execs nsenter, which execs it).
    "$LAB" exec xk-client "$XDPKNOCK" agent -c "$WORK/agent.json" "$@" >>"$WORK/agent.log" 2>&1 9>&- &
    AGENT_PID=$!
    for _ in $(seq 50); do
        [ "$(grep -c "agent running" "$WORK/agent.log")" -gt "$n" ] && return 0
        kill -0 "$AGENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "agent did not start:"; cat "$WORK/agent.log"; return 1
}
knocks_of() { grep -c "agent: knocked $1 " "$WORK/agent.log"; }
# once ADDR PORT: one connect, no retry loop (the agent must make the first one work).
once() { in_ns xk-client nc -z -w3 "$1" "$2" 2>/dev/null; }
# The program lives as long as the agent's tcx link (Debian's bpftool 7.1 cannot list tcx).
held_on_xk_c() { bpftool prog show name xk_agent_egress 2>/dev/null | grep -q xk_agent_egress; }
# bpftool walks every program by id and gives up on one freed under it (the last agent's, after
# a stop): a listing can miss a program that is there, so asking again is not a retry of luck.
held() {
    for _ in $(seq 20); do held_on_xk_c && return 0; sleep 0.1; done
    return 1
}
# SYNs the client's kernel had to send again: 0 means every connect got through first time.
syn_retrans() { in_ns xk-client nstat -saz TcpExtTCPSynRetrans | awk '/SynRetrans/ {print $2}'; }
# … and goes within moments of the agent's exit (its last reference is freed after RCU).
nothing_held() {
    for _ in $(seq 20); do held_on_xk_c || return 0; sleep 0.1; done
    return 1
}

check "without the agent: connect to $GW tcp/22 is dropped by the gate" connect_blocked "$GW" 22
cp "$WORK/agent.json" "$WORK/open.json"
chmod 644 "$WORK/open.json"
out=$(in_ns xk-client "$XDPKNOCK" agent -c "$WORK/open.json" 2>&1)
check "the agent refuses a config others can read (exit 2, says why)" \
    test $? -eq 2 -a -n "$(grep 'accessible by group/others' <<<"$out")"
start_agent
check "the agent found xk-c by its default route (no --interface)" grep -q "watching SYNs leaving xk-c" "$WORK/agent.log"
check "its program is on xk-c egress" held

retrans=$(syn_retrans)
for case in "fko4 $GW 22" "fko6 $GW6 22" "plain4 $GW 23" "plain6 $GW6 23"; do
    set -- $case
    t0=$(date +%s%N)
    check "$1: the first connect to [$2]:$3 succeeds, no manual knock" once "$2" "$3"
    echo "     ($1: connect took $((($(date +%s%N) - t0) / 1000000)) ms)"
    check "$1: the agent logged one knock" test "$(knocks_of "$1")" -eq 1
done
check "TCP retransmitted none of those SYNs (the agent's re-sent SYN got through)" \
    test "$(syn_retrans)" -eq "$retrans"
check "daemon log: fko4 authorized 10.99.0.2 (allow_ip source)" grep -q "authorized 10.99.0.2 for tcp/22 .*range fw," "$WORK/daemon.log"

check "fko4: a second connect within fresh_s succeeds" once "$GW" 22
check "fko4: … and sends no knock" test "$(knocks_of fko4)" -eq 1
check "a service not in the agent's config (tcp/24) connects untouched" once "$GW" 24
check "… and is never held (no knock, nothing logged for tcp/24)" sh -c "! grep -q 'tcp/24' '$WORK/agent.log'"
sleep 2.2
check "plain6: after its fresh_s (2 s) the next connect knocks again" once "$GW6" 23
check "plain6: two knocks now" test "$(knocks_of plain6)" -eq 2

check "SIGHUP reloads the config" sh -c "kill -HUP $AGENT_PID; sleep 0.5; grep -q 'agent: reloaded' '$WORK/agent.log'"
stop_agent TERM
check "after a stop nothing is held (the program is gone)" nothing_held
check "… and the agent said so" grep -q "agent stopping" "$WORK/agent.log"
start_agent -i xk-c
check "restarted with --interface xk-c: held again" held
stop_agent KILL
check "after kill -9 nothing is held either: the link died with the agent" nothing_held
check "the agent's log never holds a key" \
    sh -c "! grep -qF -e '$KEY' -e '$HKEY' -e '$PLAIN' '$WORK/agent.log'"
exit $((FAILS == 0 ? 0 : 1))
