#!/usr/bin/env bash
# The cluster audit of tests/Roadmap.EndToEnd.Tests/Cluster run longer: three replicas on one PostgreSQL, 300 http
# sources every second, the cluster on its production defaults; SIGKILL the busiest and restart it, SIGSTOP another for
# 20 s, SIGTERM the third and restart it, with CALM seconds of calm before, between and after (default 120: about ten
# minutes in all). Then one replica with the cluster off for CALM seconds, for the database load the cluster adds:
# commits/s is pg_stat_database's xact_commit of the run's database over its audited span.
# Usage: bench/cluster-audit.sh [--calm SECONDS] [--native]
#   --native: the native executable (published once by the test fixture) instead of the JIT build; no single run.
# Writes the audit figures of both runs into bench/results/<date>-cluster.txt; exit 1 when a goal is not met.
. "$(dirname "$0")/lib.sh"
CALM=120 NATIVE=0
while (($#)); do
  case "$1" in
    --calm) CALM="$2"; shift 2 ;;
    --native) NATIVE=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$BENCH_DIR/results"
OUT="$BENCH_DIR/results/$(date -u +%Y-%m-%dT%H%M%SZ)-cluster.txt"
{
  echo "# bench/cluster-audit.sh --calm $CALM$( ((NATIVE)) && echo ' --native')"
  echo "commit $(git -C "$REPO_DIR" rev-parse --short HEAD); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT"
dotnet build "$REPO_DIR/tests/Roadmap.EndToEnd.Tests" -v quiet --nologo >&2
if ((NATIVE)); then
  filter="FullyQualifiedName~NativeBuildTests.Publish_NativeExecutableInACluster"
else
  filter="FullyQualifiedName~ClusterFailoverTests"
fi
status=0
ROADMAP_CLUSTER_AUDIT_CALM_SECONDS="$CALM" ROADMAP_CLUSTER_AUDIT_REPORT="$OUT" \
  dotnet test "$REPO_DIR/tests/Roadmap.EndToEnd.Tests" --no-build --filter "$filter" --logger "console;verbosity=normal" >&2 || status=$?
echo "load average at end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
cat "$OUT"
exit "$status"
