#!/usr/bin/env bash
# The anchor for the probe goal: prometheus-blackbox-exporter probing the local nginx, driven on /probe.
# Prints one JSON line: probes/s, the exporter's CPU cores used (the driver's own CPU is not counted), and probes per
# CPU-second.
# Usage: bench/load/probe-anchor.sh [seconds=30] [connections=64] [rate=0]
#   rate 0: closed loop, wrk with CONNECTIONS connections as fast as the exporter answers.
#   rate N: N probes/s, paced (hey -q, N/CONNECTIONS per connection): the same rate Roadmap is given, so both pay the
#   same per-probe costs at the same load (a closed loop at full speed amortizes wake-ups the paced load pays).
. "$(dirname "$0")/../lib.sh"
SECONDS_RUN="${1:-30}"; CONNS="${2:-64}"; RATE="${3:-0}"
RUN="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$RUN"' EXIT
start_nginx "$RUN" >/dev/null
start_blackbox "$RUN"
URL="http://127.0.0.1:19115/probe?module=http_2xx&target=http%3A%2F%2F127.0.0.1%3A18080%2F"
if ((RATE > 0)); then
  PER=$(( (RATE + CONNS - 1) / CONNS ))
  drive() { hey -z "${1}s" -c "$CONNS" -q "$PER" "$URL"; }
  rate_of() { awk '/Requests\/sec:/ { print $2 }'; }
  errors_of() { awk '/^Error distribution/ { e = 1; next } e && NF { printf "%s ", $0 }'; }
  MODE="rate (hey -c $CONNS -q $PER)"
else
  drive() { wrk -t1 -c"$CONNS" -d"${1}s" "$URL"; }
  rate_of() { awk '/^Requests\/sec:/ { print $2 }'; }
  errors_of() { awk '/Non-2xx|Socket errors/ { print }' | tr '\n' ' '; }
  MODE="closed loop (wrk -c$CONNS)"
fi
drive 3 >/dev/null   # warm up
cpu0="$(cpu_seconds "$BB")"; t0="$(date +%s.%N)"
out="$(drive "$SECONDS_RUN")"
cpu1="$(cpu_seconds "$BB")"; t1="$(date +%s.%N)"
rss="$(rss_mib "$BB")"
rps="$(rate_of <<<"$out")"
errors="$(errors_of <<<"$out")"
# A probe that fails still answers 200 from /probe; count failures from the exporter's own view too.
fails="$(curl -fsS "$URL&debug=true" | grep -c 'probe_success 0' || true)"
awk -v load="$(loadavg)" -v rps="$rps" -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v e="$errors" -v f="$fails" -v m="$MODE" -v rate="$RATE" -v rss="$rss" 'BEGIN {
  cores = (c1 - c0) / (t1 - t0)
  printf "{\"bench\":\"probe-anchor\",\"tool\":\"blackbox_exporter\",\"mode\":\"%s\",\"target_rate\":%d,\"loadavg\":%s,", m, rate, load; printf "\"probes_per_s\":%.0f,\"cpu_cores\":%.3f,\"probes_per_cpu_s\":%.0f,\"rss_mib\":%s,\"driver_errors\":\"%s\",\"failed_debug_probe\":%d}\n", rps, cores, rps / cores, rss, e, f }'
