#!/usr/bin/env bash
# Soak test (not CI): the real worker polling 500 sources for a long time while a local fault server answers at
# random with delays, 500s, connection resets, timeouts and bad JSON. Every 30 s it samples the worker's RSS,
# thread count and open file descriptors (from /proc) and its poll counters into a CSV. At the end it stops the
# worker with SIGTERM and checks:
#   - no poll lost: polls counted in /metrics (the "Storage closed" line) = polls written + dropped, dropped = 0,
#     and the database holds exactly the written polls;
#   - flat resources: the mean of the last 25% of samples vs the first 25% (RSS, threads, fds): at most SOAK_GROWTH
#     times, or within a small absolute allowance (32 MiB, 16 threads, 32 fds).
# Then it runs the SIGKILL crash test (CrashRecoveryTests) with SOAK_CRASH_RUNS kills, more than the suite's 10.
# Exit 0 when all hold, 1 otherwise. Everything runs on 127.0.0.1 and stops by itself.
#
# usage: scripts/soak.sh [DURATION]        DURATION like 2h (default), 10m, 90s
# env:   SOAK_SOURCES (500), SOAK_SAMPLE_EVERY (30, seconds), SOAK_DIR (a new temp folder; kept for inspection),
#        SOAK_GROWTH (1.25: the largest last/first ratio that still counts as flat), SOAK_NO_BUILD=1 (use SOAK_WORKER),
#        SOAK_CRASH_RUNS (50; 0 skips the crash test)
set -euo pipefail
cd "$(dirname "$0")/.."

duration_text="${1:-2h}"
case "$duration_text" in
  *h) duration=$(( ${duration_text%h} * 3600 )) ;;
  *m) duration=$(( ${duration_text%m} * 60 )) ;;
  *s) duration=${duration_text%s} ;;
  *) duration=$duration_text ;;
esac
sources="${SOAK_SOURCES:-500}"
sample_every="${SOAK_SAMPLE_EVERY:-30}"
growth="${SOAK_GROWTH:-1.25}"
dir="${SOAK_DIR:-$(mktemp -d /tmp/roadmap-soak.XXXXXX)}"
mkdir -p "$dir"
echo "soak: $sources sources for ${duration}s, sampling every ${sample_every}s, in $dir"

worker="${SOAK_WORKER:-$dir/worker/Roadmap.Worker.dll}"
if [ "${SOAK_NO_BUILD:-0}" != 1 ]; then
  dotnet build src/Roadmap.Worker -c Release --nologo -v quiet -o "$dir/worker" >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
fault_port=$(free_port)
worker_port=$(free_port)

# The fault server: per request, at random, one of the faults a real API shows.
cat >"$dir/faults.py" <<'EOF'
import json, random, socket, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        r = random.random()
        if r < 0.04:    # longer than any source's timeout
            time.sleep(random.uniform(3, 8))
        elif r < 0.08:  # server error
            return self.reply(500, b"boom", "text/plain")
        elif r < 0.11:  # connection reset: RST instead of a response
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        elif r < 0.13:  # malformed JSON
            return self.reply(200, b"{not json", "application/json")
        elif r < 0.30:  # slow but in time
            time.sleep(random.uniform(0.1, 0.6))
        with lock:
            n = counts[self.path] = counts.get(self.path, 0) + 1
        body = json.dumps({"n": n, "v": random.random()}).encode()
        self.reply(200, body, "application/json")

    def reply(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # A client that gave up (its timeout) before the answer: expected here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
server.serve_forever()
EOF

# 500 sources: json (signals n and v) and http (up, latency, status), intervals of 5 to 15 s, timeout 2 s.
{
  echo "roadmap: { name: Soak }"
  echo "settings: { evaluateEvery: 15s }"
  echo "sources:"
  for ((i = 0; i < sources; i++)); do
    every=$((5 + i % 11))
    if ((i % 3 == 0)); then
      echo "  - { id: h$i, kind: http, every: ${every}s, timeout: 2s, url: \"http://127.0.0.1:$fault_port/h/$i\" }"
    else
      echo "  - { id: j$i, kind: json, every: ${every}s, timeout: 2s, url: \"http://127.0.0.1:$fault_port/j/$i\", signals: { n: \$.n, v: \$.v } }"
    fi
  done
  echo "initiatives:"
  echo "  - id: soak"
  echo "    name: Soak"
  echo "    kpis:"
  echo "      - { id: uptime, source: h0, signal: up, window: 1h, target: \">= 90%\" }"
} >"$dir/roadmap.yaml"

python3 "$dir/faults.py" "$fault_port" 2>"$dir/faults.log" &
faults_pid=$!
# Per-poll warnings off: a failed poll is still stored and counted; the log is not what is measured.
# (env, not VAR=value: the name has dots, which the shell does not take as an assignment; env execs, so $! is dotnet.)
env Logging__LogLevel__Roadmap.Worker.Scheduling.PollJob=Error \
  dotnet "$worker" run --config "$dir/roadmap.yaml" --database "$dir/roadmap.db" --urls "http://127.0.0.1:$worker_port" \
  >"$dir/worker.log" 2>&1 &
worker_pid=$!
cleanup() {
  kill "$faults_pid" 2>/dev/null || true
  kill -KILL "$worker_pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$worker_port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$worker_port/readyz" >/dev/null || { echo "worker not ready; log:"; tail -50 "$dir/worker.log"; exit 1; }

polls_counted() { curl -fs "http://127.0.0.1:$worker_port/metrics" | awk '/^roadmap_source_polls_total\{/ { s += $NF } END { printf "%d", s }'; }
metric() { curl -fs "http://127.0.0.1:$worker_port/metrics" | awk -v n="$1" '$1 == n { printf "%d", $NF }'; }

csv="$dir/samples.csv"
echo "elapsed_s,rss_kb,threads,fds,polls_counted,queue_length,polls_dropped" >"$csv"
start=$(date +%s)
while :; do
  now=$(date +%s)
  elapsed=$((now - start))
  kill -0 "$worker_pid" 2>/dev/null || { echo "the worker died; log:"; tail -50 "$dir/worker.log"; exit 1; }
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$worker_pid/status")
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$worker_pid/status")
  fds=$(ls "/proc/$worker_pid/fd" | wc -l)
  echo "$elapsed,$rss,$threads,$fds,$(polls_counted),$(metric roadmap_storage_queue_length),$(metric roadmap_storage_polls_dropped_total)" >>"$csv"
  ((elapsed >= duration)) && break
  sleep "$((sample_every < duration - elapsed ? sample_every : duration - elapsed))"
done

kill -TERM "$worker_pid"
wait "$worker_pid" || { echo "the worker exited non-zero on SIGTERM"; tail -50 "$dir/worker.log"; exit 1; }
kill "$faults_pid" 2>/dev/null || true

python3 - "$dir" "$growth" <<'EOF'
import csv, re, sqlite3, sys
folder, growth = sys.argv[1], float(sys.argv[2])
ok = True
log = open(f"{folder}/worker.log").read()
m = re.search(r"Storage closed: (\d+) polls counted, (\d+) polls written, (\d+) dropped, (\d+) samples written", log)
if not m:
    print("FAIL: no 'Storage closed' line in the worker log"); sys.exit(1)
counted, written, dropped, samples = map(int, m.groups())
db = sqlite3.connect(f"file:{folder}/roadmap.db?mode=ro", uri=True)
stored = db.execute("SELECT count(*) FROM polls").fetchone()[0]
failures = db.execute("SELECT count(*) FROM polls WHERE outcome = 'failure'").fetchone()[0]
reasons = db.execute("SELECT substr(reason, 1, 40) AS r, count(*) FROM polls WHERE outcome = 'failure' GROUP BY r ORDER BY 2 DESC LIMIT 6").fetchall()
print(f"polls: {counted} counted in /metrics, {written} written, {dropped} dropped, {stored} in the database ({failures} failed polls); {samples} samples")
print("  top failure reasons: " + "; ".join(f"{r} x{n}" for r, n in reasons))
if counted != written + dropped or dropped != 0 or stored != written:
    print("FAIL: polls lost"); ok = False
else:
    print("ok: no poll lost")
rows = list(csv.DictReader(open(f"{folder}/samples.csv")))
quarter = max(1, len(rows) // 4)
print(f"{len(rows)} samples over {rows[-1]['elapsed_s']} s")
# The .NET thread pool grows and shrinks with load, and the GC sizes the heap to it: an absolute allowance keeps that
# breathing from reading as a leak in short runs; a leak keeps growing past it in a long one.
allowance = {"rss_kb": 32 * 1024, "threads": 16, "fds": 32}
for key in ("rss_kb", "threads", "fds"):
    first = sum(float(r[key]) for r in rows[:quarter]) / quarter
    last = sum(float(r[key]) for r in rows[-quarter:]) / quarter
    ratio = last / first if first else float("inf")
    flat = ratio <= growth or last - first <= allowance[key]
    ok &= flat
    print(f"  {key:8} first 25%: {first:10.0f}  last 25%: {last:10.0f}  ratio {ratio:.2f}  {'flat' if flat else 'GROWING'}")
sys.exit(0 if ok else 1)
EOF

crash_runs="${SOAK_CRASH_RUNS:-50}"
if ((crash_runs > 0)); then
  echo "crash test: $crash_runs SIGKILLs during heavy ingest"
  ROADMAP_CRASH_RUNS="$crash_runs" dotnet test tests/Roadmap.EndToEnd.Tests --nologo \
    --filter "FullyQualifiedName~CrashRecoveryTests" --logger "console;verbosity=normal"
fi
