#!/usr/bin/env bash
# Runs the integration suite (tests/IntegrationTests) against an Aurora DSQL cluster: connection forms, roles, pooling,
# ADO.NET and EF Core, migrations, optimistic concurrency. It works in its own schema, which it drops at the end.
#
#   CLUSTER_ENDPOINT   required: a cluster endpoint, a cluster ID (region from AWS_REGION) or any connection string the
#                      connector accepts (postgresql://admin@<host>:<port>/postgres?region=...&sslmode=...)
#   AWS credentials    the AWS SDK's usual sources (environment, AWS_PROFILE, SSO, instance role); admin needs
#                      dsql:DbConnectAdmin
#   CLUSTER_IAM_ARN    optional: the IAM role or user ARN of those credentials; the non-admin role tests create a role,
#                      map it to this ARN with AWS IAM GRANT and connect as it (skipped, with the reason, without it)
#   CLUSTER_TUNNEL     optional: host:port that TCP connections go to instead, tokens still signed for the cluster's
#                      name (Dsql.Local started with --endpoint <cluster endpoint> stands in for a cluster this way)
#
# Usage: CLUSTER_ENDPOINT=<endpoint> bash scripts/test-cluster.sh [extra dotnet test arguments]
# Ends with 'integration: N passed, N failed, N skipped'; exits non-zero when a test failed or none ran.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CLUSTER_ENDPOINT:-}" ]; then
  cat >&2 <<'USAGE'
test-cluster: CLUSTER_ENDPOINT is not set, so there is no cluster to test against. Set it and AWS credentials, then run again:
  export CLUSTER_ENDPOINT=<cluster-id>.dsql.<region>.on.aws   # or a cluster ID with AWS_REGION, or a connection string
  export AWS_PROFILE=<profile>                                # or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN]
  export CLUSTER_IAM_ARN=arn:aws:iam::<account>:role/<role>   # optional: lets the non-admin role tests run
  bash scripts/test-cluster.sh
USAGE
  exit 2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="${INTEGRATION_RESULTS_DIR:-artifacts/integration-results}"
rm -rf "$results"
mkdir -p "$results"
log="$results/dotnet-test.log"

set +e
dotnet test tests/IntegrationTests -c Release --results-directory "$results" --logger "trx;LogFileName=integration.trx" \
  --blame-hang-timeout 10m "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Why each skipped test was skipped (the trx keeps the reason as the test's message).
trx="$results/integration.trx"
if [ -f "$trx" ]; then
  awk '
    /<UnitTestResult / && /outcome="NotExecuted"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); skipped = 1 }
    skipped && /<Message>/ { line = $0; sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line); printf "integration: skipped %s: %s\n", name, line; skipped = 0 }
    /<\/UnitTestResult>/ { skipped = 0 }
  ' "$trx" | sed -e 's/&apos;/'"'"'/g' -e 's/&quot;/"/g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
fi

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
    if (runs == 0) { print "integration: 0 passed, 1 failed, 0 skipped (the suite did not report a result; see the log above)"; exit 1 }
    printf "integration: %d passed, %d failed, %d skipped\n", p, f, s
    if (f > 0 || p == 0) exit 1
  }' "$log" || status=1

exit "$status"
