-- The reference schema: one session, the other, then everything; exact counts and exactly
-- which rows remain.
\i test/regress_prelude.sql
SELECT reference_data_load();

-- Session A: its users, searchable and metrics, and their dependents. A production user's
-- invoice for A's searchable goes too, and is counted as collateral. A production user
-- referred by a test user and a production searchable owned by one stay (SET NULL).
SELECT jsonb_pretty(test_cleanup('test_session_1640995200_abc12345'));
SELECT * FROM reference_summary;
SELECT id, referred_by FROM users WHERE id = 103;
SELECT id, owner_id FROM searchables WHERE id = 2;
SELECT id, rater_id FROM ratings WHERE id = 1;

-- Shared listed dependents: f-shared-prod is listed by a production searchable and
-- f-shared-ab by session B's; both survived. Cleaning A again finds nothing.
SELECT file_id FROM files ORDER BY 1;
SELECT test_cleanup('test_session_1640995200_abc12345') -> 'deleted_counts';

-- An unknown session deletes nothing and still reports every table.
SELECT r -> 'test_session_id' AS session,
       (SELECT count(*) FROM jsonb_object_keys(r -> 'deleted_counts')) AS tables,
       (SELECT sum(value::int) FROM jsonb_each_text(r -> 'deleted_counts')) AS deleted
  FROM test_cleanup('test_session_0_unknown') AS r;
SELECT count(*) FROM reference_rows;

-- Session B: now the file A and B shared goes with B.
SELECT test_cleanup('test_session_1640995300_def67890') -> 'deleted_counts';
SELECT * FROM reference_summary;

-- Everything: from a fresh load, all test data of both sessions at once.
SELECT reference_data_load();
SELECT jsonb_pretty(test_cleanup());
SELECT * FROM reference_summary;
-- A second call finds nothing left.
SELECT test_cleanup() -> 'deleted_counts';

-- Production rows are untouched, column for column.
SELECT * FROM users ORDER BY id;
SELECT id, owner_id, title FROM searchables ORDER BY id;

-- The audit trail: one row per successful cleanup of this test, newest last.
SELECT test_session_id, role_name, application_name, deleted_counts -> 'users' AS users,
       deleted_counts -> 'searchables' AS searchables, duration_ms >= 0 AS timed
  FROM test_cleanup.audit_log WHERE application_name = 'pg_regress/reference' ORDER BY audit_id;

-- The empty string is not "all sessions"; NULL is.
SELECT test_cleanup('');
SELECT test_cleanup(NULL) -> 'test_session_id' IS NULL AS no_session_in_result;

-- A link registered over a foreign key's own columns finds the same rows: the plan reads
-- them once (one match against the doomed invoices, not two). Nothing reads the doomed
-- rows of invoice_notes, so its delete finds them itself: no closure step, one delete
-- (and no verify step: no trigger or rule on it could keep a row its delete matched).
SELECT stage FROM test_cleanup.explain() WHERE tables = 'public.invoice_notes';
SELECT test_cleanup.add_link('invoice_notes', '{invoice_id}', 'invoices', '{id}') AS dup_link \gset
SELECT stage, (length(sql) - length(replace(sql, ' ANY ($', ''))) / length(' ANY ($') AS matches
  FROM test_cleanup.explain() WHERE tables = 'public.invoice_notes';
DELETE FROM test_cleanup.link WHERE link_id = :dup_link;

-- Small closure steps run without parallel workers; the caller's setting is back after,
-- inside the caller's transaction too.
SET max_parallel_workers_per_gather = 3;
BEGIN;
SELECT test_cleanup('no_such_session') -> 'deleted_counts' -> 'users' AS users;
SHOW max_parallel_workers_per_gather;
COMMIT;
SHOW max_parallel_workers_per_gather;
RESET max_parallel_workers_per_gather;
