#!/usr/bin/env bash
# Lab: living with another XDP program (xdp-filter, from xdp-tools) on gw-out.
#  1. xdp-filter attached alone (LIBXDP_SKIP_DISPATCHER=1: what every kernel without
#     freplace gets, and what single-program tools do): xdpknockd refuses to start, naming
#     its program and id; nothing of ours is attached or pinned; xdp-filter keeps running
#     and keeps filtering; `xdpknock detach` leaves it alone too.
#  2. Nothing attached: xdpknockd attaches (alone with one log line saying why where libxdp's
#     dispatcher does not work, else in the dispatcher); a stop leaves the gate closed;
#     `xdpknock detach` removes it.
#  3. Only where libxdp's dispatcher works: xdp-filter in the dispatcher, xdpknockd joins it,
#     both filter, `xdp-loader status` lists both; a stop leaves both; `xdpknock detach`
#     removes ours only. Whether it works is found the way libxdp finds it: libxdp's own
#     check runs when xdp-filter loads and says when it falls back to a single program.
#     Skipped, with that reason, where the kernel refuses freplace (BPF_PROG_TYPE_EXT).
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
for tool in xdp-filter xdp-loader bpftool jq; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done

GW=10.99.0.1
SECRET="coexist knock $(date +%s%N)"
filter_off() {
    in_ns xk-gw xdp-filter unload gw-out >/dev/null 2>&1
    in_ns xk-gw xdp-loader unload gw-out --all >/dev/null 2>&1
}
trap 'rc=$?; filter_off; (exit $rc); finish' EXIT
lab_up 8080 9999

# The programs on gw-out as the kernel reports them: "name id", the main one only.
xdp_on_gw() { in_ns xk-gw ip -j link show gw-out | jq -r '.[0].xdp.prog // empty | "\(.name) \(.id)"'; }
loader_status() { in_ns xk-gw xdp-loader status gw-out 2>&1; }
detach_gw() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" detach gw-out 2>&1; }
config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "services": [{"name": "web", "port": "tcp/8080"}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 30, "open": ["tcp/8080"],
              "secrets": [{"label": "lab-secret", "secret": "$SECRET"}]}]
}
EOF2
}

# ---- 0. Does libxdp's dispatcher work here? libxdp's own check, as xdp-filter loads.
check "before any XDP program: tcp/9999 answers" connect_ok "$GW" 9999
probe=$(in_ns xk-gw xdp-filter load -v gw-out 2>&1)
if grep -q "Falling back to loading single prog without dispatcher" <<<"$probe"; then
    DISPATCHER=no
    WHY=$(grep -m1 -o "Compatibility check for dispatcher program failed: .*\|Failed to load dispatcher: .*" <<<"$probe")
else
    DISPATCHER=yes
fi
echo "libxdp's dispatcher on this kernel: $DISPATCHER${WHY:+ ($WHY)}"
in_ns xk-gw xdp-filter unload gw-out >/dev/null
check "xdp-filter unloaded again" test -z "$(xdp_on_gw)"

# ---- 1. xdp-filter alone: refused, by name; xdp-filter untouched.
in_ns xk-gw env LIBXDP_SKIP_DISPATCHER=1 xdp-filter load gw-out >/dev/null
in_ns xk-gw xdp-filter port 9999 >/dev/null
read -r FILTER FILTER_ID <<<"$(xdp_on_gw)"
check "xdp-filter runs alone on gw-out ($FILTER, id $FILTER_ID)" \
    sh -c "case '$FILTER' in xdpfilt_*) test -n '$FILTER_ID' ;; *) false ;; esac"
check "xdp-filter drops tcp/9999" connect_blocked "$GW" 9999
check "xdp-filter passes tcp/8080" connect_ok "$GW" 8080

config >"$WORK/config.json"
chmod 600 "$WORK/config.json"
timeout 20 "$LAB" exec xk-gw "$XDPKNOCKD" -c "$WORK/config.json" --pin-root "$PIN_ROOT" \
    --run-dir "$WORK/run" >"$WORK/refused.log" 2>&1 9>&-
rc=$?
check "xdpknockd refuses to start beside it (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... naming xdp-filter's program and id, and saying it will not replace it" \
    grep -qF "gw-out: XDP program '$FILTER' (id $FILTER_ID) is attached by another tool; xdpknock will not replace it" \
    "$WORK/refused.log"
check "... the same xdp-filter program still attached" test "$(xdp_on_gw)" = "$FILTER $FILTER_ID"
check "... xdp-loader status still lists it" sh -c "'$LAB' exec xk-gw xdp-loader status gw-out | grep -q '$FILTER'"
check "... bpftool net still shows it (id $FILTER_ID)" \
    sh -c "'$LAB' exec xk-gw bpftool net show dev gw-out | grep -q 'gw-out([0-9]*) driver id $FILTER_ID\$'"
check "... nothing of ours pinned" test ! -e "$PIN_ROOT/gw-out"
check "... xdp-filter still drops tcp/9999" connect_blocked "$GW" 9999
check "... and still passes tcp/8080 (no gate)" connect_ok "$GW" 8080
out=$(detach_gw)
check "xdpknock detach leaves another tool's program alone (and says so)" \
    bash -c "grep -q \"gw-out runs XDP program '$FILTER', not xdpknock's; left alone\" <<<\"\$0\" && \
           test \"\$('$LAB' exec xk-gw ip -j link show gw-out | jq -r '.[0].xdp.prog.id')\" = '$FILTER_ID'" "$out"
[ "${FAILS}" -ne 0 ] && cat "$WORK/refused.log"

# ---- 2. Nothing attached: the gate attaches; stop leaves it; detach removes it.
in_ns xk-gw xdp-filter unload gw-out >/dev/null
check "xdp-filter unloaded: gw-out runs no XDP program" test -z "$(xdp_on_gw)"
start_daemon <<<"$(config)"
if [ "$DISPATCHER" = no ]; then
    check "no dispatcher: one log line says why the gate attaches alone" \
        grep -q "gw-out: libxdp's multi-program dispatcher is not available (.*); attaching alone" \
        "$WORK/daemon.log"
    check "... and names the kernel's refusal" \
        grep -q "dispatcher is not available (the kernel refused a freplace (BPF_PROG_TYPE_EXT) program: " \
        "$WORK/daemon.log"
    check "... the gate runs alone on gw-out" sh -c "'$LAB' exec xk-gw ip -j link show gw-out | jq -e '.[0].xdp.prog.name == \"xdpknock\"' >/dev/null"
    check "... status says native" test "$(xdp_mode_of gw-out)" = native
else
    check "dispatcher: the gate runs in it" grep -q "gw-out: gate in libxdp's dispatcher" "$WORK/daemon.log"
    check "... xdp-loader status lists xdpknock" sh -c "'$LAB' exec xk-gw xdp-loader status gw-out | grep -q xdpknock"
fi
check "the gate drops tcp/8080 before a knock" connect_dropped "$GW" 8080
knock_plain "$GW" "$SECRET"
check "a knock opens it" connect_ok "$GW" 8080
stop_daemon
check "daemon stopped: the gate stays (fail closed)" sh -c "'$LAB' exec xk-gw xdp-loader status gw-out | grep -q xdpknock"
out=$(detach_gw)
check "xdpknock detach removes it" grep -q "^gw-out: gate detached.*pins removed" <<<"$out"
check "... nothing left on gw-out" test -z "$(xdp_on_gw)"

# ---- 3. xdp-filter in libxdp's dispatcher: the gate joins it, and leaves it alone.
if [ "$DISPATCHER" = no ]; then
    echo "SKIP part 3 (join xdp-filter in libxdp's dispatcher): libxdp's check says \"$WHY\":"
    echo "     this kernel refuses freplace (BPF_PROG_TYPE_EXT), so one XDP program per interface;"
    echo "     parts 1 and 2 (refusal, single attach with its log line) ran in full"
    exit 0
fi
in_ns xk-gw xdp-filter load gw-out >/dev/null
in_ns xk-gw xdp-filter port 9999 >/dev/null
check "xdp-filter runs in libxdp's dispatcher" test "$(xdp_on_gw | cut -d' ' -f1)" = xdp_dispatcher
start_daemon <<<"$(config)"
check "the gate joins the dispatcher" grep -q "gw-out: gate in libxdp's dispatcher .*xdpfilt_" "$WORK/daemon.log"
status=$(loader_status)
check "xdp-loader status lists both programs" \
    bash -c "grep -q xdpknock <<<\"\$0\" && grep -q xdpfilt_ <<<\"\$0\"" "$status"
check "status says the gate runs in the dispatcher" \
    test "$(xdp_mode_of gw-out)" = "native (libxdp dispatcher)"
check "xdp-filter still drops tcp/9999" connect_blocked "$GW" 9999
check "the gate drops tcp/8080 before a knock" connect_dropped "$GW" 8080
knock_plain "$GW" "$SECRET"
check "a knock opens tcp/8080 through both programs" connect_ok "$GW" 8080
stop_daemon
check "daemon stopped: both stay in the dispatcher" \
    bash -c "s=\$('$LAB' exec xk-gw xdp-loader status gw-out); grep -q xdpknock <<<\"\$s\" && grep -q xdpfilt_ <<<\"\$s\""
out=$(detach_gw)
check "xdpknock detach takes only ours out" \
    grep -q "gw-out: gate detached from libxdp's dispatcher; still running there: 'xdpfilt_" <<<"$out"
status=$(loader_status)
check "... xdp-loader status: xdp-filter still there, xdpknock gone" \
    bash -c "grep -q xdpfilt_ <<<\"\$0\" && ! grep -q xdpknock <<<\"\$0\"" "$status"
check "... xdp-filter still drops tcp/9999" connect_blocked "$GW" 9999
