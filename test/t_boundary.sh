#!/usr/bin/env bash
# The C++/PostgreSQL boundary (extension/boundary.hpp) in every way a guarded C++ body can
# end: a PostgreSQL error keeps its SQLSTATE and DETAIL; C++ exceptions become errors with
# theirs; a PG_TRY left by a return, or an error context callback left pushed, fails the
# call and leaves the backend's error handling working. Through test/boundary/, a module
# built against the PostgreSQL under test and loaded by path (never installed).
source "$(dirname "$0")/lib.sh"

module_dir=$TC_REPO/test/boundary
make -s -C "$module_dir" clean >/dev/null 2>&1
if ! make -s -C "$module_dir" >"$TC_REPO/.tmp/boundary-build.log" 2>&1; then
  not_ok "the boundary test module builds"
  cat "$TC_REPO/.tmp/boundary-build.log"
  finish
fi
# Next to the cluster's data, where the server (the postgres user) can read it.
library=$(dirname "$TC_PGDATA")/boundary_test.so
cp "$module_dir/boundary_test.so" "$library"
chmod a+r "$library"
make -s -C "$module_dir" clean >/dev/null 2>&1

db=tc_boundary
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
q "$db" "CREATE FUNCTION boundary_test(text) RETURNS int AS '$library', 'boundary_test' LANGUAGE C STRICT" >/dev/null
q "$db" "CREATE FUNCTION outcome(kind text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE state text; message text; detail text; hint text;
BEGIN
  RETURN 'returned ' || boundary_test(kind);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN concat_ws(' | ', state, message, nullif(detail, ''), nullif(hint, ''));
END \$\$" >/dev/null

expect_eq "a body that returns: its value" "returned 1" "$(q "$db" "SELECT outcome('ok')")"
expect_eq "a PostgreSQL error: re-raised as it was (SQLSTATE, message, detail)" \
  "22012 | raised by PostgreSQL | its detail" "$(q "$db" "SELECT outcome('pg_error')")"
expect_eq "a UserError: its SQLSTATE, message, detail and hint" \
  "22023 | raised by C++ | its detail | its hint" "$(q "$db" "SELECT outcome('user_error')")"
expect_eq "std::bad_alloc: out of memory (53200)" \
  "53200 | test_cleanup: out of memory" "$(q "$db" "SELECT outcome('bad_alloc')")"
expect_eq "another std::exception: an internal error with its what()" \
  "XX000 | test_cleanup: internal error: a runtime_error" "$(q "$db" "SELECT outcome('std_exception')")"
expect_eq "a thrown non-exception: an internal error" \
  "XX000 | test_cleanup: internal error of unknown kind" "$(q "$db" "SELECT outcome('unknown')")"

# A dangling stack must fail the call, and the next error in the same backend must still be
# caught where it belongs (a dangling PG_exception_stack would jump into a dead frame and
# crash the backend; a dangling context callback would run garbage).
for kind in dangling_try dangling_context; do
  case $kind in
    dangling_try) message="a PG_TRY block was left without PG_END_TRY" ;;
    dangling_context) message="an error context callback was left installed" ;;
  esac
  actual=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<SQL
SELECT pg_backend_pid() AS before \\gset
SELECT outcome('$kind');
SELECT outcome('pg_error');
DO \$\$ BEGIN PERFORM 1 / 0; EXCEPTION WHEN division_by_zero THEN RAISE NOTICE 'caught'; END \$\$;
SELECT pg_backend_pid() = :before AS same_backend
SQL
)
  expect_eq "$kind: the call fails, then errors in the same backend work as before" \
    "XX000 | test_cleanup: internal error: $message | PostgreSQL's error handling was restored as it was before the call; nothing was changed by it.
22012 | raised by PostgreSQL | its detail
NOTICE:  caught
t" "$actual"
  # The same where an error follows in the same statement, before any outer PG_TRY has
  # restored the stacks: without the check, that error would jump into the dead frame.
  actual=$(psql -X -q -A -t -d "$db" 2>&1 <<SQL
SELECT pg_backend_pid() AS before \\gset
SELECT boundary_test('$kind') / 0;
SELECT 1 / 0;
SELECT pg_backend_pid() = :before AS same_backend
SQL
)
  expect_eq "$kind, an error in the same statement after it: the call fails, the next error is an ordinary one" \
    "ERROR:  test_cleanup: internal error: $message
DETAIL:  PostgreSQL's error handling was restored as it was before the call; nothing was changed by it.
ERROR:  division by zero
t" "$actual"
done

if grep -E 'TRAP:|terminated by signal|was terminated by exception' "$TC_SERVER_LOG" >/dev/null; then
  not_ok "no backend crashed"
else
  ok "no backend crashed"
fi
dropdb "$db"
rm -f "$library"
finish
