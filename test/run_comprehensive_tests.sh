#!/usr/bin/env bash
# An example integration-test harness, in the spirit of the specification's "Usage in
# Integration Tests": it tags everything it creates with a fresh test session id (metadata
# exactly as the spec's "Test Metadata Structure"), runs its checks, and on exit calls
# POST /api/v1/test-cleanup for that session -- unless --keep is given.
#
#   test/run_comprehensive_tests.sh           run, then clean up (default)
#   test/run_comprehensive_tests.sh --keep    run, keep the test data for inspection
#
# TEST_CLEANUP_URL is the shim's base URL (default http://127.0.0.1:8080); PG* variables
# (and PGDATABASE) reach the application database, which has the reference schema.
set -uo pipefail

keep=false
[ "${1:-}" = "--keep" ] && keep=true
url=${TEST_CLEANUP_URL:-http://127.0.0.1:8080}
session="test_session_$(date +%s)_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
echo "test session: $session"

psql_app() { psql -X -q -A -t -v ON_ERROR_STOP=1 -v session="$session" "$@"; }

cleanup() {
  if $keep; then
    echo "--keep: test data of $session left in place"
    return
  fi
  local body
  body=$(python3 -c 'import json, sys; print(json.dumps({"test_session_id": sys.argv[1]}))' "$session")
  echo "cleaning up: POST $url/api/v1/test-cleanup"
  curl -sS -X POST "$url/api/v1/test-cleanup" -H 'Content-Type: application/json' \
    --data-binary "$body" -w '\nHTTP %{http_code}\n'
}
trap cleanup EXIT

# The data a test run creates: a user, the user's searchable and a metric, all tagged.
psql_app <<'SQL' >/dev/null
SELECT jsonb_build_object(
         'test_session_id', :'session',
         'test_timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         'test_marker', 'integration_test_data',
         'created_by_test', true) AS metadata \gset
INSERT INTO users (id, email, test_metadata)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM users), :'session' || '@example.test',
             :'metadata'::jsonb || '{"test_data_type": "user"}')
  RETURNING id AS user_id \gset
INSERT INTO searchables (id, owner_id, title, payloads)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM searchables), :user_id, 'harness item',
             jsonb_build_object('public', jsonb_build_object('test_metadata',
                 :'metadata'::jsonb || '{"test_data_type": "searchable"}')));
INSERT INTO metrics (id, name, tags)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM metrics), 'harness.metric',
             :'metadata'::jsonb || '{"test_data_type": "metric"}');
SQL

# The "tests": here, checks that the tagged data is in place.
count=$(psql_app <<'SQL'
SELECT (SELECT count(*) FROM users WHERE test_metadata ->> 'test_session_id' = :'session')
     + (SELECT count(*) FROM searchables WHERE payloads -> 'public' -> 'test_metadata' ->> 'test_session_id' = :'session')
     + (SELECT count(*) FROM metrics WHERE tags ->> 'test_session_id' = :'session');
SQL
)
if [ "$count" = 3 ]; then
  echo "check: the user, searchable and metric of $session exist"
else
  echo "check FAILED: expected 3 tagged rows, found ${count:-none}"
  exit 1
fi
