#!/usr/bin/env bash
# Runs samples/Blog. Without DSQL_ENDPOINT it starts the local DSQL emulator in-process (with its own PostgreSQL, so
# PostgreSQL's server binaries are installed first when missing); with DSQL_ENDPOINT (and your AWS credentials) it uses
# that Aurora DSQL cluster. Extra arguments go to the app, for example --urls http://127.0.0.1:6000.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DSQL_ENDPOINT:-}" ]; then
  bash scripts/ensure-postgres.sh
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run --project samples/Blog -- "$@"
