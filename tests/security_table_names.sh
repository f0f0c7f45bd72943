#!/usr/bin/env bash
# Every test tests/SECURITY.md cites must exist, so the threat table cannot rot: each
# `name` in a table row's last column is a CTest name of this build (`ctest -N`: lab and
# interop tests, and each gtest case as Suite.Name) or a fuzz test registered by
# tests/fuzz/CMakeLists.txt (built only with XDPKNOCK_FUZZ). A row cites a test or says
# gap; the table must not shrink to nothing by a parse slip.
# Usage: security_table_names.sh CTEST BUILD_DIR SECURITY_MD FUZZ_CMAKELISTS
set -euo pipefail
ctest=$1 build=$2 table=$3 fuzz_cmake=$4
min_rows=20

names=$(cd "$build" && "$ctest" -N | sed -n 's/^ *Test *#[0-9]*: //p' | sed 's/  *#.*//')
[ -n "$names" ] || { echo "FAIL: ctest -N in $build lists no test"; exit 1; }
# Fuzz tests: the names tests/fuzz/CMakeLists.txt hands to add_test or its fuzz helper.
fuzz_names=$(grep -oE '(add_test\(NAME|xk_fuzz[a-z_]*\() *[A-Za-z0-9_]+' "$fuzz_cmake" |
    awk '{print $NF}' | sed 's/.*(//' || true)

rows=0 cited=0 missing=0
while IFS= read -r line; do
    # Table body rows only: skip the header and the |---| separator.
    [[ $line == \|* ]] || continue
    [[ $line == *"---"* || $line == "| #"* ]] && continue
    rows=$((rows + 1))
    tests=${line%|}
    tests=${tests##*|}
    # shellcheck disable=SC2016 # backticks are the literal quotes of a name
    found=$(grep -oE '`[^`]+`' <<<"$tests" | tr -d '`' || true)
    if [ -z "$found" ] && ! grep -qw gap <<<"$tests"; then
        echo "FAIL: a row cites no test and says no gap: $line"
        missing=$((missing + 1))
    fi
    for name in $found; do
        cited=$((cited + 1))
        if ! grep -qxF -- "$name" <<<"$names" && ! grep -qxF -- "$name" <<<"$fuzz_names"; then
            echo "FAIL: $table cites \`$name\`, which no test of $build is called"
            missing=$((missing + 1))
        fi
    done
done <"$table"

echo "$rows rows, $cited test names cited, $missing missing"
[ "$rows" -ge "$min_rows" ] || { echo "FAIL: fewer than $min_rows rows parsed"; exit 1; }
[ "$missing" -eq 0 ]
