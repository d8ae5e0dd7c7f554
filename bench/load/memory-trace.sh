#!/usr/bin/env bash
# Where the memory of a running Roadmap goes over time: runs the worker (native build by default) with SOURCES http
# sources probing the bench nginx every second and KPIS KPIs, and every EVERY seconds prints a JSON line with its RSS
# (anonymous and file-backed apart), the managed heap (dotnet_total_memory_bytes from its own /metrics) and the
# database folder's size; at the end, the number of series the database holds per signal. Two builds run one after
# the other under the same load tell a regression from growth in what is stored (more series per source).
# Usage: bench/load/memory-trace.sh [--sources 2000] [--kpis 1000] [--seconds 480] [--every 20] [--label ""]
# ROADMAP_WORKER=path runs another build (default: bench/.out/worker).
. "$(dirname "$0")/../lib.sh"
SOURCES=2000 KPIS=1000 DURATION=480 EVERY=20 LABEL=""
while (($#)); do
  case "$1" in
    --sources) SOURCES="$2" ;; --kpis) KPIS="$2" ;; --seconds) DURATION="$2" ;; --every) EVERY="$2" ;; --label) LABEL="$2" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
WORKER="$(roadmap_worker)"
start_run
python3 "$BENCH_DIR/load/gen-config.py" "$SOURCES" "$KPIS" 1s >"$RUN/roadmap.yaml"
mkdir -p "$RUN/db"
"$WORKER" run --config "$RUN/roadmap.yaml" --database "$RUN/db/roadmap.db" --urls http://127.0.0.1:19814 >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for http://127.0.0.1:19814/readyz 60
start=$(date +%s); end=$(( start + DURATION ))
while (( $(date +%s) < end )); do
  heap="$(metric_sum http://127.0.0.1:19814/metrics dotnet_total_memory_bytes)"
  awk -v label="$LABEL" -v t="$(( $(date +%s) - start ))" -v heap="$heap" -v db="$(du -sk "$RUN/db" | cut -f1)" '
    /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 } /^RssFile:/ { file = $2 }
    END { printf "{\"bench\":\"roadmap-memory-trace\",\"label\":\"%s\",\"t_s\":%d,\"rss_mib\":%.1f,\"anon_mib\":%.1f,\"file_mib\":%.1f,\"managed_heap_mib\":%.1f,\"database_mib\":%.1f}\n", label, t, rss / 1024, anon / 1024, file / 1024, heap / 1048576, db / 1024 }' "/proc/$PID/status"
  sleep "$EVERY"
done
python3 - "$RUN/db/roadmap.db" "$LABEL" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = dict(db.execute("SELECT signal, count(*) FROM series GROUP BY signal ORDER BY signal"))
print(json.dumps({"bench": "roadmap-memory-series", "label": sys.argv[2], "series": sum(rows.values()), "per_signal": rows}))
PY
