#!/usr/bin/env bash
# Client mode (managed PostgreSQL): test_cleanup_client and the shim's --mode client against
# a database where the extension is NOT installed, as a role that is not a superuser and
# owns the tables. The pg_regress scenarios (test/client_mode.py) and the differential test
# must give the same rows and counts as extension mode; the CLI installs, opens and closes
# the gate, refuses what it cannot do, and changes nothing when it fails.
# TEST_CLEANUP_LONG=1 runs 1000 differential cases instead of 100.
source "$(dirname "$0")/lib.sh"

client=$TC_REPO/client/test_cleanup_client
owner=tc_client_owner
ext_db=tc_client_ext
client_db=tc_client_mode
dsn="dbname=$client_db user=$owner"
as_owner() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$dsn" -c "$@"; }
# run_client ARGS...: stdout and stderr of the client in $out and $err, its status in $status
run_client() {
  out=$("$client" "$@" 2>"$work/err")
  status=$?
  err=$(cat "$work/err")
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

expect_eq "make builds test_cleanup_client" "./client/test_cleanup_client" \
  "$(cd "$TC_REPO" && find . -name test_cleanup_client -type f)"

# The role a managed database gives its owner: no superuser, owns the database and tables.
dropdb --if-exists "$client_db" >/dev/null 2>&1
q postgres "DROP ROLE IF EXISTS $owner; CREATE ROLE $owner LOGIN NOSUPERUSER NOCREATEROLE" >/dev/null 2>&1
createdb -O "$owner" "$client_db"
expect_eq "the client's role is not a superuser" "f" "$(as_owner "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")"

run_client --db "$dsn" --bogus
expect_eq "a usage error exits 2" "2" "$status"
run_client --db "$dsn" --session s1
expect_match "before --install a cleanup is refused, naming the fix" \
  "^1 ERROR:  test_cleanup: client mode is not installed in this database.*--install" "$status $err"

run_client --db "$dsn" --install
expect_match "--install installs as the owner role" "^0 test_cleanup client mode [0-9.]* installed" "$status $out"
run_client --db "$dsn" --install
expect_match "--install again finds it installed" "^0 .* is already installed" "$status $out"
expect_eq "the install holds no C function" "0" \
  "$(as_owner "SELECT count(*) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
               WHERE p.pronamespace = 'test_cleanup'::regnamespace AND l.lanname = 'c'")"
# The same objects as the extension's, less those that need C (the cleanup, explain, the
# reaper, auto-tagging) and plus the gate.
fresh_extension_db "$ext_db"
objects_except() {  # the schema's functions and relations, less those listed
  echo "SELECT string_agg(o, ' ' ORDER BY o) FROM (
          SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'test_cleanup'::regnamespace
          UNION ALL SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'test_cleanup'::regnamespace) x(o)
         WHERE o NOT IN ($1)"
}
expect_eq "the install has the extension's SQL objects, less the C ones, plus the gate" \
  "$(q "$ext_db" "$(objects_except "'test_cleanup._auto_tag_trigger()', 'test_cleanup._clean_sessions(text[],boolean)',
     'test_cleanup.explain(text)', 'test_cleanup.reap(interval,boolean)', 'test_cleanup._auto_tag()',
     'test_cleanup.auto_tag(regclass,boolean)'")")" \
  "$(as_owner "$(objects_except "'client_settings', 'client_settings_pkey', 'client_plan_cache',
                                 'client_plan_cache_pkey'")")"

psql -X -q -v ON_ERROR_STOP=1 "$dsn" -f "$TC_REPO/test/reference_schema.sql" >/dev/null
as_owner "SELECT reference_data_load()" >/dev/null
rows_now="SELECT string_agg(tbl || ':' || id, ',' ORDER BY tbl, id) FROM reference_rows"
before=$(as_owner "$rows_now")
run_client --db "$dsn" --session test_session_1640995200_abc12345
expect_match "with the gate closed the cleanup is refused (42501), as the extension's" \
  "^1 ERROR:  test_cleanup is disabled in this database.*SQLSTATE:  42501" "$status $(tr '\n' ' ' <<<"$err")"
run_client --db "$dsn" --enable
expect_eq "--enable opens the gate" "0 test_cleanup: the gate is open" "$status $out"
run_client --db "$dsn" --session test_session_1640995200_abc12345 --dry-run
expect_match "a dry run counts" '"users":2.*"dry_run":true' "$out"
expect_eq "a dry run deletes nothing" "$before" "$(as_owner "$rows_now")"
PGOPTIONS="-c test_cleanup.skip_fk_checks=on" run_client --db "$dsn"
expect_match "the fast mode is refused in client mode, nothing deleted" \
  "^1 ERROR:  test_cleanup: test_cleanup.skip_fk_checks is not available in client mode.*0A000 +$before\$" \
  "$status $(tr '\n' ' ' <<<"$err") $(as_owner "$rows_now")"
run_client --db "$dsn" --session ""
expect_match "an empty session is refused (22023)" "^1 ERROR:  test_cleanup: the test session id must not be empty.*22023" \
  "$status $(tr '\n' ' ' <<<"$err")"
run_client --db "$dsn" --session test_session_1640995200_abc12345
expect_match "the cleanup prints the extension's result" '^0 \{"collateral_counts":.*"deleted_counts":.*"users":2.*"test_session_id":"test_session_1640995200_abc12345"\}$' "$status $out"
expect_eq "the audit log has the cleanup, by the owner role" "1 $owner" \
  "$(as_owner "SELECT count(*) || ' ' || max(role_name) FROM test_cleanup.audit_log")"
expect_eq "the plan function lives only in pg_temp (no other schema gets one)" "0" \
  "$(as_owner "SELECT count(*) FROM pg_proc WHERE proname = 'test_cleanup_client_run' AND pronamespace <> pg_my_temp_schema()")"
# The plan is kept, for the catalogs as they are; a schema change it depends on makes the
# next cleanup read and plan again.
expect_eq "the plan of a session's cleanup is kept" "1" \
  "$(as_owner "SELECT count(*) FROM test_cleanup.client_plan_cache WHERE NOT all_sessions")"
as_owner "SELECT reference_data_load();
          CREATE TABLE cm_later (id int PRIMARY KEY, user_id bigint REFERENCES users ON DELETE CASCADE);
          INSERT INTO cm_later VALUES (1, 101), (2, 1)" >/dev/null
run_client --db "$dsn" --session test_session_1640995200_abc12345
expect_match "a table created since is in the next plan" '^0 .*"deleted_counts":\{[^}]*"cm_later":1' "$status $out"
as_owner "DROP TABLE cm_later; SELECT reference_data_load()" >/dev/null
run_client --db "$dsn" --session test_session_1640995200_abc12345
expect_match "a table dropped since is not" '^0 .*"users":2' "$status $out"
run_client --db "$dsn" --disable
run_client --db "$dsn"
expect_eq "--disable closes the gate again" "1" "$status"
run_client --db "$dsn" --enable
run_client --db "dbname=$ext_db" --install
expect_match "--install refuses where the extension is installed" \
  "^1 ERROR:  test_cleanup: the test_cleanup extension [0-9.]* is installed" "$status $err"

# The pg_regress scenarios, both ways, on the same data.
psql -X -q -v ON_ERROR_STOP=1 -d "$ext_db" -f "$TC_REPO/test/reference_schema.sql" >/dev/null
as_owner "SELECT reference_data_load()" >/dev/null
/usr/bin/python3 "$TC_REPO/test/client_mode.py" --client "$client" --extension-db "$ext_db" \
  --client-db "$client_db" --owner "$owner" || TC_FAILED=1

# The shim in client mode answers as in extension mode.
for db in "$ext_db" "$client_db"; do q "$db" "SELECT reference_unregister(); SELECT reference_register(); SELECT reference_data_load()" >/dev/null; done
start_shim() {  # start_shim NAME DSN ARGS...
  local name=$1 db=$2
  shift 2
  TEST_CLEANUP_ENV=test TEST_CLEANUP_DB="$db" TEST_CLEANUP_RATE_LIMIT=0 \
    "$TC_REPO/shim/test_cleanup_shim" --port 0 "$@" >"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
  for _ in $(seq 1 50); do grep -q '"port"' "$work/$name.log" && break; sleep 0.1; done
  sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/$name.log" | head -1
}
ext_port=$(start_shim ext "dbname=$ext_db")
client_port=$(start_shim client "$dsn" --mode client)
post() { curl -s -X POST "http://127.0.0.1:$1/api/v1/test-cleanup" -H 'Content-Type: application/json' -d "$2"; }
same_json() { /usr/bin/python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$1" "$2"; }
for body in '{"test_session_id": "test_session_1640995200_abc12345", "dry_run": true}' \
            '{"test_session_id": "test_session_1640995200_abc12345"}' '{}'; do
  want=$(post "$ext_port" "$body") got=$(post "$client_port" "$body")
  if same_json "$want" "$got"; then ok "the shim in client mode answers $body as in extension mode"
  else not_ok "the shim in client mode answers $body as in extension mode"; printf '    extension: %s\n    client:    %s\n' "$want" "$got"; fi
done
expect_match "the shim in client mode refuses the reaper (501)" '"code":"not_supported_in_client_mode"' \
  "$(post "$client_port" '{"older_than_seconds": 60}')"
expect_eq "the shim's health check in client mode" '{"status":"ok"}' "$(curl -s "http://127.0.0.1:$client_port/healthz")"
kill "$(cat "$work/ext.pid")" "$(cat "$work/client.pid")" 2>/dev/null
wait 2>/dev/null

# Random schemas against PostgreSQL's own cascade, cleaned by the client as the owner.
cases=100
[ "${TEST_CLEANUP_LONG:-0}" = 1 ] && cases=1000
/usr/bin/python3 "$TC_REPO/test/differential.py" --dbname "$client_db" --user "$owner" --client "$client" \
  --cases "$cases" ${TEST_CLEANUP_SEED:+--seed "$TEST_CLEANUP_SEED"} || TC_FAILED=1

dropdb "$ext_db"
dropdb "$client_db"
q postgres "DROP ROLE $owner" >/dev/null
finish
