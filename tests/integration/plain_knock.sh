#!/usr/bin/env bash
# Lab: a protected port is invisible until a plain knock, open for `timeout`, then
# closed again; a wrong secret opens nothing; the knock port never answers; IPv4 and IPv6.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

SECRET="lab knock $(date +%s%N)"
# Same length as the secret, last byte differs: it passes the XDP length filter, so only the
# workers' constant-time compare can refuse it.
WRONG="${SECRET:0:-1}x"
lab_up 8080 22
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "nas", "port": "tcp/8080"}, {"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 3, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2
check "the wrong secret has the real one's length" test "${#WRONG}" -eq "${#SECRET}"

for addr in 10.99.0.1 fd99::1; do
    src=10.99.0.2
    [ "$addr" = fd99::1 ] && src=fd99::2
    check "$addr: connect before the knock: SYN dropped by the gate (no RST, syn_drop rose)" \
        connect_dropped "$addr" 8080

    mismatches=$(rejected plain_mismatch)
    knock_plain "$addr" "$WRONG"
    check "$addr: the same-length wrong secret was judged and refused as plain_mismatch" \
        at_least 3 $((mismatches + 1)) rejected plain_mismatch
    check "$addr: a wrong secret authorizes nothing" test "$(active_grants)" -eq 0
    check "$addr: connect after a wrong knock still dropped by the gate" connect_dropped "$addr" 8080

    knock_plain "$addr" "$SECRET"
    check "$addr: connect after the knock succeeds" connect_ok "$addr" 8080
    check "$addr: the knock opened only its range's list (tcp/22 dropped by the gate)" \
        connect_dropped "$addr" 22
    check "$addr: status lists the authorization of $src" test "$(active_grants "$src")" -eq 1
    sleep 3.2
    check "$addr: after the timeout the port is shut again (dropped by the gate)" \
        connect_dropped "$addr" 8080
done

check "daemon logged the grant with the secret's label, not the secret" \
    sh -c "grep -q 'secret lab-secret' '$WORK/daemon.log' && ! grep -qF '$SECRET' '$WORK/daemon.log'"

# No reply of any kind to UDP probes of the knock port, valid-looking or not.
for addr in 10.99.0.1 fd99::1; do
    six=; [ "$addr" = fd99::1 ] && six=-6
    out=$(in_ns xk-client nmap $six -Pn -n -sU -p 62201 --max-retries 1 "$addr" 2>&1)
    check "$addr: nmap sees udp/62201 as open|filtered (no answer at all)" \
        sh -c "echo '$out' | grep -q '62201/udp open|filtered'"
done
out=$(in_ns xk-client hping3 --udp -p 62201 -c 3 -i u100000 10.99.0.1 2>&1)
check "hping3 UDP probes get no reply" sh -c "echo '$out' | grep -q '100% packet loss'"
