#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: installs PostgreSQL when missing, then builds and runs the suite.
# Usage: bash scripts/test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="artifacts/test-results"
summaries="artifacts/summaries"
rm -rf "$results" "$summaries"
mkdir -p "$results" "$summaries"
export DSQL_TEST_SUMMARY_DIR="$PWD/$summaries"

log="$results/dotnet-test.log"
set +e
dotnet test EFCore.Dsql.sln -c Release --results-directory "$results" --logger "trx" --blame-hang-timeout 10m "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Summary lines the tests wrote (for example the emulator's conformance score).
for f in "$summaries"/*.txt; do [ -f "$f" ] && cat "$f"; done

# One closing line over all test assemblies: 'tests: N passed, N failed, N skipped'.
awk '
  /(Passed|Failed)!/ && /Total:/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:") { gsub(",", "", $(i+1)); f += $(i+1) }
      if ($i == "Passed:") { gsub(",", "", $(i+1)); p += $(i+1) }
      if ($i == "Skipped:") { gsub(",", "", $(i+1)); s += $(i+1) }
    }
    runs++
  }
  END {
    if (runs == 0) { print "tests: no test assembly reported a result"; exit 1 }
    printf "tests: %d passed, %d failed, %d skipped\n", p, f, s
    if (f > 0 || p == 0) exit 1
  }' "$log" || status=1

exit "$status"
