#!/usr/bin/env bash
# Faults during a cleanup: the backend killed or cancelled mid-way, statement_timeout and
# lock_timeout firing, a row locked by another transaction. Each time the tables must hold
# exactly what they held before (or the right result, once the lock is released), and the
# database must stay usable.
source "$(dirname "$0")/lib.sh"

db=tc_faults
A=test_session_1640995200_abc12345
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fresh_reference_db "$db"
snapshot() { q "$db" "SELECT md5(string_agg(tbl || ':' || id, ',' ORDER BY tbl, id)) FROM reference_rows"; }
before=$(snapshot)

# A cleanup made slow by a trigger, so that there is time to interfere with it.
q "$db" "CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(3); RETURN OLD; END \$\$;
         CREATE TRIGGER slow_delete BEFORE DELETE ON withdrawals FOR EACH ROW WHEN (OLD.id = 2) EXECUTE FUNCTION slow_delete();" >/dev/null

# Waits until a backend runs test_cleanup() and prints its pid.
cleanup_backend() {
  for _ in $(seq 1 100); do
    pid=$(q postgres "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND state = 'active' AND query LIKE '%test_cleanup(%' AND pid <> pg_backend_pid() LIMIT 1")
    [ -n "$pid" ] && { echo "$pid"; return 0; }
    sleep 0.1
  done
  return 1
}

for fault in terminate cancel; do
  psql -X -q -A -t -d "$db" -c "SELECT test_cleanup('$A')" >"$work/$fault" 2>&1 &
  pid=$(cleanup_backend)
  sleep 0.3  # inside the slow delete by now
  q postgres "SELECT pg_${fault}_backend($pid)" >/dev/null
  wait
  expect_match "pg_${fault}_backend mid-cleanup: the cleanup fails" \
    'terminating connection|canceling statement' "$(cat "$work/$fault")"
  expect_eq "pg_${fault}_backend mid-cleanup: nothing was deleted" "$before" "$(snapshot)"
done

output=$(q "$db" "SET statement_timeout = '500ms'; SELECT test_cleanup('$A')" 2>&1)
expect_match "statement_timeout mid-cleanup: the cleanup fails" 'statement timeout' "$output"
expect_eq "statement_timeout mid-cleanup: nothing was deleted" "$before" "$(snapshot)"
q "$db" "DROP TRIGGER slow_delete ON withdrawals" >/dev/null

# A test user's row locked by another transaction.
psql -X -q -d "$db" -c "BEGIN" -c "SELECT 1 FROM users WHERE id = 101 FOR UPDATE" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null 2>&1 &
sleep 0.5
output=$(q "$db" "SET lock_timeout = '300ms'; SELECT test_cleanup('$A')" 2>&1)
expect_match "lock_timeout on a locked root row: the cleanup fails with a lock error" 'lock timeout' "$output"
expect_eq "lock_timeout on a locked root row: nothing was deleted" "$before" "$(snapshot)"
output=$(q "$db" "SELECT test_cleanup('$A') -> 'deleted_counts' -> 'users'" 2>&1)
wait
expect_eq "without a timeout the cleanup waits for the lock, then cleans" "2" "$output"

expect_eq "the database stays usable" "1" "$(q "$db" "SELECT 1")"
dropdb "$db"
finish
