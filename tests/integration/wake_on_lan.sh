#!/usr/bin/env bash
# Lab: Wake-on-LAN on authorized demand. xk-lan plays the sleeping host: "asleep" means it
# answers no ARP (IPv4: `arp off`) or holds no address (IPv6), and tshark there records
# every magic packet. Unauthorized SYNs wake nothing; a knock and a SYN start a burst
# that stops once the host answers the gateway's probe; a SYN storm is one wake.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root

MINE=()  # background processes this test started (recorder, listeners, wakers)
cleanup() {
    for pid in "${MINE[@]}"; do kill "$pid" 2>/dev/null; done
    wait "${MINE[@]}" 2>/dev/null
    finish
}
trap cleanup EXIT

SECRET="wake knock $(date +%s%N)"
V4_PORT=8080 V6_PORT=8443 SSH_PORT=22
lab_up
MAC=$(in_ns xk-lan ip -o link show xk-l | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
WANT=$(printf 'ffffffffffff'; for _ in $(seq 16); do printf '%s' "${MAC//:/}"; done)

# The host's services: listeners in xk-lan, so a completed connect went all the way.
in_ns xk-lan nc -4 -lk -p "$V4_PORT" >/dev/null 2>&1 &
MINE+=($!)
in_ns xk-lan nc -6 -lk -p "$V6_PORT" >/dev/null 2>&1 &
MINE+=($!)

# Recorder: every EtherType 0x0842 frame on the host's link, raw payload in hex.
in_ns xk-lan tshark -i xk-l -l -n --disable-protocol wol -f "ether proto 0x0842" \
    -T fields -e frame.time_epoch -e data.data >"$WORK/magic.txt" 2>"$WORK/tshark.err" &
MINE+=($!)
for _ in $(seq 100); do grep -q "Capturing on" "$WORK/tshark.err" && break; sleep 0.1; done

# One host record per family, so each probe answers for exactly one of them.
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "hosts": [
    {"name": "nas", "mac": "$MAC", "ipv4": "10.99.1.2", "interface": "gw-lan",
     "wake": {"type": "link", "repeat_ms": 200, "timeout_s": 10}},
    {"name": "nas6", "mac": "$MAC", "ipv6": "fd99:1::2", "interface": "gw-lan",
     "wake": {"repeat_ms": 200, "timeout_s": 10}}
  ],
  "services": [{"name": "web", "port": "tcp/$V4_PORT", "host": "nas"},
               {"name": "web6", "port": "tcp/$V6_PORT", "host": "nas6"},
               {"name": "ssh", "port": "tcp/$SSH_PORT"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 60, "open": ["*"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2

magic_count() { grep -c . "$WORK/magic.txt"; }
# Every recorded payload is the 102-byte magic packet for the host's MAC.
all_magic_for_host() {
    [ "$(magic_count)" -gt 0 ] || return 1
    ! cut -f2 "$WORK/magic.txt" | tr -d ':' | grep -qv "^$WANT$"
}
# host_field NAME KEY [SUBKEY]: a field of the host's entry in status --json.
host_field() {
    status_json | python3 -c '
import json, sys
h = next(h for h in json.load(sys.stdin).get("hosts", []) if h["name"] == sys.argv[1])
for k in sys.argv[2:]:
    h = h[k]
print(h)' "$@"
}

sleep4() { in_ns xk-lan ip link set xk-l arp off; in_ns xk-gw ip neigh flush dev gw-lan; }
wake4() { in_ns xk-lan ip link set xk-l arp on; }
sleep6() { in_ns xk-lan ip -6 addr del fd99:1::2/64 dev xk-l 2>/dev/null; in_ns xk-gw ip -6 neigh flush dev gw-lan; }
wake6() {
    in_ns xk-lan ip -6 addr add fd99:1::2/64 dev xk-l nodad
    in_ns xk-lan ip -6 route replace default via fd99:1::1
}
# Wakes the host (WAKE_CMD) as soon as one more magic packet than now has arrived.
wake_on_magic() {
    local before=$(magic_count) cmd=$1
    BURST_START=$before
    (for _ in $(seq 150); do
        [ "$(magic_count)" -gt "$before" ] && { $cmd; exit 0; }
        sleep 0.05
    done) &
    MINE+=($!)
}
# burst_stopped HOST: the daemon saw the host answer, and after that no magic packet
# followed: the recorder holds exactly the packets the daemon says it sent (tshark
# delivers in batches, hence the settling second), and no more arrive.
burst_stopped() {
    for _ in $(seq 50); do
        [ "$(host_field "$1" last_wake result 2>/dev/null)" = woke ] && break
        sleep 0.1
    done
    sleep 1
    local n=$(magic_count)
    [ $((n - BURST_START)) -eq "$(host_field "$1" last_wake magic_packets)" ] || return 1
    sleep 1
    [ "$(magic_count)" -eq "$n" ]
}


# --- IPv4 ---------------------------------------------------------------------------------
sleep4
# The host answers no ARP, so a timeout alone proves nothing: the gate must count the drop.
check "v4: before the knock a connect to the sleeping host's service is dropped by the gate" \
    connect_dropped 10.99.1.2 "$V4_PORT"
drops=$(syn_drops)
in_ns xk-client hping3 -S -p "$V4_PORT" -c 200 -i u1000 10.99.1.2 >/dev/null 2>&1
check "v4: 200 unauthorized SYNs all dropped by the gate ($(($(syn_drops) - drops)))" \
    test $(($(syn_drops) - drops)) -ge 200
check "v4: ... no wake event in XDP" test "$(counter wake_event)" -eq 0
sleep 1.2  # stats.json is written every second
check "v4: ... no wake started (status: nas wakes = 0, nas6 wakes = 0)" \
    test "$(host_field nas wakes)/$(host_field nas6 wakes)" = 0/0
check "v4: ... and no magic packet recorded" test "$(magic_count)" -eq 0

knock_plain 10.99.0.1 "$SECRET"
sleep 0.3
wake_on_magic wake4
log_mark
start=$(date +%s%N)
check "v4: after the knock, connect to the asleep host succeeds once it woke" \
    in_ns xk-client nc -z -w 10 10.99.1.2 "$V4_PORT"
echo "     (connect took $((($(date +%s%N) - start) / 1000000)) ms)"
check "v4: magic packets were sent" test "$(magic_count)" -ge 1
check "v4: each is 102 bytes: 6 x ff + 16 x $MAC" all_magic_for_host
check "v4: the burst stopped once the host answered ARP" burst_stopped nas
# A SYN retry may raise a second ring event (debounce is per second); it must be coalesced
# into the running wake or find the host awake, never start a second burst.
check "v4: XDP raised a wake event for the authorized SYN" test "$(counter wake_event)" -ge 1
check "v4: exactly one wake for the connect (status: nas wakes = $(host_field nas wakes))" \
    test "$(host_field nas wakes)" -eq 1
check "v4: exactly one wake logged for the connect" \
    test "$(log_count_since_mark "wake nas (")" -eq 1
check "v4: daemon logged the wake with its trigger (source, service, secret label)" \
    grep -q "wake nas (.*authorized SYN from 10.99.0.2 to tcp/$V4_PORT (web) (range lab, secret lab-secret)" "$WORK/daemon.log"
check "v4: daemon logged the host up" grep -q "wake nas: up after" "$WORK/daemon.log"
sleep 1.2  # stats.json is written every second
check "v4: status shows nas awake" test "$(host_field nas state)" = awake
check "v4: status shows the last wake and its trigger" \
    test "$(host_field nas last_wake result)/$(host_field nas last_wake secret)/$(host_field nas last_wake source)" = "woke/lab-secret/10.99.0.2"
check "v4: status table lists the host" sh -c "'$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' status --run-dir '$WORK/run' | grep -q 'nas .* awake'"

# An awake host is not woken: the probe answers first. One SYN (the connect completes at
# once), so exactly one ring event, found already awake, no burst.
before=$(magic_count)
wakes=$(host_field nas wakes)
awake=$(host_field nas already_awake)
events=$(counter wake_event)
sleep 1.1  # past the BPF debounce
log_mark
check "v4: a connect to the awake host succeeds" in_ns xk-client nc -z -w 3 10.99.1.2 "$V4_PORT"
check "v4: ... its SYN raised exactly one wake event" test $(($(counter wake_event) - events)) -eq 1
check "v4: ... status counts it already awake (already_awake $awake -> $((awake + 1)))" \
    at_least 3 $((awake + 1)) host_field nas already_awake
check "v4: ... exactly once" test "$(host_field nas already_awake)" -eq $((awake + 1))
check "v4: ... no wake started (nas wakes stays $wakes)" test "$(host_field nas wakes)" -eq "$wakes"
check "v4: ... the last wake says already awake, no magic packet" \
    test "$(host_field nas last_wake result)/$(host_field nas last_wake magic_packets)" = "already awake/0"
check "v4: ... logged as already awake (since the connect)" \
    test "$(log_count_since_mark "wake nas: already awake")" -eq 1
sleep 1  # the recorder delivers in batches
check "v4: ... and no magic packet recorded" test "$(magic_count)" -eq "$before"

# SYN storm at a sleeping host: one wake, not thousands.
sleep4
sleep 1.1
before=$(magic_count)
wakes=$(host_field nas wakes)
events=$(counter wake_event)
suppressed=$(counter wake_suppressed)
wake_on_magic wake4
in_ns xk-client hping3 -S -p "$V4_PORT" -c 5000 -i u100 10.99.1.2 >/dev/null 2>&1
sleep 1.5
check "v4 storm: at most one ring event per debounce second (got $(($(counter wake_event) - events)))" \
    test $(($(counter wake_event) - events)) -le 2
check "v4 storm: the rest suppressed in XDP (got $(($(counter wake_suppressed) - suppressed)))" \
    test $(($(counter wake_suppressed) - suppressed)) -ge 4000
check "v4 storm: exactly one wake (burst)" test "$(host_field nas wakes)" -eq $((wakes + 1))
check "v4 storm: a handful of magic packets, not thousands ($(($(magic_count) - before)))" \
    test $(($(magic_count) - before)) -ge 1 -a $(($(magic_count) - before)) -le 5
check "v4 storm: burst stopped" burst_stopped nas

# A SYN to a protected service without a host wakes nothing.
events=$(counter wake_event)
passed=$(counter syn_pass)
in_ns xk-client nc -z -w 1 10.99.1.1 "$SSH_PORT" 2>/dev/null
check "an authorized SYN to a service without a host passed the gate" \
    test "$(counter syn_pass)" -gt "$passed"
check "... and sent no wake event" test "$(counter wake_event)" -eq "$events"

# --- IPv6 ---------------------------------------------------------------------------------
sleep6
events=$(counter wake_event)
check "v6: before the knock a connect is dropped by the gate" connect_dropped fd99:1::2 "$V6_PORT"
check "v6: ... and raised no wake event" test "$(counter wake_event)" -eq "$events"
knock_plain fd99::1 "$SECRET"
sleep 0.3
wake_on_magic wake6
log_mark
check "v6: after the knock, connect succeeds once the host woke" \
    in_ns xk-client nc -6 -z -w 10 fd99:1::2 "$V6_PORT"
check "v6: magic packets sent, each for the host's MAC" all_magic_for_host
check "v6: the burst stopped once the host answered NDP" burst_stopped nas6
check "v6: exactly one wake of nas6 for the connect" test "$(host_field nas6 wakes)" -eq 1
check "v6: exactly one wake of nas6 logged" test "$(log_count_since_mark "wake nas6 (")" -eq 1
check "v6: daemon logged the wake of nas6 from fd99::2" \
    grep -q "wake nas6 (.*authorized SYN from fd99::2 to tcp/$V6_PORT" "$WORK/daemon.log"
check "v6: daemon logged nas6 up" grep -q "wake nas6: up after" "$WORK/daemon.log"
sleep 1.2
check "v6: status shows nas6 awake" test "$(host_field nas6 state)" = awake
