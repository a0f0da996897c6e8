#!/usr/bin/env bash
# The Python client (clients/python/pytest_test_cleanup.py) with Debian's python3-pytest
# against a real shim: a tiny application (test/client/app.py) writes rows through its own
# connection with the session's options, a test suite uses the fixture, and afterwards
# nothing of the session is left and production rows are untouched; --keep keeps them; a
# failing cleanup fails the run with its error.
source "$(dirname "$0")/lib.sh"

db=tc_client
fresh_reference_db "$db"
q "$db" "CREATE SEQUENCE app_ids START 1000;
         SELECT test_cleanup.auto_tag(t) FROM unnest('{users,searchables,metrics}'::regclass[]) t" >/dev/null
work=$(mktemp -d)
TEST_CLEANUP_ENV=test TEST_CLEANUP_DB="dbname=$db" TEST_CLEANUP_RATE_LIMIT=0 \
  "$TC_REPO/shim/test_cleanup_shim" --port 0 >"$work/shim.log" 2>&1 &
shim=$!
trap 'kill $shim 2>/dev/null; wait $shim 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do grep -q '"port"' "$work/shim.log" && break; sleep 0.1; done
export TEST_CLEANUP_URL="http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/shim.log" | head -1)"
export APP_DB=$db SESSION_FILE=$work/session TEST_CLEANUP_HEARTBEAT_SECONDS=1

suite() {
  PYTHONPATH="$TC_REPO/clients/python:$TC_REPO/test/client" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$TC_REPO/test/client/suite" "$@" >"$work/pytest.log" 2>&1
}
production="SELECT string_agg(tbl || ':' || id, ',' ORDER BY tbl, id) FROM reference_rows"
of_session() {  # the session's marked rows, as sessions() counts them
  q "$db" "SELECT coalesce((SELECT marked_rows::text FROM test_cleanup.sessions() WHERE test_session_id = '$1'), 'none')"
}

before=$(q "$db" "$production")
if suite; then ok "a pytest run with the test_session fixture passes"; else not_ok "a pytest run with the test_session fixture passes"; cat "$work/pytest.log"; fi
session=$(cat "$work/session" 2>/dev/null)
expect_match "the run created a session in the spec's format" '^test_session_[0-9]+_[0-9a-f]{8}$' "$session"
expect_eq "after the run nothing of the session is left (the user, its listing and the unlinked metric were tagged and cleaned)" \
  "none" "$(of_session "$session")"
expect_eq "after the run verify() finds nothing of the session" "0" \
  "$(q "$db" "SELECT count(*) FROM test_cleanup.verify('$session')")"
expect_eq "production rows are untouched" "$before" "$(q "$db" "$production")"
expect_match "the run reports what it cleaned" "test_cleanup: cleaned $session: .*'users': 1" "$(cat "$work/pytest.log")"
expect_eq "the cleanup ended the session's heartbeat" "0" \
  "$(q "$db" "SELECT count(*) FROM test_cleanup.heartbeat WHERE test_session_id = '$session'")"

if suite --keep; then ok "a run with --keep passes"; else not_ok "a run with --keep passes"; cat "$work/pytest.log"; fi
kept=$(cat "$work/session")
expect_eq "--keep keeps the session's rows" '{"users": 1, "metrics": 1, "searchables": 1}' "$(of_session "$kept")"
q "$db" "SELECT test_cleanup('$kept')" >/dev/null

# A protected table the session's cleanup would take an unmarked row from: the run fails
# with the cleanup's error, and nothing is deleted.
q "$db" "SELECT test_cleanup.protect('user_profiles')" >/dev/null
if suite; then not_ok "a failing cleanup fails the pytest run"; else ok "a failing cleanup fails the pytest run"; fi
failed_session=$(cat "$work/session")
expect_match "the run shows the cleanup's error (409, TCP01, the table)" \
  "the cleanup of $failed_session failed, nothing was deleted: HTTP 409 \(TCP01\).*public.user_profiles" "$(cat "$work/pytest.log")"
expect_eq "the failed cleanup deleted nothing" '{"users": 1, "metrics": 1, "searchables": 1}' "$(of_session "$failed_session")"
q "$db" "SELECT test_cleanup.unprotect('user_profiles'); SELECT test_cleanup('$failed_session')" >/dev/null

kill $shim; wait $shim 2>/dev/null
dropdb "$db"
finish
