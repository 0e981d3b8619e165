#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries (initdb, pg_ctl) are on this machine; installs Debian's postgresql when not.
# Tests and the local emulator start their own throw-away servers from these binaries; no service is enabled.
set -euo pipefail

have_postgres() {
  if [ -n "${DSQL_LOCAL_PG_BIN:-}" ] && [ -x "$DSQL_LOCAL_PG_BIN/initdb" ] && [ -x "$DSQL_LOCAL_PG_BIN/pg_ctl" ]; then return 0; fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then return 0; fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1
}

if have_postgres; then exit 0; fi

echo "PostgreSQL server binaries not found; installing Debian's postgresql package..."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null
# The package starts a cluster of its own; our tests do not use it.
$SUDO service postgresql stop >/dev/null 2>&1 || true
have_postgres || { echo "PostgreSQL installation failed: initdb/pg_ctl still missing" >&2; exit 1; }
