#!/usr/bin/env bash
# Lab: the tool against a running gate. `xdpknock allow` opens exactly what it says for as
# long as it says and `revoke` shuts it at once (IPv4 and IPv6); both refuse a gate that is
# not there. Keys from `xdpknock keygen`, given to the real fwknop client as keygen prints
# them, open the gate; another keygen pair opens nothing.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
for tool in fwknop jq; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done
trap finish EXIT

GW=10.99.0.1 GW6=fd99::1 CLIENT=10.99.0.2 CLIENT6=fd99::2
FWHOME=$WORK/fwknop-home  # fwknop's $HOME: nothing may land in /root
mkdir -p "$FWHOME" "$WORK/state"
chmod 700 "$FWHOME"

"$XDPKNOCK" keygen --label kg >"$WORK/keygen.txt"
SECRET_JSON=$(sed -n 's/^config secret: *//p' "$WORK/keygen.txt")
CLIENT_FLAGS=$(sed -n 's/^fwknop client: *//p' "$WORK/keygen.txt")
WRONG_FLAGS=$("$XDPKNOCK" keygen | sed -n 's/^fwknop client: *//p')

lab_up 22 8080
jq -n --argjson s "$SECRET_JSON" --arg state "$WORK/state" '{
    interfaces: [{name: "gw-out"}], state_dir: $state,
    services: [{name: "ssh", port: "tcp/22"}, {name: "web", port: "tcp/8080"}],
    ranges: [{name: "kg", method: "fko", timeout: 30, sources: ["10.99.0.0/24"],
              open: ["tcp/22"], proof_ip: true, secrets: [$s]}]}' >"$WORK/config.in"
start_daemon <"$WORK/config.in"

xk() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" "$@"; }
# grants ADDR: ADDR's authorizations in status, as "port:seconds_left …".
grants() {
    gate_json | jq -r --arg a "$1" \
        '[.authorized[] | select(.source == $a and .expired == false) | "\(.port):\(.seconds_left)"] | join(" ")'
}
# says WANT CMD…: CMD exits 0 and prints exactly WANT.
says() {
    local want=$1 out
    shift
    out=$("$@" 2>&1) || { echo "  exit $?: $out"; return 1; }
    [ "$out" = "$want" ] || { echo "  printed: $out"; return 1; }
}

# ---- allow / revoke, IPv4: one port, for the given time
check "v4: before allow, tcp/8080 is dropped by the gate" connect_dropped "$GW" 8080
check "allow $CLIENT --port tcp/8080 -t 30 says so" \
    says "authorized $CLIENT for tcp/8080 for 30s" xk allow "$CLIENT" -i gw-out --port tcp/8080 -t 30
left=$(grants "$CLIENT")
check "status lists $CLIENT tcp/8080 alone, with 29-30 s left ($left)" \
    sh -c "[ '$left' = tcp/8080:30 ] || [ '$left' = tcp/8080:29 ]"
check "v4: after allow, tcp/8080 connects" connect_ok "$GW" 8080
check "v4: ... tcp/22 (not allowed) is still dropped by the gate" connect_dropped "$GW" 22
check "revoke $CLIENT says it removed 1" \
    says "revoked 1 authorization(s) of $CLIENT" xk revoke "$CLIENT" -i gw-out
check "v4: after revoke, status lists nothing for $CLIENT" test -z "$(grants "$CLIENT")"
check "v4: after revoke, tcp/8080 is dropped by the gate" connect_dropped "$GW" 8080
check "revoke again removes nothing" says "revoked 0 authorization(s) of $CLIENT" xk revoke "$CLIENT" -i gw-out

# ---- IPv6, every protected port (the default), and a short timeout that the kernel keeps
check "v6: before allow, tcp/22 is dropped by the gate" connect_dropped "$GW6" 22
check "allow $CLIENT6 (all protected ports) says so" \
    says "authorized $CLIENT6 for * for 30s" xk allow "$CLIENT6" -i gw-out
check "v6: after allow, tcp/22 connects" connect_ok "$GW6" 22
check "v6: after allow, tcp/8080 connects" connect_ok "$GW6" 8080
check "v6: ... and the v4 source is still dropped" connect_dropped "$GW" 22
check "revoke $CLIENT6 says it removed 1" \
    says "revoked 1 authorization(s) of $CLIENT6" xk revoke "$CLIENT6" -i gw-out
check "v6: after revoke, tcp/22 is dropped by the gate" connect_dropped "$GW6" 22
check "v6: after revoke, tcp/8080 is dropped by the gate" connect_dropped "$GW6" 8080

check "allow -t 2 says so" says "authorized $CLIENT for tcp/8080 for 2s" \
    xk allow "$CLIENT" -i gw-out --port tcp/8080 -t 2
check "-t 2: connects at once" connect_ok "$GW" 8080
sleep 2.2
check "-t 2: dropped by the gate after 2 s" connect_dropped "$GW" 8080

# ---- refusals: no gate, a bad address, a bad timeout
err=$(xk allow "$CLIENT" -i xk-none 2>&1)
check "allow on an ungated interface exits 1" test "$?" -eq 1
check "... saying the map is not pinned" grep -qF "$PIN_ROOT/xk-none/authorized: not pinned" <<<"$err"
check "revoke on an ungated interface exits 1" sh -c "! '$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' revoke '$CLIENT' -i xk-none 2>/dev/null"
check "allow of a non-address exits non-zero" sh -c "! '$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' allow 10.99.0 -i gw-out 2>/dev/null"
check "allow -t 0 exits non-zero" sh -c "! '$LAB' exec xk-gw '$XDPKNOCK' --pin-root '$PIN_ROOT' allow '$CLIENT' -i gw-out -t 0 2>/dev/null"
check "... and none of them authorized anything" test "$(active_grants)" -eq 0

# ---- keygen's keys with the real fwknop client
knock() {  # knock FLAGS: the real client from xk-client, -A tcp/22 for its own address
    # shellcheck disable=SC2086  # the flags are words
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -U xk-lab \
        -A tcp/22 -a "$CLIENT" -D "$GW" $1 >>"$WORK/fwknop.log" 2>&1
}
mismatches=$(rejected hmac_mismatch)
check "fwknop sends with another keygen pair" knock "$WRONG_FLAGS"
check "... refused as hmac_mismatch" at_least 3 $((mismatches + 1)) rejected hmac_mismatch
check "... tcp/22 still dropped by the gate" connect_dropped "$GW" 22
check "fwknop sends with the flags keygen printed" knock "$CLIENT_FLAGS"
check "keygen's keys opened tcp/22" connect_ok "$GW" 22
check "... and only tcp/22 (tcp/8080 dropped by the gate)" connect_dropped "$GW" 8080
check "daemon log: authorized $CLIENT for tcp/22 (range kg, secret kg, user xk-lab)" \
    grep -q "authorized $CLIENT for tcp/22 for 30s (range kg, secret kg, user xk-lab)" "$WORK/daemon.log"
check "revoke ends the fko grant too" says "revoked 1 authorization(s) of $CLIENT" xk revoke "$CLIENT" -i gw-out
check "... tcp/22 dropped by the gate again" connect_dropped "$GW" 22
[ "$FAILS" -eq 0 ] || { echo "--- fwknop output"; cat "$WORK/fwknop.log" 2>/dev/null; }
