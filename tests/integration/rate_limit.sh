#!/usr/bin/env bash
# Lab: the per-source knock rate limit at its defaults (no "knock_rate" in the config: 20/s,
# burst 40). 200 knocks of the right length from one source in about 0.1 s: the burst and
# what refills meanwhile reach the workers and are judged; the rest are dropped in XDP
# (knock_rate_drop) and never judged. Another source is not held back by it, and the
# flooding source knocks again once its bucket refilled.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }
trap finish EXIT

RATE=20 BURST=40 N=200
GW=10.99.0.1 OTHER=10.99.0.3
SECRET="rate knock $(date +%s%N)"
WRONG="${SECRET:0:-1}x"  # same length: passes the XDP shape filter, judged if let through
lab_up 8080
client_alias "$OTHER/24"
start_daemon <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 30, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2
printf '%s' "$WRONG" >"$WORK/wrong.bin"
printf '%s' "$SECRET" >"$WORK/secret.bin"
# knock_from SRC FILE: one UDP knock with FILE's bytes from SRC.
knock_from() { in_ns xk-client nc -u -w0 -s "$1" "$GW" 62201 <"$2"; }

sleep 1.2  # a first stats.json
redirect0=$(xdp_counter knock_redirect) ratedrop0=$(xdp_counter knock_rate_drop)
lendrop0=$(xdp_counter knock_len_drop) frames0=$(worker_frames)
mismatch0=$(rejected plain_mismatch)

t0=$(date +%s%N)
in_ns xk-client hping3 --udp -p 62201 -d "${#WRONG}" -E "$WORK/wrong.bin" -c "$N" -i u500 "$GW" \
    >/dev/null 2>&1
t1=$(date +%s%N)
# While 10.99.0.2 is over its budget, a valid knock from another source gets through.
knock_from "$OTHER" "$WORK/secret.bin"
check "another source's valid knock passes while 10.99.0.2 floods: $OTHER connects" \
    connect_ok_from "$OTHER" "$GW" 8080

# Redirected and rate-dropped since the snapshot: the flood, plus $OTHER's one knock.
redirect=$(($(xdp_counter knock_redirect) - redirect0))
ratedrop=$(($(xdp_counter knock_rate_drop) - ratedrop0))
judged=$((redirect - 1))  # 10.99.0.2's knocks that reached the workers
# What may pass: the burst plus what refilled while the flood ran (+1 for rounding).
most=$((BURST + RATE * (t1 - t0) / 1000000000 + 1))
echo "     (flood of $N took $(((t1 - t0) / 1000000)) ms: $judged judged, $ratedrop rate-dropped)"
check "every flood knock accounted for: judged + rate-dropped = $N ($judged + $ratedrop)" \
    test $((judged + ratedrop)) -eq "$N"
check "no knock dropped for its length (the shape fits)" \
    test "$(xdp_counter knock_len_drop)" -eq "$lendrop0"
check "the default burst passed: at least $((BURST - 1)) of the flood judged" \
    test "$judged" -ge $((BURST - 1))
check "no more than burst + refill ($most) judged" test "$judged" -le "$most"
check "the rest dropped in XDP: knock_rate_drop rose by at least $((N - most))" \
    test "$ratedrop" -ge $((N - most))
check "the workers saw exactly the redirected knocks" at_least 3 $((frames0 + redirect)) worker_frames
check "... no more ($(($(worker_frames) - frames0)))" test "$(worker_frames)" -eq $((frames0 + redirect))
check "every judged flood knock refused as plain_mismatch ($judged), none of the dropped ones" \
    test "$(rejected plain_mismatch)" -eq $((mismatch0 + judged))
check "the flooding source holds no authorization" test "$(active_grants 10.99.0.2)" -eq 0
check "... its connect is dropped by the gate" connect_dropped "$GW" 8080

# Refilled: 40 tokens at 20/s take 2 s.
sleep 2.1
knock_from 10.99.0.2 "$WORK/secret.bin"
check "after the refill, 10.99.0.2's valid knock opens tcp/8080" connect_ok "$GW" 8080
