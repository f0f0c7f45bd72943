# shellcheck shell=bash
# Shared by the offline interop tests (no lab, no root needed by us): checks that print
# what failed, a scratch folder, and fwknopd 2.6.10 run over a capture file.
set -uo pipefail

WORK=$(mktemp -d /tmp/xk-interop.XXXXXX)
chmod 700 "$WORK"
FAILS=0
CHECKS=0

ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# check_eq WHAT EXPECTED ACTUAL: prints both on failure.
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (expected '$2', got '$3')"; fi; }

finish() {
    local rc=$?  # an `exit 1` before the trap stays a failure; a skip (77) stays a skip
    rm -rf "$WORK"
    echo "$((CHECKS - FAILS)) passed, $FAILS failed"
    [ "$rc" -eq 77 ] && [ "$FAILS" -eq 0 ] && exit 77
    # An EXIT trap's status is ignored: exit explicitly, or a failed check would pass.
    exit $((FAILS == 0 && rc == 0 ? 0 : 1))
}

# A missing tool skips the test, except in CI, where it must fail.
require_tool() {
    command -v "$1" >/dev/null && return 0
    if [ "${CI:-}" = true ]; then echo "FAIL: $1 not installed and CI=true"; exit 1; fi
    echo "SKIP: $1 not installed (scripts/install-deps.sh)"; exit 77
}

source "$(dirname "${BASH_SOURCE[0]}")/fwknopd_lib.sh"
