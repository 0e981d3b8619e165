#!/usr/bin/env bash
# Runs the integration suite (scripts/test-cluster.sh) against a Dsql.Local this script starts and stops (the dsql-local
# command of src/Dsql.Local.Tool): the emulator
# answers to a cluster endpoint's name (so every connection form of the README is exercised) and is reached through
# CLUSTER_TUNNEL; tokens are signed with the documented throw-away credentials, configured explicitly (the command
# would otherwise generate a pair per start). Needs a Release build
# (scripts/test.sh builds one first) and PostgreSQL's server binaries.
# Usage: bash scripts/test-local-cluster.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

endpoint="abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
runtimeconfig=$(ls src/Dsql.Local.Tool/bin/Release/net10.0/*.runtimeconfig.json 2>/dev/null | head -n 1 || true)
if [ -z "$runtimeconfig" ]; then
  dotnet build src/Dsql.Local.Tool -c Release -v quiet -nologo
  runtimeconfig=$(ls src/Dsql.Local.Tool/bin/Release/net10.0/*.runtimeconfig.json | head -n 1)
fi
emulator="${runtimeconfig%.runtimeconfig.json}.dll"

out=$(mktemp /tmp/dsql-local-it.XXXXXX)
DSQL_LOCAL_CREDENTIALS='AKIDSQLLOCALEXAMPLE1:dsql+local/throw-away/secret/not-for-production' \
  dotnet "$emulator" --port 0 --endpoint "$endpoint" --region us-east-1 --quiet >"$out" 2>&1 &
emulator_pid=$!
stop() {
  kill -TERM "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  rm -f "$out"
}
trap stop EXIT

port=""
for _ in $(seq 1 240); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
  [ -n "$port" ] && break
  if ! kill -0 "$emulator_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ -z "$port" ]; then
  echo "test-local-cluster: Dsql.Local did not start:" >&2
  cat "$out" >&2
  echo "integration: 0 passed, 1 failed, 0 skipped (Dsql.Local did not start)"
  exit 1
fi
echo "test-local-cluster: Dsql.Local (pid $emulator_pid) answers as $endpoint on 127.0.0.1:$port"

# Only the emulator's throw-away identity (and the IAM ARN the emulator assumes for that key, so the role tests map a
# non-admin role with AWS IAM GRANT): nothing from the caller's AWS set-up may reach it.
env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_SHARED_CREDENTIALS_FILE -u AWS_CONFIG_FILE -u AWS_DEFAULT_REGION \
  CLUSTER_ENDPOINT="$endpoint" CLUSTER_TUNNEL="127.0.0.1:$port" AWS_REGION=us-east-1 \
  CLUSTER_IAM_ARN="arn:aws:iam::000000000000:user/AKIDSQLLOCALEXAMPLE1" \
  AWS_ACCESS_KEY_ID=AKIDSQLLOCALEXAMPLE1 AWS_SECRET_ACCESS_KEY='dsql+local/throw-away/secret/not-for-production' \
  INTEGRATION_RESULTS_DIR="${INTEGRATION_RESULTS_DIR:-artifacts/test-results/integration}" \
  bash scripts/test-cluster.sh "$@"
