#!/usr/bin/env bash
# The GC under polling load: runs the worker (native build by default, $ROADMAP_WORKER to choose) polling SOURCES http
# sources every second against the bench nginx, with the given environment (e.g. DOTNET_GCgen0size=4000000), and
# prints for a SECS-second window: probes/s, failed/s, CPU cores, probes per CPU-second, collections per second of
# each generation (dotnet_collection_count_total: a gen1 collection counts in gen0 too), RSS and managed heap (MiB).
# KPIS=N adds N KPIs (gen-config.py); SETTLE=S waits S seconds after readiness first (default 20).
# Usage: bench/load/gc-rates.sh SOURCES SECS [NAME=VALUE ...]
. "$(dirname "$0")/../lib.sh"
SOURCES=$1 SECS=$2; shift 2
WORKER="$(roadmap_worker)"
URL=http://127.0.0.1:19811
start_run
python3 "$BENCH_DIR/load/gen-config.py" "$SOURCES" "${KPIS:-0}" 1s >"$RUN/roadmap.yaml"
env "$@" "$WORKER" run --config "$RUN/roadmap.yaml" --database "$RUN/roadmap.db" --urls "$URL" >"$RUN/worker.log" 2>&1 &
PID=$!
wait_for "$URL/readyz" 60
sleep "${SETTLE:-20}"
m() { curl -fsS "$URL/metrics" > "$RUN/m$1"; }
m 0; c0=$(cpu_seconds $PID); t0=$(date +%s.%N)
sleep "$SECS"
m 1; c1=$(cpu_seconds $PID); t1=$(date +%s.%N)
python3 - "$RUN/m0" "$RUN/m1" "$c0" "$c1" "$t0" "$t1" "$(rss_mib $PID)" "$*" <<'PY'
import sys
def load(p):
    d={}
    for l in open(p):
        if l.startswith('#'): continue
        k,_,v=l.rpartition(' ')
        d[k]=float(v)
    return d
a,b=load(sys.argv[1]),load(sys.argv[2]); c0,c1,t0,t1=map(float,sys.argv[3:7]); dt=t1-t0
def s(pref,filt=lambda k:True): return sum(b[k]-a.get(k,0) for k in b if k.startswith(pref) and filt(k))
ok=s('roadmap_source_polls_total',lambda k:'failure' not in k); bad=s('roadmap_source_polls_total',lambda k:'failure' in k)
gcs={g:s('dotnet_collection_count_total{generation="%s"'%g)/dt for g in '012'}
cores=(c1-c0)/dt
print(f"{sys.argv[8] or 'default':40s} probes/s {ok/dt:7.0f} failed/s {bad/dt:5.1f} cores {cores:.3f} probes/cpu-s {ok/dt/cores:6.0f} gc/s gen0 {gcs['0']:.1f} gen1 {gcs['1']:.1f} gen2 {gcs['2']:.2f} rss {sys.argv[7]} heap {b.get('dotnet_total_memory_bytes',0)/1048576:.0f}")
PY
