#!/usr/bin/env bash
# Packs every package under src/ (Dsql.Npgsql, EFCore.Dsql, EFCore.Dsql.Design, Dsql.Local, the Dsql.Local.Tool .NET tool) deterministically, with
# SourceLink (ContinuousIntegrationBuild=true: embedded source paths are mapped, no machine paths in the binaries).
# Usage: bash scripts/pack.sh [output-dir] [extra dotnet pack arguments, e.g. --version-suffix ci.42 or --no-build]
# Default output: artifacts/packages. PACK_PROJECTS="Dsql.Npgsql EFCore.Dsql" packs only those. Prints the packages written.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-artifacts/packages}
[ $# -gt 0 ] && shift
mkdir -p "$out"
out=$(cd "$out" && pwd)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
projects=()
if [ -n "${PACK_PROJECTS:-}" ]; then
  for name in $PACK_PROJECTS; do projects+=("src/$name/$name.csproj"); done
else
  projects=(src/*/*.csproj)
fi
for project in "${projects[@]}"; do
  dotnet pack "$project" -c Release -o "$out" -p:ContinuousIntegrationBuild=true -p:Deterministic=true --nologo -v quiet "$@"
done
ls -1 "$out"/*.nupkg
