#!/usr/bin/env bash
# systemd-analyze verify on a unit, failing on any complaint: verify exits 0 on unknown keys
# and unparsable values ("… ignoring"), so a typo in a hardening option would pass silently.
# Usage: verify-unit.sh UNIT [XDPKNOCKD [MANPATH]] — with XDPKNOCKD, ExecStart is pointed at
# that binary (a build tree); MANPATH finds the Documentation= pages before an install.
set -uo pipefail
unit=$1 daemon=${2:-} manpath=${3:-}
command -v systemd-analyze >/dev/null || {
    if [ "${CI:-}" = true ]; then echo "FAIL: systemd-analyze missing"; exit 1; fi
    echo "SKIP: systemd-analyze missing (apt install systemd)"; exit 77
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy=$work/$(basename "$unit")
if [ -n "$daemon" ]; then
    sed "s|/usr/sbin/xdpknockd|$daemon|" "$unit" >"$copy"
else
    cp "$unit" "$copy"
fi
[ -n "$manpath" ] && export MANPATH="$manpath:"
out=$(systemd-analyze verify "$copy" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL systemd-analyze verify $unit (exit $rc):"
    echo "$out"
    exit 1
fi
echo "ok   systemd-analyze verify $unit: no complaint"
