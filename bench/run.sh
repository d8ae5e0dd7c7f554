#!/usr/bin/env bash
# Runs the whole benchmark set in one go: the anchors and Roadmap side by side, the storage tool when it is there,
# and the micro benchmarks; collects every JSON line into bench/results/<date>.jsonl and writes docs/PERFORMANCE.md.
# Usage: bench/run.sh [--quick] [--runs 3] [--seconds 60] [--soak-minutes 30] [--no-micro] [--micro-job short]
#                     [--no-storage]
#   --quick: 1 run of 20 s per rate goal, a 2-minute soak, short micro jobs (a try-out, not a result).
# The full run takes about 45 minutes (the soak is 30 of them). The machine is measured as it is: every line carries
# the load average, and rate goals take the median of --runs runs.
. "$(dirname "$0")/lib.sh"
RUNS=3 SECS=60 SOAK_MIN=30 MICRO=1 STORAGE=1 QUICK=0 MICRO_JOB=short
while (($#)); do
  case "$1" in
    --quick) QUICK=1 RUNS=1 SECS=20 SOAK_MIN=2; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    --seconds) SECS="$2"; shift 2 ;;
    --soak-minutes) SOAK_MIN="$2"; shift 2 ;;
    --no-micro) MICRO=0; shift ;;
    --micro-job) MICRO_JOB="$2"; shift 2 ;;
    --no-storage) STORAGE=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# What the load drivers and the anchors run, from Debian packages when the machine lacks them; gcc links the native
# worker build that roadmap-load.sh publishes.
. "$REPO_DIR/scripts/packages.sh"
install_missing nginx:nginx wrk:wrk prometheus-blackbox-exporter:prometheus-blackbox-exporter gcc:gcc curl:curl
mkdir -p "$BENCH_DIR/results"
OUT="$BENCH_DIR/results/$(date -u +%Y-%m-%dT%H%M%SZ).jsonl"
: >"$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
emit() { tee -a "$OUT"; }
# Runs a command, records its JSON lines with the command that produced them.
# After it, a "steal" line: the share of CPU time the hypervisor gave to other guests while it ran (a run with more
# than a few percent measured the neighbours too; report.py flags it).
record() {
  local goal="$1" steal0; shift
  log "$goal: $*"
  steal0="$(cpu_steal_ticks)"
  "$@" 2> >(grep -v '^$' >&2) | while IFS= read -r line; do
    [[ "$line" == \{* ]] || continue
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["goal"] = sys.argv[2]; d["command"] = sys.argv[3]; print(json.dumps(d))' "$line" "$goal" "$*"
  done | emit
  echo "$steal0 $(cpu_steal_ticks)" | awk -v g="$goal" '{ p = ($4 > $2) ? 100 * ($3 - $1) / ($4 - $2) : 0
    printf "{\"bench\":\"steal\",\"goal\":\"%s\",\"steal_pct\":%.1f}\n", g, p }' | emit
}

python3 - "$RUNS" "$SECS" "$SOAK_MIN" "$QUICK" <<'PY' | emit
import json, os, platform, subprocess, sys
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"bench": "machine", "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
                  "dotnet": dotnet, "loadavg": float(open("/proc/loadavg").read().split()[0]),
                  "runs": int(sys.argv[1]), "seconds": int(sys.argv[2]), "soak_minutes": int(sys.argv[3]), "quick": sys.argv[4] == "1"}))
PY

log "publishing the Release build"
rm -rf "$BENCH_DIR/.out/worker"
dotnet publish "$REPO_DIR/src/Roadmap.Worker" -c Release -o "$BENCH_DIR/.out/worker" -v q >&2

# Goal 4: 2,000 http sources every second; the anchor in the same run, alternated so both see the same machine.
for ((r = 1; r <= RUNS; r++)); do
  record goal4 "$BENCH_DIR/load/probe-anchor.sh" "$SECS" 64
  record goal4 "$BENCH_DIR/load/roadmap-load.sh" --sources 2000 --kpis 0 --interval 1s --warmup 30 --seconds "$SECS" --label goal4
done

# Goal 5: /metrics with about 10,000 series (460 http sources x 22 series each) under repeated scrapes.
for ((r = 1; r <= RUNS; r++)); do
  record goal5 "$BENCH_DIR/load/roadmap-load.sh" --sources 460 --kpis 0 --warmup 15 --seconds 5 --scrape-seconds "$SECS" --label goal5
done

# Issue 7 goal 6: / and /metrics at 200 requests/s while 500 sources are polled; lateness with and without the load.
for ((r = 1; r <= RUNS; r++)); do
  record goal7-6 "$BENCH_DIR/load/roadmap-load.sh" --sources 500 --kpis 0 --warmup 15 --seconds "$SECS" --label endpoint-quiet
  record goal7-6 "$BENCH_DIR/load/roadmap-load.sh" --sources 500 --kpis 0 --warmup 15 --seconds "$SECS" --endpoint-rps 200 --label endpoint-loaded
done

# Storage (another tool's subcommands; skipped until it exists).
STORAGE_PROJECT="$BENCH_DIR/Roadmap.Bench.Storage"
if ((STORAGE)) && [[ -d "$STORAGE_PROJECT" ]]; then
  dotnet build "$STORAGE_PROJECT" -c Release -v q >&2
  for ((r = 1; r <= RUNS; r++)); do
    record storage-ingest dotnet run --no-build -c Release --project "$STORAGE_PROJECT" -- ingest --series 1000 --seconds 20
  done
  # The 30-day dataset (~43M samples, ~1.3 GB) is built once and kept in bench/.data (ignored by git).
  DATASET="$BENCH_DIR/.data/roadmap-30d.db"
  if [[ ! -f "$DATASET" ]]; then
    mkdir -p "$BENCH_DIR/.data"
    # Built under another name and renamed once its summary line is out: an interrupted build would otherwise be taken
    # for the dataset by every later run.
    rm -f "$DATASET.part" "$DATASET.part-wal" "$DATASET.part-shm"
    record storage-build-dataset dotnet run --no-build -c Release --project "$STORAGE_PROJECT" -- build-dataset --days 30 --series 1000 --interval 60s --db "$DATASET.part"
    if grep -q '"bench": "build-dataset"' "$OUT"; then
      for f in "" -wal -shm; do [[ ! -f "$DATASET.part$f" ]] || mv "$DATASET.part$f" "$DATASET$f"; done
    fi
  fi
  record storage-evaluate dotnet run --no-build -c Release --project "$STORAGE_PROJECT" -- evaluate --db "$DATASET" --kpis 1000 --days 30 --check 100
fi

# Micro benchmarks: BenchmarkDotNet's JSON report, one line per benchmark.
if ((MICRO)); then
  job="$MICRO_JOB"; ((QUICK)) && job=dry
  ART="$(mktemp -d)"
  log "micro benchmarks ($job job)"
  (cd "$BENCH_DIR/Roadmap.Bench.Micro" && dotnet run -c Release -- --filter '*' --job "$job" --exporters json --artifacts "$ART" >"$ART/console.txt" 2>&1) || { tail -20 "$ART/console.txt" >&2; }
  python3 - "$ART" "$job" <<'PY' | emit
import glob, json, sys
for path in glob.glob(sys.argv[1] + "/results/*-report-full*.json"):
    for b in json.load(open(path))["Benchmarks"]:
        s = b.get("Statistics") or {}
        print(json.dumps({"bench": "micro", "goal": "micro", "job": sys.argv[2], "name": b["Type"] + "." + b["Method"],
                          "params": b.get("Parameters", ""), "mean_ns": s.get("Mean"), "median_ns": s.get("Median"), "stddev_ns": s.get("StandardDeviation"),
                          "allocated_bytes": (b.get("Memory") or {}).get("BytesAllocatedPerOperation"),
                          "command": "dotnet run -c Release --project bench/Roadmap.Bench.Micro -- --filter '*' --job " + sys.argv[2]}))
PY
  rm -rf "$ART"
fi

# Goal 6 last (the long one): 2,000 sources and 1,000 KPIs, RSS sampled every 30 s.
record goal6 "$BENCH_DIR/load/roadmap-load.sh" --sources 2000 --kpis 1000 --warmup 30 --seconds $((SOAK_MIN * 60)) --rss-every 30 --label soak

python3 "$BENCH_DIR/report.py" "$OUT" >"$REPO_DIR/docs/PERFORMANCE.md"
log "results: $OUT; report: docs/PERFORMANCE.md"
