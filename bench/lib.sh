# Shared helpers for the benchmark scripts. Source it: . "$(dirname "$0")/../lib.sh"
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
CLK_TCK="$(getconf CLK_TCK)"

# CPU seconds (user + system) a process has used so far.
cpu_seconds() { awk -v t="$CLK_TCK" '{ printf "%.3f\n", ($14 + $15) / t }' "/proc/$1/stat"; }

# The worker build a bench runs: $ROADMAP_WORKER, else the native build in bench/.out/worker (published on first use).
roadmap_worker() {
  local worker="${ROADMAP_WORKER:-$BENCH_DIR/.out/worker/Roadmap.Worker}"
  [[ -x "$worker" ]] || dotnet publish "$REPO_DIR/src/Roadmap.Worker" -c Release -o "$BENCH_DIR/.out/worker" -v q >&2
  echo "$worker"
}

# Makes the run folder $RUN, removed at exit with the script's jobs stopped, and starts the bench nginx in it.
start_run() {
  RUN="$(mktemp -d)"
  trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$RUN"' EXIT
  start_nginx "$RUN" >/dev/null
}

# Resident set size of a process in MiB.
rss_mib() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# The sum of every sample of one metric family on a /metrics page (0 when absent).
metric_sum() { curl -fsS "$1" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.6f\n", s + 0 }'; }

# Waits until a URL answers, at most $2 seconds.
wait_for() { local i; for ((i = 0; i < $2 * 10; i++)); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for $1" >&2; return 1; }

# Starts the bench nginx on 127.0.0.1:18080 in a run dir; prints its pid.
start_nginx() {
  local run="$1"; mkdir -p "$run/tmp"
  nginx -p "$run" -c "$BENCH_DIR/load/nginx.conf" >"$run/nginx.log" 2>&1 &
  echo $! >"$run/nginx.pidfile"
  wait_for http://127.0.0.1:18080/ 10 >&2
  cat "$run/nginx.pidfile"
}

# Starts blackbox_exporter (bench/load/blackbox.yml) on 127.0.0.1:19115 as a job of the calling shell, logging into
# the run dir $1; sets BB to its pid and returns once it answers.
start_blackbox() {
  prometheus-blackbox-exporter --config.file="$BENCH_DIR/load/blackbox.yml" --web.listen-address=127.0.0.1:19115 --log.level=error >"$1/bb.log" 2>&1 &
  BB=$!
  wait_for "http://127.0.0.1:19115/metrics" 10
}

# Median of numbers on stdin.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# CPU "steal" (time the hypervisor ran other guests while this one wanted the CPU) and all CPU time, in ticks since
# boot, as "steal total": two readings give the share stolen between them.
cpu_steal_ticks() { awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# The 1-minute load average: figures from a shared machine mean little without it.
loadavg() { cut -d' ' -f1 /proc/loadavg; }
