#!/usr/bin/env bash
# Lab: the real Debian fwknop client (2.6.10) as the peer of an fko range.
# Keys from `fwknop --key-gen`; a knock over the veth opens tcp/22 for the knock's source;
# a captured knock replayed with tcpreplay after expiry is refused as a replay (also after a
# daemon restart: the journal in state_dir); a wrong key, a foreign -a, -s with proof_ip and
# a port outside the open list authorize nothing, each for its logged reason; IPv6 (the
# client is IPv4-only: its packet goes over v6 by nc);
# fwknop -f N lasts min(N, max_client_timeout).
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

for tool in fwknop dumpcap tcpreplay; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done

GW=10.99.0.1 GW6=fd99::1 CLIENT=10.99.0.2 CLIENT6=fd99::2
TIMEOUT=3 MAX_CLIENT_TIMEOUT=6
USERNAME=xk-lab-user
FWHOME=$WORK/fwknop-home   # fwknop's $HOME: nothing may land in /root
mkdir -p "$FWHOME" "$WORK/state"
chmod 700 "$FWHOME"

# keygen: "KEY_BASE64: …" and "HMAC_KEY_BASE64: …"; --no-rc-file keeps it from writing ~/.fwknoprc.
keygen() { HOME=$FWHOME fwknop --key-gen --no-rc-file; }
keys=$(keygen)
KEY=$(sed -n 's/^KEY_BASE64: //p' <<<"$keys")
HKEY=$(sed -n 's/^HMAC_KEY_BASE64: //p' <<<"$keys")
keys=$(keygen)
WRONG_KEY=$(sed -n 's/^KEY_BASE64: //p' <<<"$keys")
WRONG_HKEY=$(sed -n 's/^HMAC_KEY_BASE64: //p' <<<"$keys")
check "fwknop --key-gen made two different key pairs" \
    test -n "$KEY" -a -n "$HKEY" -a -n "$WRONG_KEY" -a "$KEY" != "$WRONG_KEY" -a "$HKEY" != "$WRONG_HKEY"

config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "telnet", "port": "tcp/23"}],
  "state_dir": "$WORK/state",
  "ranges": [
    {"name": "fw", "method": "fko", "port": 62201, "timeout": $TIMEOUT, "sources": ["10.99.0.0/24"],
     "open": ["tcp/22"], "proof_ip": true, "proof_time": 120, "max_client_timeout": $MAX_CLIENT_TIMEOUT,
     "secrets": [{"label": "k1", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                  "hmac": "sha256", "mode": "cbc"}]},
    {"name": "fw6", "method": "fko", "port": 62201, "timeout": $TIMEOUT, "sources": ["fd99::/64"],
     "open": ["tcp/22"], "proof_ip": false, "proof_time": 120,
     "secrets": [{"label": "k1-v6", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                  "hmac": "sha256", "mode": "cbc"}]}
  ]
}
EOF2
}

# knock [fwknop args…]: the real client from xk-client, right keys unless given others.
knock_with() {
    local k=$1 h=$2; shift 2
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -U "$USERNAME" \
        --key-base64-rijndael "$k" --key-base64-hmac "$h" --use-hmac \
        --hmac-digest-type sha256 -m sha256 -M cbc "$@" >>"$WORK/fwknop.log" 2>&1
}
knock() { knock_with "$KEY" "$HKEY" "$@"; }

replay_capture() { in_ns xk-client tcpreplay -q -i xk-c "$WORK/knock.pcap" >>"$WORK/tcpreplay.log" 2>&1; }

# grants_of ADDR: every authorization status lists for ADDR, expired or not.
grants_of() { status_json | jq --arg a "$1" '[.interfaces[0].authorized[] | select(.source == $a)] | length'; }

# revoke ADDR [N]: `xdpknock revoke` says what it removed (N entries, if given) and status
# lists nothing for ADDR afterwards.
revoke() {
    local out want="revoked ${2:-[0-9]+} authorization\(s\) of $1"
    out=$(in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" revoke "$1" -i gw-out 2>&1) ||
        { echo "  revoke $1: $out"; return 1; }
    grep -qxE "$want" <<<"$out" || { echo "  revoke $1 printed: $out"; return 1; }
    [ "$(grants_of "$1")" -eq 0 ]
}
revoke_all() {
    for a in "$CLIENT" "$CLIENT6"; do check "revoke $a: reported, and status lists none" revoke "$a"; done
}

# no_active: status works and lists no unexpired authorization (it lists expired ones
# until the sweeper runs).
no_active() { status_json | jq -e '.interfaces[0].authorized | type == "array" and all(.expired)' >/dev/null; }


# refused_for REASON ADDR: a refusal with that reason was logged since the mark.
refused_for() { log_since_mark "knock refused from $2 to udp/62201: $1\$"; }

# stat_sum NAME: NAME summed over the queues of stats.json (written every second).
stat_sum() {
    grep -o "\"$1\":[0-9]*" "$WORK/run/stats.json" 2>/dev/null | awk -F: '{s += $2} END {print s + 0}'
}
# stat_becomes NAME N: the stats file reaches N within 3 s.
stat_becomes() {
    for _ in $(seq 30); do
        [ "$(stat_sum "$1")" -eq "$2" ] && return 0
        sleep 0.1
    done
    echo "  stats.json: $(cat "$WORK/run/stats.json" 2>/dev/null)"
    return 1
}

lab_up 22 23
start_daemon <<<"$(config)"

# ---- the real client opens tcp/22; the knock is captured on the client side
check "before the knock: connect to $GW tcp/22 is dropped by the gate" connect_dropped "$GW" 22

in_ns xk-client dumpcap -q -i xk-c -f "udp dst port 62201" -c 1 -P -a duration:10 \
    -w "$WORK/knock.pcap" 2>"$WORK/dumpcap.log" &
CAP_PID=$!
for _ in $(seq 50); do grep -q "Capturing on" "$WORK/dumpcap.log" && break; sleep 0.1; done

log_mark
check "fwknop -A tcp/22 -a $CLIENT -D $GW sends its knock" knock -A tcp/22 -a "$CLIENT" -D "$GW"
check "after the knock: connect to $GW tcp/22 succeeds" connect_ok "$GW" 22
check "the knock opened only tcp/22 (tcp/23 stays shut)" connect_dropped "$GW" 23
wait "$CAP_PID"
check "dumpcap captured the knock in xk-client" test -s "$WORK/knock.pcap"

check "status lists exactly $CLIENT tcp/22, active, range 0, secret 0" \
    test "$(status_json | jq -c '[.interfaces[0].authorized[] | {source, port, expired, range, secret}]')" \
    = "[{\"source\":\"$CLIENT\",\"port\":\"tcp/22\",\"expired\":false,\"range\":0,\"secret\":0}]"
check "daemon log: authorized $CLIENT for tcp/22 for ${TIMEOUT}s (range fw, secret k1, user $USERNAME)" \
    log_since_mark "authorized $CLIENT for tcp/22 for ${TIMEOUT}s \(range fw, secret k1, user $USERNAME\)"
check "daemon log names the label, never the keys" \
    sh -c "! grep -qF -e '$KEY' -e '$HKEY' '$WORK/daemon.log'"

# The same capture through the daemon's offline validator: what the real client put inside.
dry=$("$XDPKNOCKD" -c "$WORK/config.json" --pcap "$WORK/knock.pcap" --dry-run 2>&1)
check "dry run of the capture: accepted, username $USERNAME, message '$CLIENT,tcp/22', type 1" \
    sh -c "echo '$dry' | grep -q '\"accepted\":true' && echo '$dry' | grep -q '\"username\":\"$USERNAME\"' &&
           echo '$dry' | grep -q '\"message\":\"$CLIENT,tcp/22\"' && echo '$dry' | grep -q '\"message_type\":1'"

sleep "$TIMEOUT.2"
check "after ${TIMEOUT}s: tcp/22 is shut again" connect_dropped "$GW" 22

# ---- replay of the captured knock (still inside proof_time: only the replay cache stops it)
log_mark
check "tcpreplay -i xk-c sends the captured knock again" replay_capture
check "daemon log: the replayed knock is refused as replay" refused_for replay "$CLIENT"
check "stats.json: rejected replay = 1" stat_becomes replay 1
check "no authorization after the replay" no_active
check "after the replay: connect still dropped by the gate" connect_dropped "$GW" 22

# The replay journal lives in state_dir: a new daemon still knows the knock.
stop_daemon
start_daemon <<<"$(config)"
check "restart: the journal restored the digest" \
    grep -qE "replay cache: [1-9][0-9]* digest\(s\) restored from $WORK/state/replay.journal" "$WORK/daemon.log"
log_mark
replay_capture
check "restart: the replayed knock is still refused as replay" refused_for replay "$CLIENT"
check "restart: connect still dropped by the gate" connect_dropped "$GW" 22

# ---- knocks that must authorize nothing, each for its reason
revoke_all
refused() {  # refused REASON WHAT FWKNOP-ARGS…
    local reason=$1 what=$2; shift 2
    log_mark
    check "$what: fwknop sends" knock_with "$@"
    check "$what: refused, reason $reason" refused_for "$reason" "$CLIENT"
    check "$what: no authorization" no_active
    check "$what: connect to tcp/22 is dropped by the gate" connect_dropped "$GW" 22
}
refused hmac_mismatch "wrong key pair" "$WRONG_KEY" "$WRONG_HKEY" -A tcp/22 -a "$CLIENT" -D "$GW"
refused hmac_mismatch "right AES key, wrong HMAC key" "$KEY" "$WRONG_HKEY" -A tcp/22 -a "$CLIENT" -D "$GW"
refused source_mismatch "proof_ip, -a 10.99.0.77" "$KEY" "$HKEY" -A tcp/22 -a 10.99.0.77 -D "$GW"
refused allow_ip_any_refused "proof_ip, -s (0.0.0.0)" "$KEY" "$HKEY" -A tcp/22 -s -D "$GW"
refused port_not_allowed "-A tcp/23 (not in open)" "$KEY" "$HKEY" -A tcp/23 -a "$CLIENT" -D "$GW"
check "tcp/23 also stays shut" connect_dropped "$GW" 23
refused port_not_allowed "-A tcp/22,tcp/23 (refused whole)" "$KEY" "$HKEY" -A tcp/22,tcp/23 -a "$CLIENT" -D "$GW"

# ---- IPv6. fwknop 2.6.10 cannot send to an IPv6 server: it has no -6 flag and resolves -D
# with getaddrinfo(AF_INET) only ("Address family for hostname not supported"); its raw
# modes are IPv4 too. The access message carries only an IPv4 allow IP anyway, so IPv6
# needs -s and a range without proof_ip (fw6). If a later client sends over v6, the live
# checks run; either way the real client's packet (built with -T -B) goes over UDP/IPv6.
check "v6: before the knock: connect to [$GW6] tcp/22 is dropped by the gate" connect_dropped "$GW6" 22
log_mark
if knock -A tcp/22 -s -D "$GW6"; then
    echo "note: this fwknop sends to an IPv6 -D: checking the live v6 knock"
    check "v6: fwknop's own v6 knock opens [$GW6] tcp/22" connect_ok "$GW6" 22
    check "v6: daemon log: authorized $CLIENT6 (range fw6)" \
        log_since_mark "authorized $CLIENT6 for tcp/22 for ${TIMEOUT}s \(range fw6, secret k1-v6, user $USERNAME\)"
    revoke_all
else
    check "v6: fwknop refuses an IPv6 -D (IPv4-only getaddrinfo), nothing sent" \
        grep -q "getaddrinfo: Address family for hostname not supported" "$WORK/fwknop.log"
    check "v6: the refused client opened nothing" connect_dropped "$GW6" 22
fi

rm -f "$WORK/v6.pkt"
check "v6: fwknop -T -B builds the packet for -D $GW6 (-s)" \
    knock -A tcp/22 -s -D "$GW6" -T -B "$WORK/v6.pkt"
log_mark
# -B writes the SPA data and a newline; the knock is the data alone.
tr -d '\n' <"$WORK/v6.pkt" >"$WORK/v6.payload"
in_ns xk-client nc -6 -u -w0 "$GW6" 62201 <"$WORK/v6.payload"
check "v6: fwknop's packet over UDP/IPv6 opens [$GW6] tcp/22" connect_ok "$GW6" 22
check "v6: daemon log: authorized $CLIENT6 for tcp/22 (range fw6, secret k1-v6, user $USERNAME)" \
    log_since_mark "authorized $CLIENT6 for tcp/22 for ${TIMEOUT}s \(range fw6, secret k1-v6, user $USERNAME\)"
check "v6: status lists $CLIENT6 tcp/22, active, range 1 (fw6)" \
    test "$(status_json | jq -c --arg a "$CLIENT6" '[.interfaces[0].authorized[] | select(.source == $a) | {port, expired, range}]')" \
    = '[{"port":"tcp/22","expired":false,"range":1}]'
check "v6: only the v6 source was authorized ($GW stays shut)" connect_dropped "$GW" 22
log_mark
in_ns xk-client nc -6 -u -w0 "$GW6" 62201 <"$WORK/v6.payload"
check "v6: the same packet again is refused as replay" refused_for replay "$CLIENT6"
# revoke ends the grant at once, long before its timeout.
check "v6: revoke $CLIENT6 prints 'revoked 1 authorization(s) of $CLIENT6'; status lists none" \
    revoke "$CLIENT6" 1
check "v6: after revoke, connect to [$GW6] tcp/22 is dropped by the gate" connect_dropped "$GW6" 22
check "v6: revoking it again removes nothing ('revoked 0 …')" revoke "$CLIENT6" 0
revoke_all

# ---- client timeout: fwknop -f N lasts min(N, max_client_timeout)
log_mark
t0=$(date +%s%N)
check "fwknop -f 2 sends (message type 3)" knock -A tcp/22 -a "$CLIENT" -D "$GW" -f 2
check "-f 2: daemon log: for 2s" log_since_mark "authorized $CLIENT for tcp/22 for 2s "
check "-f 2: connect succeeds" connect_ok "$GW" 22
sleep "$(awk -v t0="$t0" -v now="$(date +%s%N)" 'BEGIN { s = 2.3 - (now - t0) / 1e9; print (s > 0 ? s : 0) }')"
check "-f 2: shut after 2s (before the range's ${TIMEOUT}s)" connect_dropped "$GW" 22
revoke_all

log_mark
t0=$(date +%s%N)
check "fwknop -f 60 sends" knock -A tcp/22 -a "$CLIENT" -D "$GW" -f 60
check "-f 60: capped: daemon log: for ${MAX_CLIENT_TIMEOUT}s" \
    log_since_mark "authorized $CLIENT for tcp/22 for ${MAX_CLIENT_TIMEOUT}s "
left=$(status_json | jq --arg a "$CLIENT" '[.interfaces[0].authorized[] | select(.source == $a and .expired == false) | .seconds_left] | max')
check "-f 60: status seconds_left ${left:-none} is in ($((MAX_CLIENT_TIMEOUT - 2)), $MAX_CLIENT_TIMEOUT]" \
    test "${left:-0}" -gt $((MAX_CLIENT_TIMEOUT - 2)) -a "${left:-99}" -le "$MAX_CLIENT_TIMEOUT"
sleep "$(awk -v t0="$t0" -v now="$(date +%s%N)" -v t="$TIMEOUT" 'BEGIN { s = t + 1 - (now - t0) / 1e9; print (s > 0 ? s : 0) }')"
check "-f 60: still open after the range's ${TIMEOUT}s" connect_ok "$GW" 22
sleep "$(awk -v t0="$t0" -v now="$(date +%s%N)" -v t="$MAX_CLIENT_TIMEOUT" 'BEGIN { s = t + 0.3 - (now - t0) / 1e9; print (s > 0 ? s : 0) }')"
check "-f 60: shut after ${MAX_CLIENT_TIMEOUT}s" connect_dropped "$GW" 22

check "fwknop wrote nothing into its HOME (--no-rc-file, --no-save-args)" \
    test -z "$(ls -A "$FWHOME")"
[ "$FAILS" -eq 0 ] || { echo "--- fwknop output"; cat "$WORK/fwknop.log"; }
# finish (the EXIT trap) prints the tally; a trap's status is not the script's, so say it here.
exit $((FAILS == 0 ? 0 : 1))
