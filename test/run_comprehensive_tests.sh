#!/usr/bin/env bash
# An example integration-test harness, in the spirit of the specification's "Usage in
# Integration Tests": it asks the database for a fresh test session
# (test_cleanup.new_session()), lets the application write through a connection that
# carries the session (PGOPTIONS="-c test_cleanup.session=..."; the tables are enabled with
# test_cleanup.auto_tag(), so every row it inserts is tagged, no hand-written metadata),
# runs its checks, and on exit calls POST /api/v1/test-cleanup for that session -- unless
# --keep is given.
#
#   test/run_comprehensive_tests.sh           run, then clean up (default)
#   test/run_comprehensive_tests.sh --keep    run, keep the test data for inspection
#
# TEST_CLEANUP_URL is the shim's base URL (default http://127.0.0.1:8080); PG* variables
# (and PGDATABASE) reach the application database, which has the reference schema with
# users, searchables and metrics enabled for auto-tagging.
set -uo pipefail

keep=false
[ "${1:-}" = "--keep" ] && keep=true
url=${TEST_CLEANUP_URL:-http://127.0.0.1:8080}
session=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -c "SELECT test_cleanup.new_session()") || exit 1
echo "test session: $session"

# The application's connection: every row it inserts belongs to the session.
psql_app() {
  PGOPTIONS="-c test_cleanup.session=$session" psql -X -q -A -t -v ON_ERROR_STOP=1 -v session="$session" "$@"
}

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

# What the application writes during the run (a signup: a user, the user's listing, a
# metric), as it always does: the connection's session tags it.
psql_app <<'SQL' >/dev/null
INSERT INTO users (id, email)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM users), :'session' || '@example.test')
  RETURNING id AS user_id \gset
INSERT INTO searchables (id, owner_id, title)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM searchables), :user_id, 'harness item');
INSERT INTO metrics (id, name)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM metrics), 'harness.metric');
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
