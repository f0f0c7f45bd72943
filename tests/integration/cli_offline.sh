#!/usr/bin/env bash
# The tool's offline commands against their claims (no lab, no BPF): `keygen` keys work with
# the real fwknop client; `decode` reads a real `fwknop -T -B` packet field by field and
# names the precise reason for a wrong key, HMAC type, mode or age; `check-config` refuses a
# bad config with the key's path; `import-fwknop -o` writes a 0600 file (never through a
# symlink), warns on stderr about what it drops and refuses restrictions it cannot carry.
# Usage: cli_offline.sh XDPKNOCKD XDPKNOCK
XDPKNOCK=$2
source "$(dirname "$0")/interop_lib.sh"
require_tool fwknop
require_tool jq
trap finish EXIT

FWHOME=$WORK/fwknop-home  # fwknop's $HOME: nothing may land in /root
mkdir -p "$FWHOME"
chmod 700 "$FWHOME"
xk() { "$XDPKNOCK" "$@"; }

# ---- keygen
xk keygen --label kg >"$WORK/keygen.txt"
check_eq "keygen exits 0" 0 "$?"
SECRET_JSON=$(sed -n 's/^config secret: *//p' "$WORK/keygen.txt")
CLIENT_FLAGS=$(sed -n 's/^fwknop client: *//p' "$WORK/keygen.txt")
KEY=$(jq -r .key_base64 <<<"$SECRET_JSON")
HKEY=$(jq -r .hmac_key_base64 <<<"$SECRET_JSON")
check_eq "keygen: config secret has label, hmac, mode" "kg/sha256/cbc" \
    "$(jq -r '"\(.label)/\(.hmac)/\(.mode)"' <<<"$SECRET_JSON")"
check_eq "keygen: a 32-byte encryption key" 32 "$(base64 -d <<<"$KEY" | wc -c)"
check_eq "keygen: a 64-byte HMAC key" 64 "$(base64 -d <<<"$HKEY" | wc -c)"
check_eq "keygen: the fwknop client flags carry the same keys" \
    "--key-base64-rijndael $KEY --key-base64-hmac $HKEY --use-hmac --hmac-digest-type sha256" \
    "$CLIENT_FLAGS"
check "keygen: the access.conf lines carry the same keys" \
    grep -qx "    KEY_BASE64 $KEY" "$WORK/keygen.txt"
check "keygen: a second run makes other keys" \
    sh -c "! '$XDPKNOCK' keygen | grep -qF -- '$KEY'"

# A second key pair: the wrong keys below.
OTHER=$(xk keygen | sed -n 's/^config secret: *//p')
WRONG_KEY=$(jq -r .key_base64 <<<"$OTHER")
WRONG_HKEY=$(jq -r .hmac_key_base64 <<<"$OTHER")

# ---- decode: the real client's packet, built with keygen's flags (-T: built, never sent)
# fwknop_packet FILE ARGS…: the client's SPA data in FILE (no trailing newline).
fwknop_packet() {
    local out=$1
    shift
    HOME=$FWHOME fwknop --no-rc-file --no-save-args -D 127.0.0.1 -T -B "$out.raw" "$@" \
        >>"$WORK/fwknop.log" 2>&1 || return 1
    tr -d '\n' <"$out.raw" >"$out"
}
# shellcheck disable=SC2086  # the flags are words
check "fwknop -T -B builds a packet with keygen's client flags" \
    fwknop_packet "$WORK/pkt" -U xk-user -A tcp/22 -a 10.1.2.3 $CLIENT_FLAGS
PKT=$(cat "$WORK/pkt")
now=$(date +%s)
decoded=$(xk decode --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" \
    --hmac-digest-type sha256 "$PKT")
check_eq "decode: exit 0 for an accepted packet" 0 "$?"
check_eq "decode: accepted, fields as the client put them" \
    '{"accepted":true,"reason":"ok","secret":"command line","username":"xk-user","version":"3.0.0","message_type":1,"message":"10.1.2.3,tcp/22","nat_access":null,"client_timeout":0,"digest_type":"sha256"}' \
    "$(jq -c '{accepted, reason, secret, username, version, message_type, message, nat_access, client_timeout, digest_type}' <<<"$decoded")"
ts=$(jq -r '.timestamp | numbers' <<<"$decoded")
ts=${ts:-0}
check "decode: timestamp $ts is the client's now ($now)" test "$((ts - now))" -ge -5 -a "$((ts - now))" -le 5

# The keygen secret as a config file: decode --config takes its keys and names its label.
jq -n --argjson s "$SECRET_JSON" '{interfaces: [{name: "gw-out"}],
    services: [{name: "ssh", port: "tcp/22"}],
    ranges: [{name: "kg", method: "fko", open: ["tcp/22"], secrets: [$s]}]}' |
    write_private "$WORK/kg.json"
check_eq "decode --config: accepted with the keygen secret's label" "true/kg" \
    "$(xk decode --config "$WORK/kg.json" "$PKT" | jq -r '"\(.accepted)/\(.secret)"')"

# reason_of ARGS…: decode's reason and exit status, as "reason rc".
reason_of() {
    local out rc
    out=$(xk decode "$@")
    rc=$?
    echo "$(jq -r .reason <<<"$out") $rc"
}
check_eq "decode, wrong key pair: hmac_mismatch, exit 1" "hmac_mismatch 1" \
    "$(reason_of --key-base64-rijndael "$WRONG_KEY" --key-base64-hmac "$WRONG_HKEY" \
        --hmac-digest-type sha256 "$PKT")"
check_eq "decode, right HMAC key, wrong encryption key: decrypt_failed, exit 1" "decrypt_failed 1" \
    "$(reason_of --key-base64-rijndael "$WRONG_KEY" --key-base64-hmac "$HKEY" \
        --hmac-digest-type sha256 "$PKT")"
check_eq "decode, HMAC sha512 for a sha256 packet: hmac_mismatch" "hmac_mismatch 1" \
    "$(reason_of --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" \
        --hmac-digest-type sha512 "$PKT")"
check_eq "decode, mode ctr for a cbc packet: decrypt_failed" "decrypt_failed 1" \
    "$(reason_of --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" \
        --hmac-digest-type sha256 -M ctr "$PKT")"

# One packet per stdin line (empty lines skipped); any refusal makes the exit status 1.
printf '%s\n\n%s\n' "$PKT" "not-a-packet" | xk decode --key-base64-rijndael "$KEY" \
    --key-base64-hmac "$HKEY" --hmac-digest-type sha256 >"$WORK/lines.json"
check_eq "decode from stdin: exit 1 when a line is refused" 1 "$?"
check_eq "decode from stdin: one result per non-empty line" "true:ok false:too_short" \
    "$(jq -r '"\(.accepted):\(.reason)"' "$WORK/lines.json" | xargs)"

# The time window: a packet 10 minutes old is too_old, unless --no-time-check.
# shellcheck disable=SC2086
check "fwknop builds a packet 10 minutes in the past" \
    fwknop_packet "$WORK/old" -U xk-user -A tcp/22 -a 10.1.2.3 --time-offset-minus 10min $CLIENT_FLAGS
OLD=$(cat "$WORK/old")
check_eq "decode: a 10-minute-old packet is too_old" "too_old 1" \
    "$(reason_of --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --hmac-digest-type sha256 "$OLD")"
check_eq "decode --no-time-check: the same packet accepted" "ok 0" \
    "$(reason_of --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --hmac-digest-type sha256 \
        --no-time-check "$OLD")"
check_eq "decode --proof-time 900: the same packet accepted" "ok 0" \
    "$(reason_of --key-base64-rijndael "$KEY" --key-base64-hmac "$HKEY" --hmac-digest-type sha256 \
        --proof-time 900 "$OLD")"

# ---- check-config: a bad config exits 2 and names the key's path; a good one exits 0
check "check-config: the keygen config is ok" sh -c "'$XDPKNOCK' check-config '$WORK/kg.json' | grep -q ': ok'"
# refused_at PATH JQ_EDIT: the edited config is refused with 'xdpknock: PATH: …', exit 2.
refused_at() {
    local path=$1 err rc
    jq "$2" "$WORK/kg.json" | write_private "$WORK/bad.json"
    err=$(xk check-config "$WORK/bad.json" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 2 ] && grep -qF "xdpknock: $path: " <<<"$err" && return 0
    echo "  exit $rc: $err"
    return 1
}
check "check-config: xdp_mode fast -> interfaces[0].xdp_mode" \
    refused_at "interfaces[0].xdp_mode" '.interfaces[0].xdp_mode = "fast"'
check "check-config: hmac sha999 -> ranges[0].secrets[0].hmac" \
    refused_at "ranges[0].secrets[0].hmac" '.ranges[0].secrets[0].hmac = "sha999"'
check "check-config: open tcp/23 (no such service) -> ranges[0].open[0]" \
    refused_at "ranges[0].open[0]" '.ranges[0].open = ["tcp/23"]'
check "check-config: source 10.0.0.0/33 -> ranges[0].sources[0]" \
    refused_at "ranges[0].sources[0]" '.ranges[0].sources = ["10.0.0.0/33"]'
check "check-config: an unknown key -> ranges[0].colour" \
    refused_at "ranges[0].colour" '.ranges[0].colour = "blue"'
check "check-config: a 33-byte key -> ranges[0].secrets[0]" \
    refused_at "ranges[0].secrets[0]" ".ranges[0].secrets[0].key_base64 = \"$(head -c 33 /dev/zero | base64 -w0)\""
cp "$WORK/kg.json" "$WORK/open.json"
chmod 644 "$WORK/open.json"
err=$(xk check-config "$WORK/open.json" 2>&1)
check_eq "check-config: a group/other-readable config exits 2" 2 "$?"
check "check-config: ... naming the file and the mode" grep -qF "$WORK/open.json: holds secrets but is accessible by group/others (mode 0644)" <<<"$err"
head -c 200 "$WORK/kg.json" | write_private "$WORK/cut.json"
err=$(xk check-config "$WORK/cut.json" 2>&1)
check_eq "check-config: a cut file exits 2" 2 "$?"
check "check-config: ... and quotes no key from it" sh -c "! grep -qF -e '$KEY' -e '$HKEY' <<'EOF'
$err
EOF"

# ---- import-fwknop -o
cat >"$WORK/access.conf" <<EOF
SOURCE                 10.99.0.0/24
OPEN_PORTS             tcp/22, udp/53
KEY_BASE64             $KEY
HMAC_KEY_BASE64        $HKEY
HMAC_DIGEST_TYPE       sha256
FW_ACCESS_TIMEOUT      30
GPG_REMOTE_ID          1234ABCD
FOO_BAR                1
EOF
(umask 022 && xk import-fwknop "$WORK/access.conf" -i gw-out -o "$WORK/imported.json" \
    2>"$WORK/import.err")
check_eq "import-fwknop -o: exit 0" 0 "$?"
check_eq "import-fwknop -o: the file is mode 0600 under umask 022" 600 "$(stat -c %a "$WORK/imported.json")"
check_eq "import-fwknop: tcp/22 and udp/53 become protected services" '["tcp/22","udp/53"]' \
    "$(jq -c '[.services[].port]' "$WORK/imported.json")"
check "import-fwknop: stderr warns GPG_REMOTE_ID is not carried over without GPG_DECRYPT_ID (line 7)" \
    grep -qF "xdpknock: access.conf:7: GPG_* keywords without GPG_DECRYPT_ID not carried over" "$WORK/import.err"
check "import-fwknop: stderr warns FOO_BAR is ignored (line 8)" \
    grep -qF "xdpknock: access.conf:8: unknown FOO_BAR ignored" "$WORK/import.err"
check_eq "import-fwknop: the range opens tcp/22 and udp/53 for 10.99.0.0/24 for 30 s" \
    '{"open":["tcp/22","udp/53"],"sources":["10.99.0.0/24"],"timeout":30}' \
    "$(jq -c '.ranges[0] | {open, sources, timeout}' "$WORK/imported.json")"
check "import-fwknop: the written config passes check-config" \
    sh -c "'$XDPKNOCK' check-config '$WORK/imported.json' >/dev/null"
check_eq "import-fwknop: its keys decode the client's packet" true \
    "$(xk decode --config "$WORK/imported.json" "$PKT" | jq -r .accepted)"

# Over an existing world-readable file: replaced by a fresh 0600 one.
echo old | (umask 022 && cat >"$WORK/existing.json")
xk import-fwknop "$WORK/access.conf" -i gw-out -o "$WORK/existing.json" 2>/dev/null
check_eq "import-fwknop -o over a 0644 file leaves it 0600" 600 "$(stat -c %a "$WORK/existing.json")"
# Through a planted symlink: the link is replaced, its target untouched.
echo victim >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/link.json"
xk import-fwknop "$WORK/access.conf" -i gw-out -o "$WORK/link.json" 2>/dev/null
check_eq "import-fwknop -o never writes through a symlink (target unchanged)" victim "$(cat "$WORK/victim")"
check "import-fwknop -o: the symlink became a regular 0600 file" \
    sh -c "[ -f '$WORK/link.json' ] && [ ! -L '$WORK/link.json' ] && [ \$(stat -c %a '$WORK/link.json') = 600 ]"

# REQUIRE_USERNAME is carried: the range's users.
{ cat "$WORK/access.conf"; echo "REQUIRE_USERNAME       bob"; } >"$WORK/access-user.conf"
xk import-fwknop "$WORK/access-user.conf" -i gw-out -o "$WORK/user.json" 2>/dev/null
check_eq "import-fwknop: REQUIRE_USERNAME becomes the range's users" '["bob"]' \
    "$(jq -c '.ranges[0].users' "$WORK/user.json")"

# FORCE_NAT / FORCE_MASQUERADE are carried: the range's NAT access.
{ cat "$WORK/access.conf"; printf 'FORCE_NAT              192.168.1.100 22\nFORCE_MASQUERADE Y\n'; } \
    >"$WORK/access-fnat.conf"
xk import-fwknop "$WORK/access-fnat.conf" -i gw-out -o "$WORK/fnat.json" 2>/dev/null
check_eq "import-fwknop: FORCE_NAT becomes the range's nat.to, FORCE_MASQUERADE its snat" \
    '{"to":"192.168.1.100:22"} "masquerade"' \
    "$(jq -c '.ranges[0].nat, .ranges[0].snat' "$WORK/fnat.json" | tr '\n' ' ' | sed 's/ $//')"

# A restriction it cannot carry: refused whole, nothing written.
{ cat "$WORK/access.conf"; echo "DISABLE_DNAT           Y"; } >"$WORK/access-nat.conf"
err=$(xk import-fwknop "$WORK/access-nat.conf" -i gw-out -o "$WORK/nat.json" 2>&1)
check "import-fwknop: DISABLE_DNAT is refused (non-zero exit)" test "$?" -ne 0
check "import-fwknop: ... naming the line and the key" \
    grep -qF "access.conf:9: DISABLE_DNAT has no xdpknock equivalent" <<<"$err"
check "import-fwknop: ... and writes no file" test ! -e "$WORK/nat.json" -a ! -e "$WORK/nat.json.tmp"
