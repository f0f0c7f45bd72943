#!/usr/bin/env bash
# fwknop's own test captures through `xdpknockd --pcap --dry-run --no-time-check`, each with
# a config translated from the access.conf fwknop's test suite uses for it, checked against
# the answers in pcap/expected.json (decoded by libfko 2.6.10).
# Usage: pcap_conformance.sh XDPKNOCKD XDPKNOCK [CONFORMANCE_DIR]
XDPKNOCKD=$1 XDPKNOCK=$2
DIR=${3:-$(dirname "$0")/../../../shared/conformance/fwknop-upstream}/pcap
source "$(dirname "$0")/interop_lib.sh"
require_tool jq
trap finish EXIT
if [ ! -f "$DIR/expected.json" ]; then
    if [ "${CI:-}" = true ]; then echo "FAIL: no $DIR/expected.json and CI=true"; exit 1; fi
    echo "SKIP: conformance material not found at $DIR"; exit 77
fi
EXPECTED="$DIR/expected.json"

# access.conf and the test's fwknopd.conf lines -> an xdpknock config, through `xdpknock
# import-fwknop` (so the importer is checked against fwknop's own captures too).
translate() {
    jq -r '.fwknopd_conf_lines[]' <<<"$2" >"$WORK/fwknopd.conf"
    "$XDPKNOCK" import-fwknop "$1" --fwknopd-conf "$WORK/fwknopd.conf" -i gw-out 2>/dev/null
}

# pcap -> how many knocks xdpknockd must accept, and the reason the others get.
declare -A WANT_ACCEPTED=(
    [spa_replay.pcap]=2                # frame 2 is a replay of 1; frame 4 has the prefix put back
    [multi_pkts.pcap]=1                # 99 of the 100 fail the HMAC
    [fcs_spa.pcap]=1                   # the UDP length, not the frame, bounds the payload
    [spa_over_http.pcap]=1             # the GET of frame 4; frame 6, the response, is no knock
    [spa_x_forwarded_for.pcap]=1       # for 1.2.3.4, the address X-Forwarded-For names
    [spa_allow_any_user_agent.pcap]=0  # a browser's User-Agent: not a knock (fwknopd 2.6.10)
)
declare -A WANT_REJECTED=(
    [spa_replay.pcap]='{"bad_prefix":1,"replay":1}'
    [multi_pkts.pcap]='{"hmac_mismatch":99}'
    [fcs_spa.pcap]='{}'
    [spa_over_http.pcap]='{}'
    [spa_x_forwarded_for.pcap]='{}'
    [spa_allow_any_user_agent.pcap]='{}'
)

count=$(jq length "$EXPECTED")
for ((i = 0; i < count; i++)); do
    entry=$(jq -c ".[$i]" "$EXPECTED")
    pcap=$(jq -r .pcap <<<"$entry")
    translate "$DIR/$(jq -r .access_conf <<<"$entry")" "$entry" | write_private "$WORK/$pcap.json"
    "$XDPKNOCKD" --config "$WORK/$pcap.json" --pcap "$DIR/$pcap" --dry-run --no-time-check \
        >"$WORK/$pcap.out" 2>"$WORK/$pcap.err"
    rc=$?
    check_eq "$pcap: xdpknockd ran to the end (exit 0, no crash)" 0 "$rc"
    summary=$(jq -c 'select(.summary) | .summary' "$WORK/$pcap.out")
    check_eq "$pcap: accepted" "${WANT_ACCEPTED[$pcap]}" "$(jq -r .accepted <<<"$summary")"
    check_eq "$pcap: refusals by reason" "${WANT_REJECTED[$pcap]}" "$(jq -cS .rejected <<<"$summary")"
    check_eq "$pcap: read every frame" "$(jq -r .frames_total <<<"$entry")" \
        "$(jq -r .frames <<<"$summary")"

    # Each accepted knock is a UDP candidate libfko decoded, with the same fields.
    while read -r got; do
        frame=$(jq -r .frame <<<"$got")
        want=$(jq -c --argjson f "$frame" \
            '.candidates[] | select(.frame == $f) | .libfko
             | {username, message, message_type}' <<<"$entry")
        check_eq "$pcap: frame $frame decodes as libfko does" "$want" \
            "$(jq -c '{username, message, message_type}' <<<"$got")"
    done < <(jq -c 'select(.accepted == true)' "$WORK/$pcap.out")
done

# SPA over HTTP: the request's path is the knock; the client behind the proxy is the one
# X-Forwarded-For names, when the config says to believe it (ENABLE_X_FORWARDED_FOR Y).
check_eq "spa_over_http.pcap: the GET of frame 4 from 127.0.0.1" "4 127.0.0.1" \
    "$(jq -r 'select(.accepted == true) | "\(.frame) \(.source)"' "$WORK/spa_over_http.pcap.out")"
check_eq "spa_x_forwarded_for.pcap: frame 4 knocks for 1.2.3.4" "4 1.2.3.4" \
    "$(jq -r 'select(.accepted == true) | "\(.frame) \(.source)"' "$WORK/spa_x_forwarded_for.pcap.out")"
jq 'del(.http_x_forwarded_for)' "$WORK/spa_x_forwarded_for.pcap.json" | write_private "$WORK/no-xff.json"
"$XDPKNOCKD" --config "$WORK/no-xff.json" --pcap "$DIR/spa_x_forwarded_for.pcap" --dry-run \
    --no-time-check >"$WORK/no-xff.out" 2>/dev/null
check_eq "spa_x_forwarded_for.pcap: without http_x_forwarded_for, for the packet's source" \
    "4 127.0.0.1" "$(jq -r 'select(.accepted == true) | "\(.frame) \(.source)"' "$WORK/no-xff.out")"

# The knocks expected.json says a replay-caching receiver accepts, by frame.
check_eq "spa_replay.pcap: frames 1 and 3 accepted" "1 3" \
    "$(jq -r 'select(.accepted == true) | .frame' "$WORK/spa_replay.pcap.out" | xargs)"
check_eq "multi_pkts.pcap: the one accepted is frame 199" 199 \
    "$(jq -r 'select(.accepted == true) | .frame' "$WORK/multi_pkts.pcap.out")"
check_eq "multi_pkts.pcap: ICMP frames are not knocks (100 knocks of 200 frames)" 100 \
    "$(jq -r 'select(.summary) | .summary.knocks' "$WORK/multi_pkts.pcap.out")"
