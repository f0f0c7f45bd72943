#!/usr/bin/env bash
# Lab: a protected port is invisible until a plain knock, open for `timeout`, then
# closed again; a wrong secret opens nothing; the knock port never answers; IPv4 and IPv6.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

SECRET="lab knock $(date +%s%N)"
lab_up 8080 22
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "nas", "port": "tcp/8080"}, {"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 3, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2

for addr in 10.99.0.1 fd99::1; do
    check "$addr: connect before the knock times out (SYN dropped, no RST)" connect_blocked "$addr" 8080
    drops=$(counter syn_drop)
    check "$addr: the drop was counted" test "${drops:-0}" -ge 1

    in_ns xk-client "$XDPKNOCK" send "$addr" --secret "wrong $SECRET"
    sleep 0.3
    check "$addr: a wrong secret authorizes nothing" test "$(authorized_count)" -eq 0
    check "$addr: connect after a wrong knock still blocked" connect_blocked "$addr" 8080

    in_ns xk-client "$XDPKNOCK" send "$addr" --secret "$SECRET"
    check "$addr: connect after the knock succeeds" connect_ok "$addr" 8080
    check "$addr: the knock opened only its range's list (tcp/22 stays shut)" connect_blocked "$addr" 22
    check "$addr: status lists the authorization" test "$(authorized_count)" -ge 1
    sleep 3.2
    check "$addr: after the timeout the port is shut again" connect_blocked "$addr" 8080
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
