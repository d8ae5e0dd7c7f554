#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine, and ends with the line "N passed, N failed".
#
# It installs what the tests need and the machine lacks (Debian packages, with apt-get), builds
# with warnings as errors, runs every test project, and sums the TRX results. Benchmarks under
# bench/ are not part of it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, as "command:package": the tests start their own servers on free
# loopback ports, with temp data folders, and stop them. gcc links the native build that NativeBuildTests publishes.
NEEDED=(
  "redis-server:redis-server"
  "prometheus:prometheus"
  "promtool:prometheus"
  "/usr/lib/postgresql/15/bin/initdb:postgresql"
  "chromium:chromium"
  "gcc:gcc"
)

. scripts/packages.sh
install_missing "${NEEDED[@]}"

results="TestResults"
rm -rf "$results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build Roadmap.sln --nologo -v quiet

set +e
# One test assembly at a time: each starts real servers (redis, prometheus, postgres, chromium) and checks that
# timeouts end promptly; five assemblies at once on a two-core machine would measure each other instead.
dotnet test Roadmap.sln --no-build --nologo -m:1 --logger trx --results-directory "$results"
status=$?
set -e

passed=0; failed=0; executed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed)))
  executed=$((executed + $(get executed)))
done

if ((executed == 0)); then
  echo "no test was executed"
  echo "0 passed, 0 failed"
  exit 1
fi
echo "$passed passed, $failed failed"
exit $status
