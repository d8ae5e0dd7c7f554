#!/usr/bin/env bash
# A PostgreSQL server of the benchmarks' own, tuned as a real deployment would be, for the pg-* verbs of
# bench/Roadmap.Bench.Storage:
#   bench/postgres.sh start DIR   initdb into DIR (as the postgres user when run as root: initdb refuses root), start
#                                 it on 127.0.0.1 and a free port; prints the connection string
#   bench/postgres.sh stop DIR    stops it; DIR can then be deleted
# Durability stays on (fsync, synchronous_commit, full_page_writes): the headline figures are for a server that keeps
# what it acknowledged. The rest is the usual sizing for a dedicated machine with a few GiB of memory.
. "$(dirname "$0")/lib.sh"
verb="${1:?start|stop}" dir="${2:?DIR}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$verb" in
  start)
    mkdir -p "$dir"
    [[ $EUID -eq 0 ]] && chown postgres: "$dir"
    echo "bench-Password-1" >"$dir/pwfile"
    as_pg "$bin/initdb" -D "$dir/data" -U roadmap -A scram-sha-256 --pwfile="$dir/pwfile" -E UTF8 --no-locale >/dev/null
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o "-h 127.0.0.1 -p $port -k '$dir' \
      -c shared_buffers=2GB -c effective_cache_size=8GB -c work_mem=32MB -c maintenance_work_mem=512MB \
      -c wal_buffers=64MB -c max_wal_size=8GB -c checkpoint_timeout=15min -c checkpoint_completion_target=0.9 \
      -c wal_compression=on -c random_page_cost=1.1 -c max_connections=50" >/dev/null
    echo "Host=127.0.0.1;Port=$port;Database=postgres;Username=roadmap;Password=bench-Password-1"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
