#!/usr/bin/env bash
# The default test suite (README's test command). Builds everything, runs every test project,
# and ends with one line "N passed, N failed, N skipped". Exit code is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet build KvStore.sln -c Release -warnaserror 2>&1 | tail -n 3
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
dotnet test KvStore.sln -c Release --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# VSTest prints one line per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- Failed: ' "$log" |
  sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' |
  awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
[[ $status -eq 0 ]] || [[ $failed -gt 0 ]] || failed=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
