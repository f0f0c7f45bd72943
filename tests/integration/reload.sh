#!/usr/bin/env bash
# Lab: live reload. Rotating a secret by `xdpknock reload` (and by a bare SIGHUP): the new
# secret opens, the old one is refused by the workers, a grant made before the reload still
# passes; a new range on a new knock port opens at once; a removed service's port is
# ungated. A broken config (bad JSON, a bad value, a key that needs a restart) changes
# nothing: the daemon keeps running the old config and the log names the error;
# `xdpknock reload -c FILE` refuses a bad file itself (exit 2) and signals nothing.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

GW=10.99.0.1
FIRST=10.99.0.2  # knocks with A before the reload
SECOND=10.99.0.78 THIRD=10.99.0.79 FOURTH=10.99.0.80 FIFTH=10.99.0.81 SIXTH=10.99.0.82
STAMP=$(date +%s%N)
# Same length: the XDP pre-filter passes both, so only the workers' policy tells them apart.
A="reload-secret-A-$STAMP" B="reload-secret-B-$STAMP" C="reload-secret-C-$STAMP"

# config SECRET LABEL [EXTRA_SERVICE] [EXTRA_RANGE] [TOP_LEVEL_KEYS]
config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state", ${5:-}
  "services": [{"name": "nas", "port": "tcp/8080"}${3:-}],
  "ranges": [{"name": "lab", "method": "plain", "timeout": 120, "open": ["tcp/8080"],
              "secrets": [{"label": "$2", "secret": "$1"}]}${4:-}]
}
EOF2
}
SSH=', {"name": "ssh", "port": "tcp/22"}'
NEW_RANGE=', {"name": "new", "method": "plain", "port": 62202, "timeout": 120,
              "open": ["tcp/8080"], "secrets": [{"label": "c", "secret": "'"$C"'"}]}'
put_config() { cat >"$WORK/config.json"; chmod 600 "$WORK/config.json"; }
reload_cli() { in_ns xk-gw "$XDPKNOCK" reload --run-dir "$WORK/run" "$@"; }
# knock_from SRC SECRET [PORT]: one plain knock (the payload is the secret) from SRC.
knock_from() { printf '%s' "$2" | in_ns xk-client nc -u -w0 -s "$1" "$GW" "${3:-62201}"; }
log_has() { grep -qF -- "$1" "$WORK/daemon.log"; }
says() { printf '%s\n' "$1" | grep -q -- "$2"; }  # says TEXT REGEX
log_count() { grep -cF -- "$1" "$WORK/daemon.log"; }
log_count_re() { grep -cE -- "$1" "$WORK/daemon.log"; }
alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }
# refused_by_workers SRC SECRET: the knock reached a worker and was refused as a mismatch,
# and SRC still cannot connect.
refused_by_workers() {
    local before
    before=$(rejected plain_mismatch) || return 1
    knock_from "$1" "$2"
    at_least 3 $((before + 1)) rejected plain_mismatch && connect_dropped "$GW" 8080 "$1"
}

lab_up 8080 22
for a in $SECOND $THIRD $FOURTH $FIFTH $SIXTH; do client_alias "$a/24"; done
start_daemon <<<"$(config "$A" a "$SSH")"

check "the pid file holds the daemon's pid" test "$(cat "$WORK/run/xdpknockd.pid")" = "$DAEMON_PID"
check "the pid file is private (0600)" test "$(stat -c %a "$WORK/run/xdpknockd.pid")" = 600
check "before any knock: tcp/22 is gated" connect_dropped "$GW" 22 "$FIFTH"
knock_from "$FIRST" "$A"
check "secret A opens for the first client" connect_ok_from "$FIRST" "$GW" 8080

# ---- Rotate A -> B, add a range on a new knock port, drop the ssh service.
config "$B" b "" "$NEW_RANGE" | put_config
out=$(reload_cli 2>&1)
check "xdpknock reload exits 0" test $? -eq 0
check "... and prints what the daemon read" \
    says "$out" "config reloaded from $WORK/config.json: 2 range(s), 1 protected service(s)"
check "the daemon logged the reload" log_has "config reloaded from $WORK/config.json"
check "the daemon is the same process" alive
knock_from "$SECOND" "$B"
check "after the reload: secret B opens for a second client" connect_ok_from "$SECOND" "$GW" 8080
check "after the reload: secret A is refused by the workers" refused_by_workers "$THIRD" "$A"
check "the grant made with A before the reload still passes a SYN" \
    connect_ok_from "$FIRST" "$GW" 8080
check "... and is still listed" test "$(active_grants "$FIRST")" -eq 1
knock_from "$FOURTH" "$C" 62202
check "the new range's knock port and secret work at once" connect_ok_from "$FOURTH" "$GW" 8080
check "the removed service's grants: the log says they are kept, and why" \
    log_has "service ssh (tcp/22) removed: its port is no longer gated"
check "the removed service's port is ungated" connect_ok_from "$FIFTH" "$GW" 22

# ---- Broken configs change nothing. Bad JSON, by a bare SIGHUP (systemd's ExecReload).
cp "$WORK/config.json" "$WORK/good.json"
printf '{"interfaces": [' | put_config
kill -HUP "$DAEMON_PID"
check "bad JSON: the log says the reload was refused and why" \
    at_least 3 1 log_count_re "reload refused, the running config is unchanged: config: .*JSON"
check "bad JSON: the daemon keeps running" alive
err=$(reload_cli 2>&1)
check "bad JSON: xdpknock reload exits 1" test $? -eq 1
check "... with the daemon's reason" says "$err" "reload refused.*config: .*JSON"

# A value out of range: -c refuses it here (exit 2, naming the key) and signals nothing.
config "$C" c "" "" | sed 's/"timeout": 120/"timeout": 0/' | put_config
sighups=$(log_count "SIGHUP: reading")
err=$(reload_cli -c "$WORK/config.json" 2>&1)
rc=$?
check "reload -c with a bad value exits 2" test "$rc" -eq 2
check "... naming the key" says "$err" 'ranges\[0\]\.timeout: must be an integer'
check "... and signals nothing" test "$(log_count "SIGHUP: reading")" -eq "$sighups"
err=$(reload_cli 2>&1)
check "without -c the daemon refuses it, naming the key" \
    says "$err" 'reload refused.*ranges\[0\]\.timeout'
check "... in its log too" log_has "unchanged: ranges[0].timeout: must be an integer"

# A key fixed for the daemon's life.
config "$C" c "" "" '"workers": 3,' | put_config
err=$(reload_cli 2>&1)
check "a changed worker count is refused as needing a restart" \
    says "$err" "config.workers: changed, which needs a restart"

check "after the refusals the daemon still runs" alive
check "after the refusals: a fresh client is still dropped" connect_dropped "$GW" 8080 "$SIXTH"
knock_from "$SIXTH" "$B"
check "after the refusals secret B still opens" connect_ok_from "$SIXTH" "$GW" 8080
check "... secret C (refused config) was never taken" refused_by_workers "$FIFTH" "$C"
check "... and the first grant still passes" connect_ok_from "$FIRST" "$GW" 8080

# The good config again: reload works after refusals.
put_config <"$WORK/good.json"
check "the good config reloads after the refusals" reload_cli
stop_daemon
check "stop removes the pid file" test ! -e "$WORK/run/xdpknockd.pid"
