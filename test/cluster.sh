#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and the demo: its own data directory, port
# and socket directory, run as the postgres user (initdb refuses root), never the system's
# 15/main cluster. The server is the one of $PG_CONFIG (default: the pg_config on PATH,
# Debian's PostgreSQL 15).
#
#   test/cluster.sh start   initdb a fresh cluster (replacing any earlier one) and start it
#   test/cluster.sh stop    stop it and remove its files
#   test/cluster.sh env     print the PG* settings that reach it, for `eval`
#   test/cluster.sh down    stop the server but keep its data (to test a database outage)
#   test/cluster.sh up      start it again after `down`
#
# TC_PGPORT picks the port (default 54329). TC_CITUS=1 makes it a Citus node: Citus
# preloaded, and listening on 127.0.0.1 too, where the other nodes reach it. TC_EXTRA_CONF
# holds more postgresql.conf lines (e.g. pg_cron's).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
port=${TC_PGPORT:-54329}
state=$repo/.tmp/cluster-$port.path  # where the cluster lives, for stop and env

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# Under the repository when the postgres user can reach it, else in /tmp (a clone under
# /root is not traversable by postgres).
choose_dir() {
  mkdir -p "$repo/.tmp"
  if as_postgres test -x "$repo/.tmp" 2>/dev/null; then
    echo "$repo/.tmp/cluster-$port"
  else
    echo "/tmp/test_cleanup-cluster-$port"
  fi
}

stop() {
  [ -f "$state" ] || return 0
  local dir
  dir=$(cat "$state")
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$state"
}

start() {
  stop
  local dir
  dir=$(choose_dir)
  rm -rf "$dir"
  mkdir -p "$dir/socket"
  chown -R postgres: "$dir"
  echo "$dir" >"$state"
  as_postgres "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # Durability is not needed for throwaway data; speed is.
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir/socket'
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%a '
CONF
  if [ "${TC_CITUS:-0}" = 1 ]; then
    cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
max_connections = 200
CONF
  fi
  [ -n "${TC_EXTRA_CONF:-}" ] && echo "$TC_EXTRA_CONF" >>"$dir/data/postgresql.conf"
  if ! as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
    cat "$dir/server.log" >&2
    exit 1
  fi
}

env_settings() {
  local dir
  dir=$(cat "$state")
  echo "export PGHOST='$dir/socket' PGPORT='$port' PGUSER=postgres TC_SERVER_LOG='$dir/server.log' TC_PGDATA='$dir/data'"
}

down() { as_postgres "$bindir/pg_ctl" -D "$(cat "$state")/data" -m fast -w stop >/dev/null; }
up() {
  local dir
  dir=$(cat "$state")
  as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

case "${1:-}" in
  start) start ;;
  down) down ;;
  up) up ;;
  stop) stop ;;
  env) env_settings ;;
  *) echo "usage: $0 start|stop|env|down|up" >&2; exit 2 ;;
esac
