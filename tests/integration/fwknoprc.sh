#!/usr/bin/env bash
# Lab: a ~/.fwknoprc stanza written by the real fwknop client (--save-rc-stanza) drives
# `xdpknock send -n`: its knock opens tcp/22 through xdpknockd, and fwknopd 2.6.10 accepts
# the same packet (captured) with an access.conf holding the same keys. Flags beat the
# stanza; a stanza asking for what send cannot do is refused with the keyword, nothing sent.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/fwknopd_lib.sh"
require_root
trap finish EXIT

for tool in fwknop fwknopd dumpcap; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done

GW=10.99.0.1 CLIENT=10.99.0.2
RCHOME=$WORK/home  # the client user's HOME: fwknop writes .fwknoprc here
mkdir -p "$RCHOME" "$WORK/fwknopd"
chmod 700 "$RCHOME"
keys=$(HOME=$RCHOME fwknop --key-gen --no-rc-file)
KEY=$(sed -n 's/^KEY_BASE64: //p' <<<"$keys")
HKEY=$(sed -n 's/^HMAC_KEY_BASE64: //p' <<<"$keys")

# -T: fwknop saves the stanza and builds its packet, but sends nothing.
HOME=$RCHOME fwknop --save-rc-stanza -n home -A tcp/22 -a "$CLIENT" -D "$GW" \
    --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --use-hmac -T >"$WORK/fwknop.log" 2>&1
check "fwknop --save-rc-stanza wrote [home] with its keys, mode 0600" \
    sh -c "grep -qx '\[home\]' '$RCHOME/.fwknoprc' && grep -q '^HMAC_KEY_BASE64' '$RCHOME/.fwknoprc' &&
           test \"\$(stat -c %a '$RCHOME/.fwknoprc')\" = 600"

lab_up 22 23
start_daemon <<EOF
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "telnet", "port": "tcp/23"}],
  "ranges": [{"name": "rc", "method": "fko", "port": 62201, "timeout": 30, "sources": ["10.99.0.0/24"],
              "open": ["tcp/22"], "proof_ip": true,
              "secrets": [{"label": "home", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256", "mode": "cbc"}]}]
}
EOF

send_n() { in_ns xk-client env HOME="$RCHOME" "$XDPKNOCK" send "$@" >>"$WORK/send.log" 2>&1; }

check "before the knock: connect to $GW tcp/22 is dropped by the gate" connect_dropped "$GW" 22
in_ns xk-client dumpcap -q -i xk-c -f "udp dst port 62201" -c 1 -P -a duration:10 \
    -w "$WORK/knock.pcap" 2>"$WORK/dumpcap.log" &
CAP_PID=$!
for _ in $(seq 50); do grep -q "Capturing on" "$WORK/dumpcap.log" && break; sleep 0.1; done
check "xdpknock send -n home (no host, no key on the command line) sends" send_n -n home
check "after the knock: connect to $GW tcp/22 succeeds" connect_ok "$GW" 22
check "the stanza's ACCESS opened only tcp/22" connect_dropped "$GW" 23
wait "$CAP_PID"

# fwknopd judges the same packet with the same keys (-t: it touches no firewall).
write_private "$WORK/fwknopd/access.conf" <<EOF
SOURCE                  ANY
REQUIRE_SOURCE_ADDRESS  Y
KEY_BASE64              $KEY
HMAC_KEY_BASE64         $HKEY
EOF
run_fwknopd "$WORK/fwknopd" "$WORK/knock.pcap" "$WORK/fwknopd/access.conf" 1 \
    "PCAP_FILTER udp port 62201;"
check "fwknopd 2.6.10 accepts the captured knock of send -n" \
    test "$(fwknopd_accepted "$WORK/fwknopd/fwknopd.log")" -eq 1

# A flag beats the stanza: -a names another address, which proof_ip refuses.
check "revoke $CLIENT" in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" revoke "$CLIENT" -i gw-out
before=$(grep -c "source_mismatch" "$WORK/daemon.log")
check "send -n home -a 10.99.0.77 sends" send_n -n home -a 10.99.0.77
check "the flag's allow-IP was used: refused as source_mismatch" \
    sh -c "for i in \$(seq 20); do [ \$(grep -c source_mismatch '$WORK/daemon.log') -gt $before ] && exit 0; sleep 0.1; done; exit 1"
check "after it: tcp/22 is dropped again" connect_dropped "$GW" 22

# What send cannot honour is refused, naming the keyword, before anything is sent.
cat >>"$RCHOME/.fwknoprc" <<EOF

[gpg]
SPA_SERVER   $GW
USE_GPG      Y
EOF
frames=$(worker_frames)
in_ns xk-client env HOME="$RCHOME" "$XDPKNOCK" send -n gpg >"$WORK/gpg.out" 2>&1
check "send -n gpg exits 2" test $? -eq 2
check "… naming USE_GPG and its line" grep -qE "\.fwknoprc:[0-9]+: USE_GPG Y is not supported" "$WORK/gpg.out"
sleep 0.5
check "… and sent nothing (the workers saw no new frame)" test "$(worker_frames)" -eq "$frames"
check "send and its errors never print a key" \
    sh -c "! grep -qF -e '$KEY' -e '$HKEY' '$WORK/send.log' '$WORK/gpg.out' '$WORK/daemon.log'"
exit $((FAILS == 0 ? 0 : 1))
