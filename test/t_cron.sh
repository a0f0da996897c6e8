#!/usr/bin/env bash
# The reaper scheduled with pg_cron (Debian's postgresql-15-cron), as README shows it: a
# cluster of its own with pg_cron preloaded, the reference schema with two sessions from
# 2024, one running now and one with a heartbeat, and a real cron job that reaps. pg_cron
# 1.4 schedules by the minute, so this waits up to about a minute and a half.
source "$(dirname "$0")/lib.sh"
[ -f "$("${PG_CONFIG:-pg_config}" --pkglibdir)/pg_cron.so" ] ||
  skip_script "no pg_cron for PostgreSQL $(pg_major) (Debian 12 packages it for 15)"

port=54345
db=tc_cron
cluster() { TC_PGPORT=$port bash "$TC_REPO/test/cluster.sh" "$@"; }
trap 'cluster stop' EXIT
TC_EXTRA_CONF="shared_preload_libraries = 'pg_cron'
cron.database_name = '$db'
cron.use_background_workers = on
max_worker_processes = 16" cluster start || {
  not_ok "a cluster with pg_cron preloaded starts"
  finish
}
eval "$(cluster env)"
cq() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

createdb "$db"
cq "CREATE EXTENSION test_cleanup; CREATE EXTENSION pg_cron; ALTER DATABASE $db SET test_cleanup.enabled = on" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$TC_REPO/test/reference_schema.sql" >/dev/null
# Sessions A and B wrote in 2024; "running" writes now; "beating" wrote in 2024 but its
# suite sent a heartbeat a minute ago.
cq "SELECT reference_data_load();
    INSERT INTO users VALUES
      (301, 'running@example.com', NULL, reference_metadata('running', 'user')
         || jsonb_build_object('test_timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'))),
      (401, 'beating@example.com', NULL, reference_metadata('beating', 'user'));
    INSERT INTO test_cleanup.heartbeat VALUES ('beating', now() - interval '1 minute')" >/dev/null

# README's line.
cq "SELECT cron.schedule('test-cleanup-reaper', '* * * * *', \$\$SELECT test_cleanup.reap('2 hours')\$\$)" >/dev/null

status=""
for _ in $(seq 1 100); do
  status=$(cq "SELECT status FROM cron.job_run_details ORDER BY runid LIMIT 1")
  [ "$status" = succeeded ] || [ "$status" = failed ] && break
  sleep 1
done
expect_eq "pg_cron ran the reaper job, and it succeeded" "succeeded" "$status"
[ "$status" = failed ] && cq "SELECT return_message FROM cron.job_run_details"
expect_eq "the job reaped the two sessions from 2024 and kept the running and beating ones" \
  "1,2,3,4,5,103,301,401" "$(cq "SELECT string_agg(id::text, ',' ORDER BY id) FROM users")"
expect_eq "one audit row per reaped session, written by the job's role" \
  "postgres:test_session_1640995200_abc12345,postgres:test_session_1640995300_def67890" \
  "$(cq "SELECT string_agg(role_name || ':' || test_session_id, ',' ORDER BY test_session_id) FROM test_cleanup.audit_log")"
expect_eq "the server log has the reaper's line" "1" \
  "$(grep -c "test_cleanup: reap: 2 session(s) older than 02:00:00 cleaned, 2 alive, 0 of unknown age" "$TC_SERVER_LOG")"
cq "SELECT cron.unschedule('test-cleanup-reaper')" >/dev/null
if grep -E 'TRAP:|terminated by signal|was terminated by exception' "$TC_SERVER_LOG"; then
  not_ok "no backend crashed while pg_cron ran the reaper"
fi
finish
