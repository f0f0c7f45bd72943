#!/usr/bin/env bash
# After the lab tests: no log a lab run left holds one of the lab's secrets or keys. Each
# lab test keeps its *.log files under LOGROOT/logs/<test>/ and the secrets its configs
# held under LOGROOT/secrets/<test> (lab_lib.sh keep_logs). Every secret is looked for as
# written, in base64 and in hex; a key given in base64 also as its decoded bytes in hex.
# Usage: faults_secret_grep.sh LOGROOT
set -uo pipefail
ROOT=${1:?usage: faults_secret_grep.sh LOGROOT}
[ -d "$ROOT/logs" ] && [ -d "$ROOT/secrets" ] || { echo "SKIP: no lab logs under $ROOT"; exit 77; }

PATTERNS=$(mktemp)
trap 'rm -f "$PATTERNS"' EXIT
chmod 600 "$PATTERNS"
hex() { od -An -v -tx1 | tr -d ' \n'; }
secrets=0
while IFS= read -r s; do
    [ ${#s} -ge 6 ] || continue  # shorter would match by chance
    secrets=$((secrets + 1))
    {
        printf '%s\n' "$s"
        printf '%s' "$s" | base64 -w0 | tr -d '='
        echo
        printf '%s' "$s" | hex
        echo
        # A key in base64: its bytes in hex too (a log printing a key would print them so).
        if raw=$(printf '%s' "$s" | base64 -d 2>/dev/null | hex) && [ ${#raw} -ge 16 ]; then
            printf '%s\n' "$raw"
        fi
    } >>"$PATTERNS"
done < <(cat "$ROOT"/secrets/* 2>/dev/null | sort -u)

logs=$(find "$ROOT/logs" -type f | wc -l)
echo "$secrets secret(s) and key(s) of the lab, $logs log file(s) of $(ls "$ROOT/logs" | wc -l) test(s)"
[ "$secrets" -gt 0 ] && [ "$logs" -gt 0 ] || { echo "SKIP: nothing to compare"; exit 77; }
# -i: hex may be printed in either case. Print where, never what: the match is a secret.
if hits=$(grep -rliF -f "$PATTERNS" "$ROOT/logs"); then
    echo "FAIL: a lab secret or key appears in:"
    sed 's/^/  /' <<<"$hits"
    exit 1
fi
echo "ok   no lab secret or key (plain, base64, hex) in any lab log"
