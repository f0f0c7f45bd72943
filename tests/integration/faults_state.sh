#!/usr/bin/env bash
# Lab faults: the state folder (the replay journal) cannot be written.
# The rule: an fko knock is accepted only once its replay digest is journaled, so a knock
# accepted is never acceptable again after a restart. While the journal cannot be written,
# fko knocks are refused (journal_error, said once), the digest is still held in memory (the
# same packet is a replay), plain knocks (no replay state) are judged as always, and the
# gate keeps gating. Cases:
# - Full: state_dir on a 64 KiB tmpfs, filled up; then room again: fko knocks accepted.
# - Read-only while running: an ext4 image (errors=remount-ro) forced read-only by an error.
# - Read-only at start: the daemon starts and gates, restores the journal it can read, and
#   refuses fko knocks (so a reboot onto a read-only disk does not leave the link ungated).
XDPKNOCKD=$1 XDPKNOCK=$2 GEN=$3 REPLAY=$4
source "$(dirname "$0")/lab_lib.sh"
source "$(dirname "$0")/mq_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
STATE=$WORK/state IMG=$WORK/state.img
unmount_state() { mountpoint -q "$STATE" && umount -l "$STATE"; rm -f "$IMG"; }
trap 'rc=$?; unmount_state; (exit $rc); finish' EXIT

GW=10.99.0.1 STRANGER=10.99.0.77 PLAIN=10.99.0.78
SECRET="state knock $(date +%s%N)"
cat >"$WORK/base.json" <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$STATE",
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "fko", "method": "fko", "port": 62202, "timeout": 60,
              "sources": ["10.0.0.0/8"], "open": ["tcp/22"], "proof_ip": false,
              "secrets": [{"label": "k", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256", "mode": "cbc"}]},
             {"name": "plain", "method": "plain", "port": 62201, "timeout": 60,
              "open": ["tcp/8080"], "secrets": [{"label": "p", "secret": "$SECRET"}]}]
}
EOF2
chmod 600 "$WORK/base.json"

lab_up 22 8080
client_alias "$STRANGER/24"
client_alias "$PLAIN/24"
MAC=$(gw_mac)
# make_knock NAME: one fresh fko knock from its own /24 (SRC_NAME: "10.99.2NN."), kept as
# $WORK/NAME.pcap.
knock_n=0
make_knock() {  # make_knock NAME [COUNT]
    knock_n=$((knock_n + 1))
    "$GEN" --config "$WORK/base.json" --range fko --out "$WORK/$1.pcap" --seed "$knock_n$$" \
        --fko "${2:-1}" --ipv6-share 0 >/dev/null
    eval "SRC_$1=10.99.$((200 + knock_n))."
}
send() {  # send NAME: the knock's frames, from their own /24
    local src="SRC_$1"
    in_ns xk-client "$REPLAY" --dst-mac "$MAC" --pcap "$WORK/$1.pcap" --src-net "${!src}0/24" \
        --rate 2000 >/dev/null
}
plain_from() { printf '%s' "$SECRET" | in_ns xk-client nc -u -w0 -s "$1" "$GW" 62201; }
gated() {  # the checks that hold whatever the disk does
    check "$1: a stranger is dropped by the gate" connect_dropped "$GW" 22 "$STRANGER"
}
counted() { at_least 3 "$2" rejected "$1"; }  # counted REASON N: at least N refused for it
for k in a b c d e; do make_knock $k; done
make_knock burst 150

# ---- 1. Full.
mkdir -p "$STATE"
mount -t tmpfs -o size=64k,mode=0700 xk-state "$STATE"
start_daemon <"$WORK/base.json"
send a
check "room: an fko knock is accepted" at_least 3 1 accepted_total
check "room: ... and opens for its source" test "$(grants_from "$SRC_a")" -eq 1
dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null
# The journal's last page still takes up to 85 records: 150 knocks use it up.
send burst
check "full: once the journal's last page is used up, fko knocks are refused as journal_error" \
    counted journal_error 1
sleep 1.2
ok_burst=$(($(accepted_total) - 1)) before=$(rejected journal_error)
check "full: each of the 150 accepted ($ok_burst) or refused as journal_error ($before)" \
    test $((ok_burst + before)) -eq 150
check "full: a grant for each accepted one only" test "$(grants_from "$SRC_burst")" -eq "$ok_burst"
send b
check "full: the next one too" counted journal_error $((before + 1))
check "full: ... and opens nothing" test "$(grants_from "$SRC_b")" -eq 0
send b
check "full: the same packet again is a replay (held in memory)" counted replay 1
check "full: said once in the log" test "$(grep -c 'fko knocks are refused (journal_error)' "$WORK/daemon.log")" -eq 1
gated "full"
plain_from "$PLAIN"
check "full: a plain knock is judged and opens" connect_ok_from "$PLAIN" "$GW" 8080
rm -f "$STATE/filler"
send c
check "room again: an fko knock is accepted" at_least 3 1 grants_from "$SRC_c"
check "room again: said in the log" grep -q "replay journal .*: writable again" "$WORK/daemon.log"
stop_daemon
start_daemon <"$WORK/base.json"
send a
send c
check "restart: the knocks accepted on either side of the outage are replays" counted replay 2
stop_daemon
umount "$STATE"

# ---- 2. Read-only while running: ext4 turned read-only by an error (errors=remount-ro).
truncate -s 4M "$IMG"
mkfs.ext4 -q -F "$IMG"
mount -o loop,errors=remount-ro "$IMG" "$STATE"
chmod 700 "$STATE"
start_daemon <"$WORK/base.json"
send a
check "ext4: an fko knock is accepted" at_least 3 1 grants_from "$SRC_a"
echo 1 >"/sys/fs/ext4/$(basename "$(findmnt -n -o SOURCE "$STATE")")/trigger_fs_error"
check "ext4: now read-only" sh -c "! touch '$STATE/probe' 2>/dev/null"
send d
check "read-only: an fko knock is refused as journal_error" counted journal_error 1
check "read-only: ... and opens nothing" test "$(grants_from "$SRC_d")" -eq 0
check "read-only: the log says why" grep -q "replay journal $STATE/replay.journal: Read-only file system; fko knocks are refused" "$WORK/daemon.log"
gated "read-only"
plain_from "$STRANGER"
check "read-only: a plain knock is judged and opens" connect_ok_from "$STRANGER" "$GW" 8080

# ---- 3. Read-only at start (the same file system, still read-only).
stop_daemon
start_daemon <"$WORK/base.json"
check "read-only at start: the daemon starts and says fko knocks are refused" \
    grep -q "(state_dir); fko knocks are refused (journal_error) until it can be written" "$WORK/daemon.log"
check "read-only at start: the journal it can read is restored" \
    sh -c "grep 'replay cache: [0-9]* digest(s) restored' '$WORK/daemon.log' | tail -1 | awk '{ exit !(\$5 >= 1) }'"
send a
check "read-only at start: a knock accepted before is a replay" counted replay 1
send e
check "read-only at start: a fresh fko knock is refused as journal_error" counted journal_error 1
check "read-only at start: ... and opens nothing" test "$(grants_from "$SRC_e")" -eq 0
gated "read-only at start"
check "read-only at start: the grants from before still pass" connect_ok_from "$STRANGER" "$GW" 8080
