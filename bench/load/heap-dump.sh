#!/usr/bin/env bash
# What the managed heap holds under polling load: runs the JIT build (dotnet-gcdump cannot read a native executable)
# polling SOURCES http sources every second against the bench nginx, with KPIS KPIs (default 0), waits SETTLE seconds
# after readiness, then takes a gcdump and prints the worker's RSS and managed heap and the TOP types by the bytes
# their live objects hold (the report's lines for one type in several size classes summed). Extra NAME=VALUE pairs are
# set in the worker's environment (e.g. DOTNET_GCgen0size=4000000). Needs dotnet-gcdump (dotnet tool install -g).
# Usage: [KPIS=N] [TOP=40] bench/load/heap-dump.sh SOURCES SETTLE OUT.gcdump [NAME=VALUE ...]
. "$(dirname "$0")/../lib.sh"
SOURCES=$1 SETTLE=$2 OUT=$3; shift 3
PATH="$PATH:$HOME/.dotnet/tools"
URL=http://127.0.0.1:19811
DLL="$REPO_DIR/src/Roadmap.Worker/bin/Release/net10.0/Roadmap.Worker.dll"
dotnet build "$REPO_DIR/src/Roadmap.Worker" -c Release -v q --nologo >&2
start_run
python3 "$BENCH_DIR/load/gen-config.py" "$SOURCES" "${KPIS:-0}" 1s >"$RUN/roadmap.yaml"
env "$@" dotnet "$DLL" run --config "$RUN/roadmap.yaml" --database "$RUN/roadmap.db" --urls "$URL" >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for "$URL/readyz" 90
sleep "$SETTLE"
echo "sources $SOURCES kpis ${KPIS:-0} $* rss_mib $(rss_mib $PID) managed_heap_mib $(curl -fsS "$URL/metrics" | awk '/^dotnet_total_memory_bytes / { printf "%.1f", $2 / 1048576 }')"
dotnet-gcdump collect -p "$PID" -o "$OUT" >/dev/null
dotnet-gcdump report "$OUT" | python3 -c '
import re, sys, collections
size, count = collections.Counter(), collections.Counter()
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+)\s+([\d,]+)\s+(.*)$", line)
    if m:  # average bytes per object, objects, type (with a size class the report splits it by)
        t = re.sub(r"\s*\(Bytes > [^)]*\)", "", m.group(3)).strip()
        n = int(m.group(2).replace(",", ""))
        size[t] += int(m.group(1).replace(",", "")) * n
        count[t] += n
print(f"live objects {sum(count.values()):,}, {sum(size.values()) / 2**20:.1f} MiB")
for t, b in size.most_common(int(sys.argv[1])):
    print(f"{b / 2**20:8.2f} MiB {count[t]:9,d}  {t[:140]}")
' "${TOP:-40}"
