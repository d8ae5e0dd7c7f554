#!/usr/bin/env bash
# Polls that start late under goal 6's load: runs the worker (native build by default, $ROADMAP_WORKER to choose)
# with 2,000 http sources every second against the bench nginx and 1,000 KPIs evaluated every 15 s, waits 60 s after
# readiness, then over SECS seconds counts from roadmap_poll_lateness_seconds the polls that started more than 100 ms
# and more than 250 ms after their tick, the bucket that holds the p99, failed polls, CPU cores and RSS. Extra
# NAME=VALUE pairs are set in the worker's environment (and label the line).
# Usage: bench/load/late-polls.sh SECS [NAME=VALUE ...]
. "$(dirname "$0")/../lib.sh"
SECS=$1; shift
WORKER="$(roadmap_worker)"
URL=http://127.0.0.1:19811
start_run
python3 "$BENCH_DIR/load/gen-config.py" 2000 1000 1s >"$RUN/roadmap.yaml"
env "$@" "$WORKER" run --config "$RUN/roadmap.yaml" --database "$RUN/roadmap.db" --urls "$URL" >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for "$URL/readyz" 60
sleep 60
curl -fsS "$URL/metrics" > "$RUN/m0"; c0=$(cpu_seconds $PID)
sleep "$SECS"
curl -fsS "$URL/metrics" > "$RUN/m1"; c1=$(cpu_seconds $PID)
python3 - "$RUN/m0" "$RUN/m1" "$*" "$c0" "$c1" "$SECS" "$(rss_mib $PID)" <<'PY'
import sys,re
def load(p):
    d={}
    for l in open(p):
        if l.startswith('#'): continue
        k,_,v=l.rpartition(' '); d[k]=float(v)
    return d
a,b=load(sys.argv[1]),load(sys.argv[2])
def delta(k): return b.get(k,0)-a.get(k,0)
n=delta('roadmap_poll_lateness_seconds_count')
bk={}
for k in b:
    m=re.match(r'roadmap_poll_lateness_seconds_bucket\{le="([^"]+)"\}',k)
    if m: bk[float(m.group(1))]=delta(k)
p99=next(le for le in sorted(bk) if bk[le]>=0.99*n)
late100=n-bk[0.1]; late250=n-bk[0.25]
fail=sum(delta(k) for k in b if k.startswith('roadmap_source_polls_total') and 'failure' in k)
print(f"{sys.argv[3] or 'default':45s} polls {n:.0f} late>100ms {late100:.0f} late>250ms {late250:.0f} p99<= {p99} failed {fail:.0f} cores {(float(sys.argv[5])-float(sys.argv[4]))/float(sys.argv[6]):.3f} rss {sys.argv[7]}")
PY
