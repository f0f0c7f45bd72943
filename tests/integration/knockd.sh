#!/usr/bin/env bash
# Lab: knockd's users keep their client. The real `knock` (Debian's knockd 0.8 package)
# completes a port sequence judged in XDP: tcp/22 opens for it (before, the SYN is dropped);
# the wrong order, hits spread past seq_timeout, or ACKs (tcp_flags) open nothing; a
# retransmitted hit does not reset; a scan of the sequence ports sees them filtered (no RST,
# no ICMP) while a plain closed port answers; IPv6 with knock -6; on_authorize runs with
# the source, ports and range; one-time sequences open once each, in file order, and a
# used one stays used across a restart; knockd.conf files imported with `xdpknock
# import-knockd` work with the same knock commands (Debian's own: open, then close).
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
for tool in knock nmap hping3 jq; do
    command -v "$tool" >/dev/null && continue
    if [ "${CI:-}" = true ]; then echo "FAIL: $tool not installed and CI=true"; exit 1; fi
    echo "SKIP: $tool not installed (scripts/install-deps.sh)"; exit 77
done
trap finish EXIT

GW=10.99.0.1 GW6=fd99::1 CLIENT=10.99.0.2 CLIENT6=fd99::2
printf '#!/bin/sh\nfor a; do printf "[%%s]" "$a"; done >>"%s"\necho >>"%s"\n' \
    "$WORK/hook.out" "$WORK/hook.out" >"$WORK/hook"
chmod 755 "$WORK/hook"
: >"$WORK/hook.out"
# knockd's one_time_sequences spelling; each line good for one grant, in order.
printf '7400,7500:udp,7600\n7700:udp,7800,7900\n8100,8200,8300:udp\n' >"$WORK/otp"

config() {
    cat <<EOF
{
  "interfaces": [{"name": "gw-out"}],
  "state_dir": "$WORK/state",
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "telnet", "port": "tcp/23"},
               {"name": "otp", "port": "tcp/24"}],
  "ranges": [
    {"name": "ssh-seq", "method": "sequence", "sequence": ["tcp/7000", "udp/8000", "tcp/9000"],
     "seq_timeout": 25, "tcp_flags": "syn,!ack", "open": ["tcp/22"], "timeout": 30,
     "hooks": {"on_authorize": ["$WORK/hook", "authorize", "%IP%", "%PORTS%", "%RANGE%"],
               "timeout_s": 5}},
    {"name": "slow-seq", "method": "sequence", "sequence": ["tcp/7100", "tcp/7200", "tcp/7300"],
     "seq_timeout": 2, "open": ["tcp/23"], "timeout": 30},
    {"name": "otp-seq", "method": "sequence", "one_time_sequences": "$WORK/otp",
     "seq_timeout": 10, "open": ["tcp/24"], "timeout": 30}
  ]
}
EOF
}

# knock_from ARGS…: the knockd package's client, unchanged, from xk-client.
knock_from() { in_ns xk-client knock "$@" >/dev/null; }
revoke() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" revoke "$1" -i gw-out >/dev/null; }
# scan_state PROTO PORT: nmap's verdict (-sS or -sU) on GW's PORT, one probe retry.
scan_state() {
    local flag=-sS
    [ "$1" = udp ] && flag=-sU
    in_ns xk-client nmap -n -Pn "$flag" --max-retries 1 --host-timeout 20s -p "$2" "$GW" 2>/dev/null |
        awk -v p="$2/$1" '$1 == p { print $2 }'
}
scan_is() { local got; got=$(scan_state "$1" "$2"); [ "$got" = "$3" ] || { echo "  $1/$2: $got"; return 1; }; }
line_within() {
    for _ in $(seq $(($1 * 10))); do grep -qxF -- "$2" "$WORK/hook.out" && return 0; sleep 0.1; done
    echo "  hook.out: $(cat "$WORK/hook.out")"
    return 1
}

lab_up 22 23 24
start_daemon <<<"$(config)"

# ---- the knock client, in order and not
check "before any knock: tcp/22 is dropped by the gate" connect_dropped "$GW" 22
knock_from "$GW" 9000 8000:udp 7000
check "wrong order (9000 8000:udp 7000) does not open tcp/22" connect_dropped "$GW" 22
check "... and the gate judged the hits (seq_miss counted)" at_least 2 1 xdp_counter seq_miss
knock_from "$GW" 7000 8000:udp 9000
check "knock $GW 7000 8000:udp 9000 opens tcp/22" connect_ok "$GW" 22
check "the gate counted one completed sequence" at_least 2 1 xdp_counter seq_done
check "on_authorize ran with the source, the ports and the range" \
    line_within 3 "[authorize][$CLIENT][tcp/22][ssh-seq]"
check "the grant is tcp/22 only: tcp/23 stays dropped" connect_dropped "$GW" 23
revoke "$CLIENT"
# knockd #72/#90: a retransmitted hit must not reset the sequence.
knock_from "$GW" 7000 7000 8000:udp 8000:udp 9000
check "each hit sent twice (a retransmit) still opens tcp/22" connect_ok "$GW" 22

# ---- tcp_flags "syn,!ack": an ACK (or SYN+ACK) is no hit; hping3 crafts them
revoke "$CLIENT"
hit() { in_ns xk-client timeout 0.5 hping3 -q -c 1 "$@" "$GW" >/dev/null 2>&1; }
hit -A -p 7000; hit --udp -p 8000; hit -SA -p 9000
check "tcp_flags: ACK and SYN+ACK hits do not open tcp/22" connect_dropped "$GW" 22
hit -S -p 7000; hit --udp -p 8000; hit -S -p 9000
check "tcp_flags: the same hits as plain SYNs open it" connect_ok "$GW" 22

# ---- seq_timeout: the whole sequence, first hit to last
knock_from -d 1500 "$GW" 7100 7200 7300
check "hits 1.5 s apart (3 s in all, seq_timeout 2) do not open tcp/23" connect_dropped "$GW" 23
knock_from -d 300 "$GW" 7100 7200 7300
check "the same hits 0.3 s apart open tcp/23" connect_ok "$GW" 23

# ---- a scan sees nothing: every sequence packet is dropped in XDP
check "nmap -sS: tcp/7000 is filtered (no RST)" scan_is tcp 7000 filtered
check "nmap -sS: tcp/9000 is filtered" scan_is tcp 9000 filtered
check "nmap -sU: udp/8000 is open|filtered (no ICMP unreachable)" scan_is udp 8000 "open|filtered"
check "control: nmap -sS sees a closed port (tcp/7001) answer with RST" scan_is tcp 7001 closed

# ---- IPv6, knock -6
check "v6: before the knock tcp/22 is dropped" connect_dropped "$GW6" 22
knock_from -6 "$GW6" 7000 8000:udp 9000
check "v6: knock -6 $GW6 7000 8000:udp 9000 opens tcp/22" connect_ok "$GW6" 22
check "v6: on_authorize ran for $CLIENT6" line_within 3 "[authorize][$CLIENT6][tcp/22][ssh-seq]"

# ---- one-time sequences: once each, in file order, used stays used across a restart
check "otp: before, tcp/24 is dropped" connect_dropped "$GW" 24
knock_from "$GW" 7700:udp 7800 7900
check "otp: the second line does not open while the first is unused" connect_dropped "$GW" 24
knock_from "$GW" 7400 7500:udp 7600
check "otp: the first line opens tcp/24" connect_ok "$GW" 24
revoke "$CLIENT"
knock_from "$GW" 7400 7500:udp 7600
check "otp: the first line replayed opens nothing" connect_dropped "$GW" 24
knock_from "$GW" 7700:udp 7800 7900
check "otp: the second line opens tcp/24" connect_ok "$GW" 24
revoke "$CLIENT"
stop_daemon
start_daemon <<<"$(config)"
knock_from "$GW" 7700:udp 7800 7900
check "otp, after a restart: the used second line opens nothing" connect_dropped "$GW" 24
knock_from "$GW" 8100 8200 8300:udp
check "otp, after a restart: the third line opens tcp/24" connect_ok "$GW" 24
check "otp: the ledger never holds a sequence itself" \
    sh -c "! grep -rqE '7400,|7500:|tcp/7400|udp/7500|7700:|udp/7700' '$WORK/state'"
stop_daemon
revoke "$CLIENT"
revoke "$CLIENT6"

# ---- knockd.conf files, imported, with the same knock commands
# import NAME [ARGS]: xdpknock import-knockd $WORK/NAME.conf ARGS, plus this lab's state
# folder, into $WORK/NAME-lab.json; false (a FAIL with the importer's words) when it refuses.
import() {
    # shellcheck disable=SC2086  # ARGS: words
    if ! "$XDPKNOCK" import-knockd "$WORK/$1.conf" ${2:-} -o "$WORK/$1.json" 2>"$WORK/$1-import.log"; then
        bad "xdpknock import-knockd $1.conf failed: $(head -3 "$WORK/$1-import.log")"
        return 1
    fi
    ok "xdpknock import-knockd $1.conf -o $1.json"
    jq --arg s "$WORK/state" '. + {state_dir: $s}' "$WORK/$1.json" >"$WORK/$1-lab.json"
}

# json_is FILTER NAME: the imported $WORK/NAME.json passes the jq filter.
json_is() { jq -e "$1" "$WORK/$2.json" >/dev/null; }

# start_command / stop_command with cmd_timeout: a grant for cmd_timeout.
cat >"$WORK/timed.conf" <<'EOF'
[options]
	UseSyslog
	Interface = gw-out

[openSSH]
	sequence      = 7000,8000:udp,9000
	seq_timeout   = 5
	tcpflags      = syn
	start_command = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
	cmd_timeout   = 3
	stop_command  = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
EOF
if import timed; then
    check "timed: openSSH opens tcp/22 for cmd_timeout (3 s)" \
        json_is '[.ranges[] | select(.method == "sequence" and .open == ["tcp/22"] and .timeout == 3)]
               | length == 1' timed
    start_daemon <"$WORK/timed-lab.json"
    check "timed: tcp/22 is dropped before the knock" connect_dropped "$GW" 22
    knock_from "$GW" 7000 8000:udp 9000
    check "timed: the same knock command opens tcp/22" connect_ok "$GW" 22
    sleep 3.5
    check "timed: the grant is gone after cmd_timeout (+ sweep)" connect_dropped "$GW" 22
    stop_daemon
fi

# Debian's own /etc/knockd.conf (its openHTTPS door aside: it runs a script not shipped):
# openSSH adds the iptables rule, closeSSH (the reverse sequence) deletes it again: a revoke
# range, which ends the knocker's grants (openSSH's would otherwise stand for 3600 s).
cat >"$WORK/debian.conf" <<'EOF'
[options]
	UseSyslog

[openSSH]
	sequence    = 7000,8000,9000
	seq_timeout = 5
	command     = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
	tcpflags    = syn

[closeSSH]
	sequence    = 9000,8000,7000
	seq_timeout = 5
	command     = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
	tcpflags    = syn
EOF
# No Interface in it: the importer's -i names the gate's.
if import debian "-i gw-out"; then
    check "debian: closeSSH is a revoke range (its own sequence, opens nothing)" \
        json_is '[.ranges[] | select(.name == "closeSSH" and .revoke == true and (has("open") | not)
                  and .sequence == ["tcp/9000", "tcp/8000", "tcp/7000"])] | length == 1' debian
    start_daemon <"$WORK/debian-lab.json"
    check "debian: tcp/22 is dropped before the knock" connect_dropped "$GW" 22
    knock_from "$GW" 7000 8000 9000
    check "debian: knock $GW 7000 8000 9000 opens tcp/22" connect_ok "$GW" 22
    knock_from "$GW" 9000 8000 7000
    check "debian: knock $GW 9000 8000 7000 (closeSSH) closes it again" connect_dropped "$GW" 22
    check "debian: the daemon logged closeSSH's revoke of $CLIENT's grant" grep -qE \
        "revoke sequence of range closeSSH completed by $CLIENT: [1-9][0-9]* authorization entr" \
        "$WORK/daemon.log"
    knock_from "$GW" 7000 8000 9000
    check "debian: after the close, openSSH's knock opens tcp/22 once more" connect_ok "$GW" 22
    stop_daemon
fi
exit $((FAILS == 0 ? 0 : 1))
