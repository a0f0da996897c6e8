#!/usr/bin/env bash
# README's first command (`make demo`): installs what it needs, builds, starts a throwaway
# cluster, loads the reference schema with production rows and two test sessions, starts
# the HTTP shim, cleans one session and then everything through POST /api/v1/test-cleanup,
# and prints each response and the row counts before and after. Leaves nothing running.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export TC_PGPORT=${TC_DEMO_PGPORT:-54339}  # its own cluster, apart from the test suite's

bash test/install_deps.sh
make -s -j"$(nproc)" all shim >/dev/null
make -s install >/dev/null

shim_pid=
finish() {
  [ -n "$shim_pid" ] && kill -TERM "$shim_pid" 2>/dev/null && wait "$shim_pid" 2>/dev/null
  bash test/cluster.sh stop
}
trap finish EXIT
bash test/cluster.sh start
eval "$(bash test/cluster.sh env)"

db=test_cleanup_demo
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION test_cleanup" \
  -c "ALTER DATABASE $db SET test_cleanup.enabled = on" -f test/reference_schema.sql >/dev/null
psql -X -q -d "$db" -c "SELECT reference_data_load()" >/dev/null

shim_log=$repo/.tmp/demo-shim.log
TEST_CLEANUP_ENV=development TEST_CLEANUP_DB="dbname=$db" shim/test_cleanup_shim --port 0 >"$shim_log" &
shim_pid=$!
for _ in $(seq 1 50); do grep -q '"listening"' "$shim_log" 2>/dev/null && break; sleep 0.1; done
port=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["port"])' "$shim_log")
url=http://127.0.0.1:$port/api/v1/test-cleanup

counts() {
  echo
  echo "-- $1"
  psql -X -d "$db" -c "SELECT tbl AS \"table\", n AS rows, ids FROM reference_summary"
}
post() {
  echo
  echo "\$ curl -s -X POST $url $*"
  curl -s -X POST "$url" "$@" | python3 -m json.tool
}

echo "test_cleanup demo: reference schema in database $db, shim on 127.0.0.1:$port"
echo "production rows have ids below 100; session A's ids are 1xx, session B's 2xx"
counts "row counts before"
post -H 'Content-Type: application/json' -d '{"test_session_id": "test_session_1640995200_abc12345"}'
counts "after cleaning session A: B's rows and production rows remain; shared files survive"
post
counts "after cleaning all test data (no body): only production rows remain"
echo
echo "-- the audit trail (test_cleanup.audit_log)"
psql -X -d "$db" -c "SELECT cleaned_at::time(0) AS at, coalesce(test_session_id, '(all)') AS session, role_name,
                            deleted_counts -> 'users' AS users, round(duration_ms::numeric, 1) AS ms
                       FROM test_cleanup.audit_log ORDER BY audit_id"
echo "-- the shim's request log"
cat "$shim_log"
