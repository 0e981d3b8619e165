#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: installs PostgreSQL when missing, then builds and runs the suite, then
# runs the integration suite (scripts/test-cluster.sh) against a Dsql.Local it starts, standing in for a cluster.
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
# Without CLUSTER_ENDPOINT the solution run builds tests/IntegrationTests but does not run it; it runs below.
env -u CLUSTER_ENDPOINT dotnet test EFCore.Dsql.sln -c Release --results-directory "$results" --logger "trx" --blame-hang-timeout 10m "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The integration suite against a Dsql.Local started from the command line, named like a cluster endpoint and reached
# through CLUSTER_TUNNEL, with its documented throw-away credentials (docs/dsql-local.md).
integration_log="$results/integration.log"
bash scripts/test-local-cluster.sh 2>&1 | tee "$integration_log" || status=1

# Summary lines the tests wrote (for example the emulator's conformance score).
for f in "$summaries"/*.txt; do [ -f "$f" ] && cat "$f"; done

# One closing line over all test assemblies and the integration run: 'tests: N passed, N failed, N skipped'.
awk '
  /(Passed|Failed)!/ && /Total:/ && FILENAME !~ /integration/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:") { gsub(",", "", $(i+1)); f += $(i+1) }
      if ($i == "Passed:") { gsub(",", "", $(i+1)); p += $(i+1) }
      if ($i == "Skipped:") { gsub(",", "", $(i+1)); s += $(i+1) }
    }
    runs++
  }
  /^integration: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped/ && FILENAME ~ /integration/ {
    p += $2; f += $4; s += $6; integration = 1; print
  }
  END {
    if (runs == 0) { print "tests: no test assembly reported a result"; exit 1 }
    if (!integration) { print "integration: the integration suite did not report a result"; f++ }
    printf "tests: %d passed, %d failed, %d skipped\n", p, f, s
    if (f > 0 || p == 0) exit 1
  }' "$log" "$integration_log" || status=1

exit "$status"
