#!/usr/bin/env bash
# The probe path side by side (issue 23): blackbox_exporter driven at Roadmap's rate, the Prometheus + blackbox stack
# scraping as many targets every second, and Roadmap's builds, alternated run by run so all see the same machine;
# then Roadmap alone with 10,000 sources every second. Collects the JSON lines into bench/results/<date>-probe.jsonl
# and prints the docs/PERFORMANCE.md section (bench/probe_report.py) to stdout.
# Usage: bench/probe-compare.sh [--runs 3] [--seconds 30] [--sources 2000] [--big 10000] [--big-runs 1]
# Builds (each skipped when its directory is missing; publish them first):
#   bench/.out/worker       native (dotnet publish src/Roadmap.Worker -c Release -o bench/.out/worker)
#   bench/.out/worker-jit   JIT    (... -p:PublishAot=false -o bench/.out/worker-jit)
#   bench/.out/worker-base  an older native build to compare against (optional)
. "$(dirname "$0")/lib.sh"
RUNS=3 SECS=30 SOURCES=2000 BIG=10000 BIG_RUNS=1
while (($#)); do
  case "$1" in
    --runs) RUNS="$2" ;; --seconds) SECS="$2" ;; --sources) SOURCES="$2" ;; --big) BIG="$2" ;; --big-runs) BIG_RUNS="$2" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
. "$REPO_DIR/scripts/packages.sh"
install_missing nginx:nginx hey:hey prometheus:prometheus prometheus-blackbox-exporter:prometheus-blackbox-exporter curl:curl
mkdir -p "$BENCH_DIR/results"
OUT="$BENCH_DIR/results/$(date -u +%Y-%m-%dT%H%M%SZ)-probe.jsonl"
: >"$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
record() {
  local label="$1"; shift
  log "$label: $*"
  "$@" 2> >(grep -v '^$' >&2) | while IFS= read -r line; do
    [[ "$line" == \{* ]] || continue
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["variant"] = sys.argv[2]; d["command"] = sys.argv[3]; print(json.dumps(d))' "$line" "$label" "$*"
  done | tee -a "$OUT"
}
python3 - "$RUNS" "$SECS" "$SOURCES" <<'PY' | tee -a "$OUT"
import json, os, platform, subprocess, sys
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
print(json.dumps({"bench": "machine", "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
                  "dotnet": subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip(),
                  "loadavg": open("/proc/loadavg").read().split()[:3], "runs": int(sys.argv[1]), "seconds": int(sys.argv[2]), "sources": int(sys.argv[3])}))
PY
build() { [[ -x "$BENCH_DIR/.out/$1/Roadmap.Worker" ]]; }
roadmap() {
  local dir="$1"; shift
  ROADMAP_WORKER="$BENCH_DIR/.out/$dir/Roadmap.Worker" "$BENCH_DIR/load/roadmap-load.sh" --kpis 0 --interval 1s --seconds "$SECS" "$@"
}
for ((r = 1; r <= RUNS; r++)); do
  record blackbox-rate "$BENCH_DIR/load/probe-anchor.sh" "$SECS" 50 "$SOURCES"
  build worker && record native roadmap worker --sources "$SOURCES" --warmup 20 --label native
  record stack "$BENCH_DIR/load/probe-stack.sh" "$SECS" "$SOURCES" 20
  build worker-jit && record jit roadmap worker-jit --sources "$SOURCES" --warmup 30 --label jit
  build worker-base && record native-before roadmap worker-base --sources "$SOURCES" --warmup 20 --label native-before
  build worker && record native-keepalive roadmap worker --sources "$SOURCES" --warmup 20 --keep-alive 1 --label native-keepalive
done
for ((r = 1; r <= BIG_RUNS; r++)); do
  build worker && record native-big roadmap worker --sources "$BIG" --warmup 30 --rss-every 5 --label "native-$BIG"
done
log "results: $OUT"
python3 "$BENCH_DIR/probe_report.py" "$OUT"
