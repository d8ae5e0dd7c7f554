#!/usr/bin/env bash
# Where a probe's CPU goes: runs the worker (native build by default) polling SOURCES http sources every second
# against the bench nginx, and samples it with perf for SECONDS; prints the top frames (self time) and the top
# inclusive frames to stdout. The native build carries its symbols (Roadmap.Worker.dbg beside it), so perf names
# managed frames too.
# Usage: bench/load/probe-profile.sh [sources=2000] [seconds=20] [warmup=20]
. "$(dirname "$0")/../lib.sh"
SOURCES="${1:-2000}" SECS="${2:-20}" WARMUP="${3:-20}"
WORKER="$(roadmap_worker)"
start_run
python3 "$BENCH_DIR/load/gen-config.py" "$SOURCES" 0 1s >"$RUN/roadmap.yaml"
"$WORKER" run --config "$RUN/roadmap.yaml" --database "$RUN/roadmap.db" --urls http://127.0.0.1:19811 >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for http://127.0.0.1:19811/readyz 60
sleep "$WARMUP"
c0="$(cpu_seconds "$PID")"
perf record -F 499 -g -p "$PID" -o "$RUN/perf.data" -- sleep "$SECS" >/dev/null 2>&1
c1="$(cpu_seconds "$PID")"
echo "# load average $(loadavg); worker CPU cores $(awk -v a="$c0" -v b="$c1" -v s="$SECS" 'BEGIN { printf "%.2f", (b - a) / s }')"
curl -fsS http://127.0.0.1:19811/metrics | awk '/^roadmap_source_polls_total/ { if (index($0, "failure")) f += $NF; else s += $NF } END { printf "# polls so far: %d succeeded, %d failed\n", s, f }'
grep -iE "warn|fail|error" "$RUN/worker.log" | head -3 || true
# Frames as perf names them; a native frame's self time, then the inclusive time of the frames above it.
report() { perf report -i "$RUN/perf.data" "$@" --sort symbol --stdio -g none --percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | sed -E 's/ +$//' | cut -c1-180 || true; }
echo "# self"; report --no-children
echo "# inclusive"; report --children
[[ -n "${PERF_KEEP:-}" ]] && cp "$RUN/perf.data" "$PERF_KEEP"
true
