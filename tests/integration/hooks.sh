#!/usr/bin/env bash
# Lab: a range's hooks. A valid knock runs on_authorize with the knock's address, ports,
# range, label and fko user name (an attacker-chosen name arrives as one inert argument);
# on_expire runs when the grant leaves the map — not before. No shell between.
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT

GW=10.99.0.1 CLIENT=10.99.0.2 TIMEOUT=2
KEY=$(head -c 32 /dev/urandom | base64 -w0)
HKEY=$(head -c 64 /dev/urandom | base64 -w0)
(umask 077 && printf 'KEY_BASE64 %s\nHMAC_KEY_BASE64 %s\n' "$KEY" "$HKEY" >"$WORK/keys")
# The hook: each argument in brackets, one line per run.
printf '#!/bin/sh\nfor a; do printf "[%%s]" "$a"; done >>"%s"\necho >>"%s"\n' \
    "$WORK/hook.out" "$WORK/hook.out" >"$WORK/hook"
chmod 755 "$WORK/hook"
: >"$WORK/hook.out"

lab_up 22 23
start_daemon <<END
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "telnet", "port": "tcp/23"}],
  "ranges": [{"name": "fw", "method": "fko", "port": 62201, "timeout": $TIMEOUT,
              "sources": ["10.99.0.0/24"], "open": ["tcp/22", "tcp/23"],
              "hooks": {"on_authorize": ["$WORK/hook", "authorize", "%IP%", "%PORTS%", "%RANGE%",
                                         "%LABEL%", "user=%USER%"],
                        "on_expire": ["$WORK/hook", "expire", "%IP%", "%PORTS%", "%RANGE%"],
                        "timeout_s": 5},
              "secrets": [{"label": "k1", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256"}]}]
}
END

# line_within SECONDS LINE: hook.out holds LINE (exactly) within SECONDS.
line_within() {
    for _ in $(seq $(($1 * 10))); do grep -qxF -- "$2" "$WORK/hook.out" && return 0; sleep 0.1; done
    echo "  hook.out: $(cat "$WORK/hook.out")"
    return 1
}

# fwknop's client takes this name (no ';' or '/'): a leading dash and spaces, an option's look.
USERNAME='--help rm -rf .'
check "a knock with fko user '$USERNAME' is sent" \
    in_ns xk-client "$XDPKNOCK" send "$GW" -m fko --key-file "$WORK/keys" -A tcp/22,tcp/23 -a "$CLIENT" \
    --spoof-user="$USERNAME"
check "on_authorize ran with address, ports, range, label and the user as one inert argument" \
    line_within 3 "[authorize][$CLIENT][tcp/22,tcp/23][fw][k1][user=_--help_rm_-rf_.]"
check "the knock opened tcp/22" connect_ok "$GW" 22
check "on_expire has not run while the grant lives" \
    sh -c "! grep -q '^\[expire\]' '$WORK/hook.out'"
check "on_expire ran once for the grant (both ports) when it left the map (${TIMEOUT}s + the sweep)" \
    line_within 5 "[expire][$CLIENT][tcp/22,tcp/23][fw]"
# The exit is logged when the daemon reaps the hook, a moment after its output appeared.
exits_logged() { grep -c 'hooks: .*: exit 0$' "$WORK/daemon.log"; }
hooks_exited_0() {
    at_least 3 2 exits_logged && [ "$(exits_logged)" -eq 2 ] &&
        ! grep -q 'hooks: .*\(exit [1-9]\|killed\|cannot\)' "$WORK/daemon.log"
}
check "the daemon logged each hook's exit 0 and no failure" hooks_exited_0
check "each hook ran exactly once" test "$(wc -l <"$WORK/hook.out")" -eq 2
exit $((FAILS == 0 ? 0 : 1))
