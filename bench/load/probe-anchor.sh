#!/usr/bin/env bash
# The anchor for the probe goal: prometheus-blackbox-exporter probing the local nginx, driven by wrk on /probe.
# Prints one JSON line: probes/s, the exporter's CPU cores used, and probes per CPU-second.
# Usage: bench/load/probe-anchor.sh [seconds=30] [connections=64]
. "$(dirname "$0")/../lib.sh"
SECONDS_RUN="${1:-30}"; CONNS="${2:-64}"
RUN="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$RUN"' EXIT
start_nginx "$RUN" >/dev/null
prometheus-blackbox-exporter --config.file="$BENCH_DIR/load/blackbox.yml" --web.listen-address=127.0.0.1:19115 --log.level=error >"$RUN/bb.log" 2>&1 &
BB=$!
wait_for "http://127.0.0.1:19115/metrics" 10
URL="http://127.0.0.1:19115/probe?module=http_2xx&target=http%3A%2F%2F127.0.0.1%3A18080%2F"
wrk -t1 -c"$CONNS" -d3s "$URL" >/dev/null   # warm up
cpu0="$(cpu_seconds "$BB")"
out="$(wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" "$URL")"
cpu1="$(cpu_seconds "$BB")"
rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
errors="$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out" | tr '\n' ' ')"
# A probe that fails still answers 200 from /probe; count failures from the exporter's own view too.
fails="$(curl -fsS "$URL&debug=true" | grep -c 'probe_success 0' || true)"
awk -v load="$(loadavg)" -v rps="$rps" -v c0="$cpu0" -v c1="$cpu1" -v s="$SECONDS_RUN" -v e="$errors" -v f="$fails" 'BEGIN {
  cores = (c1 - c0) / s
  printf "{\"bench\":\"probe-anchor\",\"tool\":\"blackbox_exporter\",\"loadavg\":%s,", load; printf "\"probes_per_s\":%.0f,\"cpu_cores\":%.2f,\"probes_per_cpu_s\":%.0f,\"wrk_errors\":\"%s\",\"failed_debug_probe\":%d}\n", rps, cores, rps / cores, e, f }'
