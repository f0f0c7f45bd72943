# shellcheck shell=bash
# Shared by the lab tests: a fresh lab, a daemon on gw-out, checks that print what failed.
# Usage: source it with XDPKNOCKD and XDPKNOCK set to the binaries under test.
set -uo pipefail

LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/lab.sh"
PIN_ROOT=/sys/fs/bpf/xdpknock-test
WORK=$(mktemp -d /tmp/xk-lab-test.XXXXXX)
FAILS=0
CHECKS=0
DAEMON_PID=
STARTS=0

require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        if [ "${CI:-}" = true ]; then echo "FAIL: lab tests need root and CI=true"; exit 1; fi
        echo "SKIP: lab tests need root"; exit 77
    fi
}

in_ns() { local ns=$1; shift; "$LAB" exec "$ns" "$@"; }

ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

lab_up() {
    # One lab per machine: hold its lock for this test's lifetime (children close fd 9).
    exec 9>/run/xdpknock-lab.lock
    flock -w 900 9 || { echo "FAIL: the lab stayed busy for 15 minutes"; exit 1; }
    LAB_T0=$(cut -d' ' -f1 /proc/uptime)  # not the wall clock: a test may step it
    "$LAB" up ${LAB_KIND:-} >/dev/null  # LAB_KIND=cluster: a second gateway
    # A dual-stack listener on each protected port: a refused connect can only be the gate.
    for port in "$@"; do
        in_ns xk-gw sh -c "nc -4 -lk -p $port >/dev/null 2>&1 & nc -6 -lk -p $port >/dev/null 2>&1 &" 9>&-
    done
}

start_daemon() {  # config text on stdin
    cat > "$WORK/config.json"
    chmod 600 "$WORK/config.json"
    : >>"$WORK/daemon.log"  # the wait below reads it before the daemon has written a line
    "$LAB" exec xk-gw "$XDPKNOCKD" -c "$WORK/config.json" --pin-root "$PIN_ROOT" \
        --run-dir "$WORK/run" -v ${DAEMON_FLAGS:-} >>"$WORK/daemon.log" 2>&1 9>&- &
    DAEMON_PID=$!
    for _ in $(seq 50); do
        [ "$(grep -c "xdpknockd running" "$WORK/daemon.log")" -gt "$STARTS" ] && STARTS=$((STARTS + 1)) && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "daemon did not start:"; cat "$WORK/daemon.log"; exit 1
}

stop_daemon() {
    [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
}

# keep_logs: with XK_LAB_LOGS set (CTest sets it), every *.log this run wrote goes to
# $XK_LAB_LOGS/logs/<test>/, and the secrets and keys of its configs (*.json holding
# "ranges" or "remotes") to
# $XK_LAB_LOGS/secrets/<test> (root only), for lab_secrets_in_logs to grep the logs for.
keep_logs() {
    [ -n "${XK_LAB_LOGS:-}" ] || return 0
    local name logs secrets f
    name=$(basename "$0" .sh)
    logs="$XK_LAB_LOGS/logs/$name" secrets="$XK_LAB_LOGS/secrets"
    rm -rf "$logs"
    mkdir -p "$logs" "$secrets"
    chmod 700 "$secrets"
    (umask 077; : >"$secrets/$name")
    while IFS= read -r -d '' f; do
        case $f in
            *.log) cp "$f" "$logs/$(printf '%s' "${f#"$WORK"/}" | tr / _)" ;;
            # Configs only (the daemon's ranges, the agent's remotes): status and stats
            # JSON name a grant's secret by its label, which is no secret.
            *.json) jq -r 'select(type == "object" and (has("ranges") or has("remotes")))
                           | .. | objects | (.secret?, .key_base64?, .hmac_key_base64?) // empty' \
                "$f" >>"$secrets/$name" 2>/dev/null ;;
        esac
    done < <(find "$WORK" -type f \( -name '*.log' -o -name '*.json' \) -print0 2>/dev/null)
}

finish() {
    local rc=$?  # an `exit 1` before the trap (e.g. the daemon did not start) must stay a failure
    stop_daemon
    # The lab's servers: lab_up's listeners, the UDP echo and the web server some tests start.
    in_ns xk-gw pkill -f "nc -[46] -lk|udp_echo[.]py serve|http[.]server 80" 2>/dev/null
    "$LAB" down >/dev/null
    rm -rf "$PIN_ROOT"
    if [ "$FAILS" -ne 0 ]; then
        echo "--- daemon log"; cat "$WORK/daemon.log"
    fi
    keep_logs
    rm -rf "$WORK"
    echo "$((CHECKS - FAILS)) passed, $FAILS failed${LAB_T0:+ in $(awk -v t0="$LAB_T0" '{ printf "%.1f", $1 - t0 }' /proc/uptime) s with the lab}"
    # An EXIT trap's status is ignored: exit explicitly, or a failed check would pass.
    exit $((FAILS == 0 && rc == 0 ? 0 : 1))
}

# log_mark; …; log_since_mark PATTERN: PATTERN (grep -E) shows up in the daemon log after the
# mark within 3 s (workers log asynchronously); log_count_since_mark PATTERN: lines since.
log_mark() { MARK=$(wc -l <"$WORK/daemon.log"); }
log_since_mark() {
    for _ in $(seq 30); do
        tail -n +"$((MARK + 1))" "$WORK/daemon.log" | grep -qE "$1" && return 0
        sleep 0.1
    done
    return 1
}
log_count_since_mark() { tail -n +"$((MARK + 1))" "$WORK/daemon.log" | grep -c "$1"; }

# connect_ok ADDR PORT: succeeds within about a second (the SYN passes).
connect_ok() {
    for _ in 1 2 3 4 5; do
        in_ns xk-client nc -z -w1 "$1" "$2" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# connect_blocked ADDR PORT: times out with no answer — dropped, not refused by a RST.
connect_blocked() {
    local start end
    start=$(date +%s%N)
    in_ns xk-client nc -z -w1 "$1" "$2" 2>/dev/null && return 1
    end=$(date +%s%N)
    [ $(((end - start) / 1000000)) -ge 900 ]
}

status_json() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" status --json --run-dir "$WORK/run"; }

# counter NAME: the gate's counter from the pinned map.
counter() {
    status_json | grep -o "\"$1\": [0-9]*" | head -1 | grep -o "[0-9]*$"
}

authorized_count() { status_json | grep -c '"source"'; }

# ---- jq-based readers and stricter checks (the functions above keep their behaviour).

# at_least SECONDS MIN CMD...: the number CMD prints reaches MIN within SECONDS. CMD runs
# again each time (stats.json is rewritten each second; workers log asynchronously).
at_least() {
    local t=$1 min=$2 v
    shift 2
    for _ in $(seq $((t * 10))); do
        v=$("$@" 2>/dev/null)
        [ "${v:-x}" -ge "$min" ] 2>/dev/null && return 0
        sleep 0.1
    done
    echo "  $*: ${v:-nothing} < $min after ${t}s"
    return 1
}

# gate_json [IFACE]: IFACE's entry in status --json (default $GATE_IFACE, else gw-out).
gate_json() {
    status_json | jq --arg i "${1:-${GATE_IFACE:-gw-out}}" -e '.interfaces[] | select(.interface == $i)'
}

# syn_drops: SYNs the gate ($GATE_IFACE, else gw-out) dropped: no grant, or an expired one.
syn_drops() { gate_json | jq -e '.counters.syn_drop + .counters.syn_expired'; }

# connect_blocked_from SRC ADDR PORT / connect_ok_from SRC ADDR PORT: as connect_blocked and
# connect_ok, from SRC (an address of xk-client, see client_alias).
connect_blocked_from() {
    local start end
    start=$(date +%s%N)
    in_ns xk-client nc -z -w1 -s "$1" "$2" "$3" 2>/dev/null && return 1
    end=$(date +%s%N)
    [ $(((end - start) / 1000000)) -ge 900 ]
}
connect_ok_from() {
    for _ in 1 2 3 4 5; do
        in_ns xk-client nc -z -w1 -s "$1" "$2" "$3" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# connect_dropped ADDR PORT [SRC]: the connect times out AND the gate counted the dropped
# SYN: a timeout alone could be a host that never answers, with or without a gate.
connect_dropped() {
    local before
    before=$(syn_drops) || return 1
    if [ -n "${3:-}" ]; then
        connect_blocked_from "$3" "$1" "$2" || return 1
    else
        connect_blocked "$1" "$2" || return 1
    fi
    [ "$(syn_drops)" -gt "$before" ]
}

# fwknop_key_pairs: for a lab with the real fwknop client (skipped without it): $WORK/state,
# FWHOME, fwknop's $HOME (nothing may land in /root), and two key pairs from `fwknop
# --key-gen`: KEY/HKEY the config's, WKEY/WHKEY wrong ones.
fwknop_key_pairs() {
    local k
    command -v fwknop >/dev/null || { echo "SKIP: fwknop (fwknop-client) not installed"; exit 77; }
    mkdir -p "$WORK/state"
    FWHOME=$WORK/fwknop-home
    mkdir -p "$FWHOME"
    chmod 700 "$FWHOME"
    k=$(HOME=$FWHOME fwknop --key-gen --no-rc-file)
    KEY=$(sed -n 's/^KEY_BASE64: //p' <<<"$k") HKEY=$(sed -n 's/^HMAC_KEY_BASE64: //p' <<<"$k")
    k=$(HOME=$FWHOME fwknop --key-gen --no-rc-file)
    WKEY=$(sed -n 's/^KEY_BASE64: //p' <<<"$k") WHKEY=$(sed -n 's/^HMAC_KEY_BASE64: //p' <<<"$k")
}

# knock_plain ADDR SECRET: `xdpknock send` from xk-client, the secret on stdin (not argv).
knock_plain() { printf '%s' "$2" | in_ns xk-client "$XDPKNOCK" send "$1" --secret-file -; }

# client_alias ADDR/PREFIX: one more source address on xk-client (a never-knocked source).
client_alias() {
    local six=
    case $1 in *:*) six=-6 ;; esac
    in_ns xk-client ip $six addr add "$1" dev xk-c ${six:+nodad}
}

# xdp_counter NAME [IFACE]: one of the gate's counters, read with jq.
xdp_counter() { gate_json "${2:-}" | jq -e --arg n "$1" '.counters[$n]'; }

# worker_frames: knock frames the workers took off the AF_XDP rings (all queues, stats.json).
worker_frames() { gate_json | jq '[.queues[]?.frames] | add // 0'; }

# rejected REASON: knocks the workers refused for REASON, summed over interfaces and queues.
rejected() {  # the workers' and the http knocks' judge's
    status_json | jq --arg r "$1" \
        '[.interfaces[] | (.queues[]?, .http // empty) | .rejected[$r] // 0] | add // 0'
}

# active_grants [ADDR]: unexpired authorizations of the gate (of ADDR only, if given).
active_grants() {
    gate_json | jq --arg a "${1:-}" \
        '[.authorized[] | select(.expired == false and ($a == "" or .source == $a))] | length'
}

# grants_from PREFIX: unexpired authorizations of sources whose address starts with PREFIX.
grants_from() {
    gate_json | jq --arg p "$1" \
        '[.authorized[] | select(.expired == false and (.source | startswith($p)))] | length'
}

# xdp_mode_of IFACE: what status says runs on IFACE ("native", "generic", "not attached", …).
xdp_mode_of() { gate_json "$1" | jq -r .xdp; }
