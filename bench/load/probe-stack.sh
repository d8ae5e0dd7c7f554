#!/usr/bin/env bash
# The stack a user runs instead of Roadmap: Prometheus scraping prometheus-blackbox-exporter for TARGETS http targets
# (the local nginx, one query string per target) every second. Prints one JSON line: probes/s (Prometheus' scrapes of
# the exporter), the CPU cores and RSS of Prometheus and the exporter together, and probes per CPU-second.
# Usage: bench/load/probe-stack.sh [seconds=30] [targets=2000] [warmup=20]
. "$(dirname "$0")/../lib.sh"
SECONDS_RUN="${1:-30}"; TARGETS="${2:-2000}"; WARMUP="${3:-20}"
RUN="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$RUN"' EXIT
start_nginx "$RUN" >/dev/null
start_blackbox "$RUN"
# The blackbox_exporter README's relabelling: each target becomes the exporter's /probe?target=...
python3 - "$TARGETS" >"$RUN/prometheus.yml" <<'PY'
import sys
n = int(sys.argv[1])
print("global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1m}")
print("scrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n    params: {module: [http_2xx]}")
print("    static_configs:\n      - targets:")
for i in range(n):
    print(f"          - http://127.0.0.1:18080/?t={i}")
print("""    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: "127.0.0.1:19115"}""")
PY
prometheus --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/tsdb" --web.listen-address=127.0.0.1:19090 --log.level=error >"$RUN/prom.log" 2>&1 &
PROM=$!
wait_for "http://127.0.0.1:19090/-/ready" 60
sleep "$WARMUP"
# Scrapes Prometheus made: the count of its interval-length summary grows by one per scrape of any target.
scrapes() { metric_sum http://127.0.0.1:19090/metrics prometheus_target_interval_length_seconds_count; }
s0="$(scrapes)"; t0="$(date +%s.%N)"; c0="$(cpu_seconds "$PROM")"; b0="$(cpu_seconds "$BB")"
sleep "$SECONDS_RUN"
s1="$(scrapes)"; t1="$(date +%s.%N)"; c1="$(cpu_seconds "$PROM")"; b1="$(cpu_seconds "$BB")"
rss="$(awk -v a="$(rss_mib "$PROM")" -v b="$(rss_mib "$BB")" 'BEGIN { printf "%.1f", a + b }')"
# Targets whose last probe failed, in Prometheus' own view.
down="$(curl -fsS 'http://127.0.0.1:19090/api/v1/query?query=count(probe_success%3D%3D0)%20or%20vector(0)' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])' 2>/dev/null || echo -1)"
awk -v load="$(loadavg)" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v b0="$b0" -v b1="$b1" -v n="$TARGETS" -v rss="$rss" -v down="$down" 'BEGIN {
  s = t1 - t0; rps = (s1 - s0) / s; cores = ((c1 - c0) + (b1 - b0)) / s
  printf "{\"bench\":\"probe-stack\",\"tool\":\"prometheus+blackbox_exporter\",\"targets\":%d,\"loadavg\":%s,", n, load; printf "\"probes_per_s\":%.0f,\"cpu_cores\":%.3f,\"prometheus_cores\":%.3f,\"exporter_cores\":%.3f,\"probes_per_cpu_s\":%.0f,\"rss_mib\":%s,\"targets_down\":%s}\n", rps, cores, (c1 - c0) / s, (b1 - b0) / s, rps / cores, rss, down }'
