#!/usr/bin/env bash
# What lives outside a single call: the rule catalog survives pg_dump and restore, and
# every call, failed or not, leaves one LOG line with the stable "test_cleanup:" prefix.
source "$(dirname "$0")/lib.sh"

db=tc_dump
copy=tc_dump_copy
fresh_reference_db "$db"
q "$db" "SELECT test_cleanup.set_report_key('withdrawals', 'withdrawal_requests')" >/dev/null
q "$db" "SELECT test_cleanup('test_session_1640995200_abc12345')" >/dev/null
q "$db" "SELECT test_cleanup.protect('metrics')" >/dev/null

# --- pg_dump carries the rules and the audit log --------------------------------------
dropdb --if-exists "$copy" >/dev/null 2>&1
createdb "$copy"
if pg_dump -d "$db" | psql -X -q -v ON_ERROR_STOP=1 -d "$copy" >/dev/null 2>&1; then
  ok "pg_dump output restores into a new database"
else
  not_ok "pg_dump output restores into a new database"
fi
rules="SELECT string_agg(kind || ' ' || \"table\" || ' ' || rule, E'\n' ORDER BY kind, \"table\", rule) FROM test_cleanup.rules"
expect_eq "the restored database has the same rules" "$(q "$db" "$rules")" "$(q "$copy" "$rules")"
expect_eq "the restored database has the audit log" "1" "$(q "$copy" "SELECT count(*) FROM test_cleanup.audit_log")"
expect_eq "the restored database keeps its protected tables" "metrics" \
  "$(q "$copy" "SELECT string_agg(tbl::text, ',') FROM test_cleanup.protected")"
q "$copy" "ALTER DATABASE $copy SET test_cleanup.enabled = on" >/dev/null
expect_eq "the restored rules clean session B (report key kept)" "1" \
  "$(q "$copy" "SELECT test_cleanup('test_session_1640995300_def67890') -> 'deleted_counts' -> 'withdrawal_requests'")"
q "$copy" "ALTER TABLE metrics ADD COLUMN extra jsonb" >/dev/null
expect_eq "the rule ids' sequence is restored too: a new rule gets a fresh id" "5" \
  "$(q "$copy" "SELECT test_cleanup.add_root('metrics', 'extra')")"

# --- one LOG line per call ---------------------------------------------------------------
marker="log-check-$$-$RANDOM"
q "$db" "SELECT test_cleanup('$marker')" >/dev/null
q "$db" "SELECT test_cleanup('$marker-dry', true)" >/dev/null
q "$db" "SET test_cleanup.enabled = off; SELECT test_cleanup('$marker-gate')" >/dev/null 2>&1
q "$db" "CREATE TABLE log_block (id int, user_id bigint NOT NULL REFERENCES users ON DELETE SET NULL); INSERT INTO log_block VALUES (1, 201)" >/dev/null
q "$db" "SELECT test_cleanup('$marker\"quoted
newline')" >/dev/null 2>&1
q "$db" "SELECT test_cleanup('test_session_1640995300_def67890')" >/dev/null 2>&1
sleep 0.5  # the logging collector is not in use, but give the log a moment
log=$(cat "$TC_SERVER_LOG")
expect_match "a successful call logs 'test_cleanup: cleanup done' with its counts" \
  "test_cleanup: cleanup done session=\"$marker\" deleted_counts=\{[^}]*\"users\":0" "$log"
expect_match "a dry run logs 'test_cleanup: dry run (rolled back) done'" \
  "test_cleanup: dry run \(rolled back\) done session=\"$marker-dry\" deleted_counts=\{" "$log"
expect_match "a failed call logs 'test_cleanup: cleanup failed' with SQLSTATE and message" \
  'test_cleanup: cleanup failed session="test_session_1640995300_def67890" sqlstate=23502 error=null value in column "user_id"' "$log"
expect_match "a session id with quotes and a newline stays on one escaped log line" \
  "session=\"$marker\\\\\"quoted\\\\nnewline\"" "$log"
expect_match "a call refused by the closed gate is logged too" \
  "test_cleanup: cleanup failed session=\"$marker-gate\" sqlstate=42501 error=test_cleanup is disabled" "$log"

dropdb "$copy"
dropdb "$db"
finish
