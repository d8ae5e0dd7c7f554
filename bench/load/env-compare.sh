#!/usr/bin/env bash
# Runs goal 4's probe load (roadmap-load.sh, SOURCES http sources every second, no KPIs) once per variant and round,
# the variants alternated, each with its own worker build and environment; beside each run it reads, over the middle
# of the measured window, the CPU of the bench nginx (its workers' user + system time) and of the whole machine
# (/proc/stat), so the cores left for Roadmap are known. Prints roadmap-load.sh's JSON lines and one line per run with
# nginx_cores and machine_busy_cores.
# Usage: bench/load/env-compare.sh SOURCES SECONDS ROUNDS VARIANT...
#   VARIANT is label:worker:NAME=VALUE,NAME=VALUE (the environment may be empty: "head:bench/.out/head/Roadmap.Worker:")
#   WARMUP=20 (seconds before the window, passed to roadmap-load.sh).
# Example (the inline socket completions lever, docs/PERFORMANCE.md):
#   bench/load/env-compare.sh 2000 30 2 "head:bench/.out/head/Roadmap.Worker:" \
#     "inline:bench/.out/head/Roadmap.Worker:DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1"
. "$(dirname "$0")/../lib.sh"
cd "$REPO_DIR"
SOURCES="$1" SECS="$2" ROUNDS="$3"; shift 3
WARMUP="${WARMUP:-20}"
# CPU seconds of every nginx process (a worker gone meanwhile counts 0), and the machine's idle seconds.
nginx_seconds() { for p in $(pgrep -x nginx); do cpu_seconds "$p" 2>/dev/null || echo 0; done | awk '{ s += $1 } END { printf "%.3f\n", s }'; }
idle_seconds() { awk -v t="$CLK_TCK" '/^cpu / { printf "%.3f\n", ($5 + $6) / t }' /proc/stat; }
for _ in $(seq 1 "$ROUNDS"); do
  for v in "$@"; do
    IFS=: read -r label worker envs <<<"$v"
    vars=()
    IFS=, read -ra kv <<<"$envs"
    for e in "${kv[@]}"; do [[ -n "$e" ]] && vars+=("$e"); done
    # The side reading: from 8 s into the window to 2 s before its end (the run's own start and scrapes excluded).
    window=$((SECS - 10))
    (
      sleep $((WARMUP + 8))
      n0="$(nginx_seconds)" i0="$(idle_seconds)"
      sleep "$window"
      n1="$(nginx_seconds)" i1="$(idle_seconds)"
      awk -v l="$label" -v n0="$n0" -v n1="$n1" -v i0="$i0" -v i1="$i1" -v s="$window" -v c="$(nproc)" \
        'BEGIN { printf "{\"label\":\"%s\",\"nginx_cores\":%.3f,\"machine_busy_cores\":%.3f}\n", l, (n1 - n0) / s, c - (i1 - i0) / s }'
    ) &
    side=$!
    env "${vars[@]}" ROADMAP_WORKER="$worker" bench/load/roadmap-load.sh --sources "$SOURCES" --kpis 0 --warmup "$WARMUP" \
      --seconds "$SECS" --rss-every 5 --label "$label" | grep -v '^$'
    wait "$side"
  done
done
