#!/usr/bin/env bash
# Runs the real Roadmap (Release build) probing the bench nginx with SOURCES http sources every INTERVAL and
# KPIS KPIs, and measures it from outside: probes/s from roadmap_source_polls_total, CPU and bytes written from /proc,
# p99 lateness from roadmap_poll_lateness_seconds, the storage writer's busy share and dropped polls from
# roadmap_storage_writer_busy_seconds_total (and its thread's CPU in it, roadmap_storage_writer_cpu_seconds_total) and
# roadmap_storage_polls_dropped_total, RSS over time, and (optionally) /metrics scrape latency under wrk.
# Prints JSON lines. Usage:
#   bench/load/roadmap-load.sh [--sources 2000] [--kpis 1000] [--interval 1s] [--warmup 20] [--seconds 60]
#                              [--scrape-seconds 0] [--rss-every 10] [--endpoint-rps 0] [--label ""] [--keep-alive 0]
# ROADMAP_WORKER=path runs another build (default: bench/.out/worker, published on first use); every JSON line
# carries the label, so variants of one run (before/after, GC modes) can be told apart. RSS_LOG=path keeps the RSS
# samples (unix time, RSS MiB, threads, fds; one line every --rss-every seconds) there, to see when a maximum came.
. "$(dirname "$0")/../lib.sh"
SOURCES=2000 KPIS=1000 INTERVAL=1s WARMUP=20 DURATION=60 SCRAPE=0 RSS_EVERY=10 ENDPOINT_RPS=0 LABEL=""
while (($#)); do
  case "$1" in
    --sources) SOURCES="$2" ;; --kpis) KPIS="$2" ;; --interval) INTERVAL="$2" ;; --warmup) WARMUP="$2" ;;
    --seconds) DURATION="$2" ;; --scrape-seconds) SCRAPE="$2" ;; --rss-every) RSS_EVERY="$2" ;;
    --endpoint-rps) ENDPOINT_RPS="$2" ;; --label) LABEL="$2" ;; --keep-alive) export GEN_KEEPALIVE="$2" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
WORKER="$(roadmap_worker)"
start_run
python3 "$BENCH_DIR/load/gen-config.py" "$SOURCES" "$KPIS" "$INTERVAL" >"$RUN/roadmap.yaml"
URLS=http://127.0.0.1:19810
"$WORKER" run --config "$RUN/roadmap.yaml" --database "$RUN/roadmap.db" --urls "$URLS" >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for "$URLS/readyz" 60
sleep "$WARMUP"
M="$URLS/metrics"
# Counters, CPU and clock read together from one scrape: a /metrics page with 40,000 series takes a moment to fetch,
# and reading them apart would stretch the counted window past the timed one.
# The bytes it wrote too (/proc/PID/io): wchar, all it handed to write calls, and write_bytes, what reached the disk.
snapshot() { local t; t="$(date +%s.%N)"; curl -fsS "$M" >"$RUN/page"; echo "$t $(cpu_seconds "$PID") $(awk '/^wchar:/ { w = $2 } /^write_bytes:/ { d = $2 } END { print w, d }' "/proc/$PID/io")"; }
polls() { awk -v o="$1" '/^roadmap_source_polls_total/ && (o == "" || index($0, "outcome=\"" o "\"")) { s += $NF } END { printf "%.0f\n", s + 0 }' "$RUN/page"; }
# The storage writer's busy seconds (all steps; a step's time is added when it ends) and the polls it dropped.
# Its thread's CPU time in those steps (0 where the build does not export it).
writer() { awk '/^roadmap_storage_writer_busy_seconds_total/ { b += $NF } /^roadmap_storage_writer_cpu_seconds_total/ { u += $NF } /^roadmap_storage_polls_dropped_total/ { d += $NF } END { printf "%.3f %.0f %.3f\n", b, d, u }' "$RUN/page"; }
lateness() { awk '/^roadmap_poll_lateness_seconds_bucket/ { match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $NF }' "$RUN/page"; }
read -r t0 cpu0 wchar0 disk0 < <(snapshot); polls0="$(polls "")"; fail0="$(polls failure)"; read -r busy0 drop0 ucpu0 < <(writer); lateness >"$RUN/l0"
: >"$RUN/rss"
end=$(( $(date +%s) + DURATION ))
if ((ENDPOINT_RPS > 0)); then
  # Endpoint load while polling, / and /metrics alternately. wrk2 isn't packaged, so wrk is paced with a Lua delay per
  # request: CONNS connections, each waiting CONNS/rate minus the mean latency measured by a short unpaced run first.
  CONNS=4
  cat >"$RUN/mix.lua" <<'LUA'
local n = 0
request = function() n = n + 1; if n % 2 == 0 then return wrk.format("GET", "/metrics") end return wrk.format("GET", "/") end
LUA
  mean_ms="$(wrk -t1 -c1 -d3s -s "$RUN/mix.lua" "$URLS" | awk '/^ +Latency/ { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }')"
  delay_ms="$(awk -v c="$CONNS" -v r="$ENDPOINT_RPS" -v m="${mean_ms:-0}" 'BEGIN { d = c * 1000 / r - m; print (d < 0 ? 0 : int(d)) }')"
  { cat "$RUN/mix.lua"; echo "function delay() return $delay_ms end"; } >"$RUN/pace.lua"
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$RUN/pace.lua" "$URLS" >"$RUN/endpoint.txt" 2>&1 &
  WRK_PID=$!
fi
while (( $(date +%s) < end )); do echo "$(date +%s) $(rss_mib "$PID") $(ls /proc/$PID/task | wc -l) $(ls /proc/$PID/fd | wc -l)" >>"$RUN/rss"; sleep "$RSS_EVERY"; done
[[ -n "${WRK_PID:-}" ]] && wait "$WRK_PID"
read -r t1 cpu1 wchar1 disk1 < <(snapshot); polls1="$(polls "")"; fail1="$(polls failure)"; read -r busy1 drop1 ucpu1 < <(writer); lateness >"$RUN/l1"
# p99 of the lateness polls had in the window: the difference of two histogram snapshots, interpolated in the bucket.
p99="$(python3 - "$RUN/l0" "$RUN/l1" <<'PY'
import sys
def read(p): return {le: float(c) for le, c in (l.split() for l in open(p))}
a, b = read(sys.argv[1]), read(sys.argv[2])
les = sorted(b, key=lambda le: float("inf") if le == "+Inf" else float(le))
d = [(le, b[le] - a.get(le, 0)) for le in les]
total = d[-1][1]; want = 0.99 * total; prev, prevc = 0.0, 0.0
for le, c in d:
    if c >= want and total > 0:
        print("inf" if le == "+Inf" else round(prev + (float(le) - prev) * (want - prevc) / ((c - prevc) or 1), 4)); break
    prev, prevc = (0.0 if le == "+Inf" else float(le)), c
else:
    print("inf" if total else "nan")
PY
)"
awk -v label="$LABEL" -v load="$(loadavg)" -v p0="$polls0" -v p1="$polls1" -v f0="$fail0" -v f1="$fail1" -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v w0="$wchar0" -v w1="$wchar1" -v d0="$disk0" -v d1="$disk1" -v n="$SOURCES" -v k="$KPIS" -v i="$INTERVAL" -v p99="$p99" -v b0="$busy0" -v b1="$busy1" -v x0="$drop0" -v x1="$drop1" -v u0="$ucpu0" -v u1="$ucpu1" 'BEGIN {
  s = t1 - t0; probes = (p1 - p0) / s; cores = (c1 - c0) / s
  printf "{\"bench\":\"roadmap-probes\",\"label\":\"%s\",\"loadavg\":%s,", label, load; printf "\"sources\":%d,\"kpis\":%d,\"interval\":\"%s\",\"seconds\":%.1f,\"probes_per_s\":%.1f,\"failed_per_s\":%.2f,\"cpu_cores\":%.3f,\"probes_per_cpu_s\":%.0f,\"lateness_p99_s\":\"%s\",\"written_mb_per_s\":%.1f,\"to_disk_mb_per_s\":%.1f,\"writer_busy\":%.2f,\"writer_cpu\":%.2f,\"dropped_per_s\":%.1f}\n", n, k, i, s, probes, (f1 - f0) / s, cores, probes / cores, p99, (w1 - w0) / s / 1e6, (d1 - d0) / s / 1e6, (b1 - b0) / s, (u1 - u0) / s, (x1 - x0) / s }'
awk -v label="$LABEL" -v load="$(loadavg)" -v n="$SOURCES" -v k="$KPIS" '{ r[NR] = $2; th[NR] = $3; fd[NR] = $4 } END {
  q = int(NR / 4); if (q < 1) q = 1; a = 0; b = 0; for (j = 1; j <= q; j++) { a += r[j]; b += r[NR - q + j] }
  max = 0; for (j = 1; j <= NR; j++) if (r[j] > max) max = r[j]
  printf "{\"bench\":\"roadmap-memory\",\"label\":\"%s\",\"loadavg\":%s,", label, load; printf "\"sources\":%d,\"kpis\":%d,\"samples\":%d,\"rss_first_quarter_mib\":%.1f,\"rss_last_quarter_mib\":%.1f,\"rss_max_mib\":%.1f,\"threads_first\":%d,\"threads_last\":%d,\"fds_first\":%d,\"fds_last\":%d}\n", n, k, NR, a / q, b / q, max, th[1], th[NR], fd[1], fd[NR] }' "$RUN/rss"
if [[ -n "${RSS_LOG:-}" ]]; then cp "$RUN/rss" "$RSS_LOG"; fi
if ((ENDPOINT_RPS > 0)); then
  awk -v label="$LABEL" -v load="$(loadavg)" -v n="$SOURCES" -v rps="$ENDPOINT_RPS" '/Requests\/sec/ { r = $2 } /99%/ { p = $2 } /Non-2xx|Socket errors/ { e = e $0 } END { printf "{\"bench\":\"endpoint-load\",\"label\":\"%s\",\"loadavg\":%s,\"sources\":%d,", label, load, n; printf "\"target_rps\":%d,\"rps\":%s,\"p99\":\"%s\",\"errors\":\"%s\"}\n", rps, r, p, e }' "$RUN/endpoint.txt"
fi
if ((SCRAPE > 0)); then
  series="$(curl -fsS "$M" | grep -vc '^#')"
  wrk -t1 -c1 -d"${SCRAPE}s" --latency "$M" >"$RUN/scrape.txt"
  awk -v label="$LABEL" -v load="$(loadavg)" -v s="$series" '/Requests\/sec/ { r = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } /Non-2xx|Socket errors/ { e = e $0 } END { printf "{\"bench\":\"scrape\",\"label\":\"%s\",\"loadavg\":%s,", label, load; printf "\"series\":%d,\"scrapes_per_s\":%s,\"p50\":\"%s\",\"p99\":\"%s\",\"errors\":\"%s\"}\n", s, r, p50, p99, e }' "$RUN/scrape.txt"
fi
grep -iE "warn|fail|error" "$RUN/worker.log" | head -5 >&2 || true
