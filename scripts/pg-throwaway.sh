#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks: trust auth, loopback, a free port.
#   eval "$(scripts/pg-throwaway.sh start)"   # exports DATABASE_URL and KEYLEDGER_PG_DIR
#   scripts/pg-throwaway.sh stop "$KEYLEDGER_PG_DIR"
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    if [ ! -x "$PGBIN/initdb" ]; then
      echo "PostgreSQL 15 server binaries not found in $PGBIN; installing" >&2
      apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 >&2
    fi
    dir=$(mktemp -d /tmp/keyledger-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB" >/dev/null
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres KEYLEDGER_PG_DIR=$dir"
    ;;
  stop)
    dir=${2:?usage: pg-throwaway.sh stop DIR}
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
