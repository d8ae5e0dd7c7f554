#!/usr/bin/env bash
# What the writer's disk writes are made of: runs the worker (native build by default, $ROADMAP_WORKER to choose)
# with SOURCES http sources every second and KPIS KPIs against the bench nginx, waits WARMUP seconds, reads
# /proc/PID/io over 10 s, then traces its pwrite64/pread64 calls with strace for TRACE seconds (strace slows it) and
# attributes them: bytes per file (the database, its write-ahead log, SQLite's temporary files), and the pages written
# to the log and by the checkpoint per table or index (SQLite's dbstat on a copy taken at the end).
# Usage: bench/load/write-attribution.sh [sources=2000] [kpis=1000] [warmup=60] [trace=10]
. "$(dirname "$0")/../lib.sh"
SOURCES="${1:-2000}" KPIS="${2:-1000}" WARMUP="${3:-60}" TRACE="${4:-10}"
command -v strace >/dev/null || { echo "needs strace (apt-get install strace)" >&2; exit 2; }
WORKER="$(roadmap_worker)"
start_run
python3 "$BENCH_DIR/load/gen-config.py" "$SOURCES" "$KPIS" 1s >"$RUN/roadmap.yaml"
"$WORKER" run --config "$RUN/roadmap.yaml" --database "$RUN/roadmap.db" --urls http://127.0.0.1:19817 >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for http://127.0.0.1:19817/readyz 60
sleep "$WARMUP"
cat "/proc/$PID/io" >"$RUN/io0"; sleep 10; cat "/proc/$PID/io" >"$RUN/io1"
ls -l "/proc/$PID/fd" >"$RUN/fds"
timeout "$TRACE" strace -f -p "$PID" -e trace=pwrite64,pread64 -e signal=none -qq -xx -o "$RUN/strace" 2>/dev/null || true
kill -STOP "$PID"; ls -l "/proc/$PID/fd" >>"$RUN/fds"; cp "$RUN/roadmap.db" "$RUN/copy.db"; kill -CONT "$PID"
python3 - "$RUN" <<'PY'
import collections, re, sqlite3, sys
run = sys.argv[1]
io0 = dict(l.split(": ") for l in open(f"{run}/io0").read().splitlines())
io1 = dict(l.split(": ") for l in open(f"{run}/io1").read().splitlines())
print("untraced, 10 s: wchar %.1f MB/s, write_bytes (to disk) %.1f MB/s" % ((int(io1["wchar"]) - int(io0["wchar"])) / 10e6, (int(io1["write_bytes"]) - int(io0["write_bytes"])) / 10e6))
files = {}
for l in open(f"{run}/fds"):
    m = re.search(r" (\d+) -> (.*)$", l.strip())
    if m:
        name = m.group(2)
        files[m.group(1)] = "log" if name.endswith("roadmap.db-wal") else "database" if name.endswith("roadmap.db") else "temporary" if "etilqs" in name else None
con = sqlite3.connect(f"file:{run}/copy.db?mode=ro", uri=True)
pages = {p: n for n, p in con.execute("SELECT name, pageno FROM dbstat")}
size = con.execute("PRAGMA page_size").fetchone()[0]
call = re.compile(r'^\d+\s+(pwrite64|pread64)\((\d+), "([^"]*)"(?:\.\.\.)?, (\d+), (\d+)\)')
calls, nbytes, logged, checkpointed = collections.Counter(), collections.Counter(), collections.Counter(), collections.Counter()
for l in open(f"{run}/strace"):
    m = call.match(l)
    if not m:
        continue
    op, fd, data, n, off = m.groups()
    kind = files.get(fd) or "other"
    calls[(op, kind)] += 1; nbytes[(op, kind)] += int(n)
    if op == "pwrite64" and kind == "log" and int(n) == 24:  # a frame header: its first 4 bytes are the page number
        logged[pages.get(int(data.replace("\\x", "")[:8], 16), "new page")] += 1
    if op == "pwrite64" and kind == "database":
        checkpointed[pages.get(int(off) // size + 1, "new page")] += 1
print("traced (slowed by strace): calls and MB per file")
for (op, kind), c in sorted(calls.items()):
    print(f"  {op} {kind}: {c} calls, {nbytes[(op, kind)] / 1e6:.1f} MB")
print("pages written to the log, by table or index:", logged.most_common(8))
print("pages written by checkpoints, by table or index:", checkpointed.most_common(8))
PY
