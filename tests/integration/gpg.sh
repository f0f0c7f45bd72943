#!/usr/bin/env bash
# Lab: fwknop's GPG mode with the real Debian fwknop client (2.6.10) and gpg (GnuPG 2.2).
# Keys are made here: the gateway's, the client's (certified by the gateway), a known but
# unlisted signer's and a stranger's. An access.conf with two GPG stanzas (HMAC first, then
# no HMAC) is imported with `xdpknock import-fwknop` and run. A signed knock opens tcp/22; an
# HMAC'd one too; unsigned, signed by a stranger, by an unlisted key, encrypted to another
# key, or with a wrong HMAC key open nothing, each for its reason. The XDP pre-filter drops
# what is not GPG-shaped; a flood of GPG-shaped junk costs at most gpg_per_second gpg runs in
# a second and a signed knock still opens after it. fwknopd -t judges the captured knocks as
# xdpknockd --pcap does.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/fwknopd_lib.sh"
require_root
for tool in fwknop fwknopd gpg gpgconf dumpcap python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done

GW=10.99.0.1 CLIENT=10.99.0.2 PORT=62201 TIMEOUT=3 GPG_PER_SECOND=2
KEYS=$WORK/gpg
FWHOME=$WORK/fwknop-home   # fwknop's $HOME: nothing may land in /root
mkdir -p "$FWHOME" "$WORK/state" "$KEYS"
chmod 700 "$FWHOME" "$KEYS"

homes=(gateway client unlisted stranger)
# gpg-agents started for the keyrings (by gpg here, by gpgme in the daemon) go with the lab.
cleanup() {
    local rc=$?
    for h in "${homes[@]}"; do gpgconf --homedir "$KEYS/$h" --kill gpg-agent 2>/dev/null; done
    (exit $rc)
    finish
}
trap cleanup EXIT

g() { local who=$1; shift; gpg --homedir "$KEYS/$who" --batch --yes --quiet "$@"; }
make_key() {
    mkdir -m 700 "$KEYS/$1"
    g "$1" --passphrase '' --quick-gen-key "xk lab $1 <$1@xk.test>" default default never 2>/dev/null
    g "$1" --list-secret-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}'
}
give() { g "$1" --export "$2" | g "$3" --import 2>/dev/null; }  # FROM FPR TO

for h in "${homes[@]}"; do declare "FPR_${h^^}=$(make_key "$h")"; done
check "gpg made four RSA keys" test -n "$FPR_GATEWAY" -a -n "$FPR_CLIENT" -a -n "$FPR_UNLISTED" -a -n "$FPR_STRANGER"
for h in client unlisted stranger; do give gateway "$FPR_GATEWAY" "$h"; done
give stranger "$FPR_STRANGER" client  # the client can encrypt to a key that is not the gateway's
give client "$FPR_CLIENT" gateway
give unlisted "$FPR_UNLISTED" gateway
g gateway --quick-lsign-key "$FPR_CLIENT" >/dev/null 2>&1
g gateway --quick-lsign-key "$FPR_UNLISTED" >/dev/null 2>&1
HKEY=$(head -c 32 /dev/urandom | base64 -w0) WRONG_HKEY=$(head -c 32 /dev/urandom | base64 -w0)

stanza() {
    cat <<EOF2
SOURCE              10.99.0.0/24
OPEN_PORTS          tcp/22
REQUIRE_SOURCE_ADDRESS Y
FW_ACCESS_TIMEOUT   $TIMEOUT
GPG_HOME_DIR        $KEYS/gateway
GPG_DECRYPT_ID      $FPR_GATEWAY
GPG_ALLOW_NO_PW     Y
GPG_FINGERPRINT_ID  $FPR_CLIENT
EOF2
}
{ stanza; echo "HMAC_KEY_BASE64     $HKEY"; echo; stanza; } | write_private "$WORK/access.conf"

imported=$("$XDPKNOCK" import-fwknop "$WORK/access.conf" -i gw-out 2>"$WORK/import.log")
check "xdpknock import-fwknop takes both GPG stanzas" \
    test "$(jq '[.ranges[].secrets[] | select(.gpg_decrypt_id == "'"$FPR_GATEWAY"'")] | length' <<<"$imported")" = 2
config() {
    jq --arg s "$WORK/state" --argjson n "$GPG_PER_SECOND" \
        '.state_dir = $s | .ranges[1].gpg_per_second = $n' <<<"$imported"
}

config | write_private "$WORK/check.json"
check "xdpknock check-config opens the keyring: ok" sh -c "'$XDPKNOCK' check-config '$WORK/check.json' | grep -q ': ok'"
config | jq '.ranges[0].secrets[0].gpg_decrypt_id = "'"$FPR_STRANGER"'"' | write_private "$WORK/wrong-id.json"
rc=0
err=$("$XDPKNOCK" check-config "$WORK/wrong-id.json" 2>&1) || rc=$?
check "check-config: a key the keyring lacks exits 2" test "$rc" = 2
check "…naming the secret and gpg_decrypt_id" sh -c 'printf %s "$1" | grep -qF "$2"' _ "$err" \
    "secret access.conf:1:gpg: gpg_decrypt_id $FPR_STRANGER: no secret key"

# knock WHO [fwknop args…]: the real client from xk-client with WHO's keyring, signed by WHO
# unless WHO is "unsigned" (the client's keyring, no signer).
knock() {
    local who=$1 home=$1 sign=(); shift
    [ "$who" = unsigned ] && home=client
    local fpr_var="FPR_${who^^}"
    [ "$who" != unsigned ] && sign=(--gpg-signer-key "${!fpr_var}" --gpg-no-signing-pw)
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -U lab-user \
        --gpg-home-dir "$KEYS/$home" --gpg-recipient-key "${GPG_TO:-$FPR_GATEWAY}" "${sign[@]}" \
        -A tcp/22 -a "$CLIENT" -D "$GW" "$@" >>"$WORK/fwknop.log" 2>&1
}
no_active() { [ "$(active_grants)" -eq 0 ]; }

lab_up 22 23
start_daemon <<<"$(config)"

in_ns xk-client dumpcap -q -i xk-c -f "udp dst port $PORT" -P -a duration:600 \
    -w "$WORK/knocks.pcap" 2>"$WORK/dumpcap.log" &
CAP_PID=$!
for _ in $(seq 50); do grep -q "Capturing on" "$WORK/dumpcap.log" && break; sleep 0.1; done

check "before a knock: connect to $GW tcp/22 is dropped by the gate" connect_dropped "$GW" 22
log_mark
check "fwknop --gpg-recipient-key … --gpg-signer-key (the client's) sends" knock client
check "the signed knock opens tcp/22" connect_ok "$GW" 22
check "daemon log: authorized $CLIENT for tcp/22 (range fwknop-2, GPG secret, user lab-user)" \
    log_since_mark "authorized $CLIENT for tcp/22 for ${TIMEOUT}s \(range fwknop-2, secret access.conf:11:gpg, user lab-user\)"
sleep "$TIMEOUT.2"
check "after ${TIMEOUT}s: tcp/22 is shut again" connect_dropped "$GW" 22

log_mark
check "fwknop with GPG and --use-hmac sends" knock client --use-hmac --key-base64-hmac "$HKEY" --hmac-digest-type sha256
check "the HMAC'd GPG knock opens tcp/22" connect_ok "$GW" 22
check "daemon log: authorized by the HMAC stanza (range fwknop-1)" \
    log_since_mark "authorized $CLIENT for tcp/22 for ${TIMEOUT}s \(range fwknop-1, secret access.conf:1:gpg, user lab-user\)"
sleep "$TIMEOUT.2"

refused() {  # refused REASON WHAT WHO [fwknop args…]
    local reason=$1 what=$2; shift 2
    log_mark
    check "$what: fwknop sends" knock "$@"
    check "$what: refused, reason $reason" log_since_mark "knock refused from $CLIENT to udp/$PORT: $reason\$"
    check "$what: no authorization" no_active
    check "$what: connect to tcp/22 is dropped by the gate" connect_dropped "$GW" 22
}
refused gpg_no_signature "unsigned" unsigned
refused gpg_bad_signature "signed by a key the gateway does not know" stranger
refused gpg_signer_not_allowed "signed by a certified key not in GPG_FINGERPRINT_ID" unlisted
GPG_TO=$FPR_STRANGER refused gpg_decrypt_failed "encrypted to another key" client
log_mark
check "wrong HMAC key: fwknop sends" knock client --use-hmac --key-base64-hmac "$WRONG_HKEY" --hmac-digest-type sha256
check "wrong HMAC key: refused" log_since_mark "knock refused from $CLIENT to udp/$PORT: "
check "wrong HMAC key: no authorization" no_active
check "wrong HMAC key: connect to tcp/22 is dropped by the gate" connect_dropped "$GW" 22

# ---- the XDP pre-filter: GPG knocks are 400..1500 bytes starting with A..Z
send_junk() {  # COUNT LENGTH FIRST-CHAR
    in_ns xk-client python3 - "$GW" "$PORT" "$@" <<'PY'
import random, socket, string, sys
gw, port, count, length, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
alphabet = string.ascii_letters + string.digits + "+/"
for _ in range(count):
    s.sendto((first + "".join(random.choice(alphabet) for _ in range(length - 1))).encode(), (gw, port))
PY
}
len0=$(xdp_counter knock_len_drop) byte0=$(xdp_counter knock_byte_drop)
send_junk 1 300 G
send_junk 1 800 8
check "XDP drops a 300-byte payload (too short for GPG) as knock_len_drop" at_least 3 $((len0 + 1)) xdp_counter knock_len_drop
check "XDP drops an 800-byte payload starting with '8' (no fko secret here) as knock_byte_drop" \
    at_least 3 $((byte0 + 1)) xdp_counter knock_byte_drop

# ---- a flood of GPG-shaped junk: the budget bounds the gpg runs, a real knock still opens
failed0=$(rejected gpg_decrypt_failed) limited0=$(rejected gpg_rate_limited)
send_junk 30 698 G
judged_junk() { echo $(( $(rejected gpg_decrypt_failed) + $(rejected gpg_rate_limited) )); }
check "30 GPG-shaped junk knocks: all judged (decrypt_failed + rate_limited = 30)" \
    at_least 5 $((failed0 + limited0 + 30)) judged_junk
failed=$(( $(rejected gpg_decrypt_failed) - failed0 ))
check "gpg ran for at most gpg_per_second ($GPG_PER_SECOND) a second of the flood ($failed did); the rest were gpg_rate_limited" \
    test "$failed" -ge "$GPG_PER_SECOND" -a "$failed" -le $((GPG_PER_SECOND * 2))
sleep 2.1  # a second of its own: the flood's seconds have spent their budget
log_mark
check "after the flood, a signed knock is sent" knock client
check "…and opens tcp/22" connect_ok "$GW" 22
sleep "$TIMEOUT.2"

# ---- fwknopd -t and xdpknockd --pcap on the same capture of the client's knocks
in_ns xk-client pkill -INT -x dumpcap
wait "$CAP_PID"
frames=$(tshark -r "$WORK/knocks.pcap" 2>/dev/null | wc -l)
dry=$("$XDPKNOCKD" -c "$WORK/config.json" --pcap "$WORK/knocks.pcap" --dry-run -q | jq -c .summary)
run_fwknopd "$WORK/fwknopd" "$WORK/knocks.pcap" "$WORK/access.conf" "$frames" "PCAP_FILTER udp port $PORT;"
accepted=$(jq .accepted <<<"$dry")
echo "  xdpknockd --pcap --dry-run: $dry"
check "xdpknockd --pcap accepts the 3 valid knocks of the $frames captured" test "$accepted" = 3
check "fwknopd -t accepts the same $accepted" test "$(fwknopd_accepted "$WORK/fwknopd/fwknopd.log")" = "$accepted"
check "fwknopd names the same refusals: no signature, bad signature, not in the fingerprint list" \
    test "$(grep -c 'Missing GPG signature' "$WORK/fwknopd/fwknopd.log")" -ge 1 -a \
    "$(grep -c 'not in the GPG_FINGERPRINT_ID list' "$WORK/fwknopd/fwknopd.log")" -ge 1
check "xdpknockd's dry run counts one of each refusal reason the live daemon logged" \
    test "$(jq -c '[.rejected.gpg_no_signature, .rejected.gpg_bad_signature, .rejected.gpg_signer_not_allowed] | map(. // 0 | . >= 1) | all' <<<"$dry")" = true
