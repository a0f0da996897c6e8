-- Running a shared test database: dry runs, protected tables, verify, and the reaper.
\i test/regress_prelude.sql

--------------------------------------------------------------------------------------------
-- Dry run: the same plan and result, plus "dry_run": true, and nothing changes.
--------------------------------------------------------------------------------------------
SELECT reference_data_load();
SELECT test_cleanup.heartbeat('test_session_1640995200_abc12345') IS NOT NULL AS beating;
CREATE TEMP TABLE before_rows AS SELECT * FROM reference_rows;
SELECT count(*) AS audit_rows FROM test_cleanup.audit_log \gset
SELECT test_cleanup('test_session_1640995200_abc12345', dry_run => true) AS dry \gset
SELECT jsonb_pretty(:'dry'::jsonb);
-- Nothing changed: every row, the audit log, the heartbeat.
SELECT count(*) AS changed_rows FROM (
    (SELECT * FROM before_rows EXCEPT ALL SELECT * FROM reference_rows)
    UNION ALL (SELECT * FROM reference_rows EXCEPT ALL SELECT * FROM before_rows)) d;
SELECT count(*) - :audit_rows AS new_audit_rows FROM test_cleanup.audit_log;
SELECT count(*) AS heartbeats FROM test_cleanup.heartbeat
 WHERE test_session_id = 'test_session_1640995200_abc12345';
-- The real cleanup deletes exactly what the dry run counted.
SELECT test_cleanup('test_session_1640995200_abc12345') AS real \gset
SELECT (:'dry'::jsonb - 'dry_run' - 'warnings') = :'real'::jsonb AS same_counts,
       :'real'::jsonb ? 'dry_run' AS real_says_dry_run;
SELECT count(*) - :audit_rows AS new_audit_rows FROM test_cleanup.audit_log;

-- Clean-all dry run, and a dry run inside a transaction that goes on afterwards.
SELECT reference_data_load();
BEGIN;
SELECT test_cleanup(NULL, true) -> 'deleted_counts' -> 'users' AS users_counted;
SELECT count(*) AS users_left FROM users;
SELECT test_cleanup() -> 'deleted_counts' -> 'users' AS users_deleted;
SELECT count(*) AS users_left FROM users;
ROLLBACK;

-- A dry run that fails (a trigger refuses a delete) raises the error like the real run,
-- and leaves the caller's transaction and subtransactions as they were: a PL/pgSQL block
-- that catches it goes on.
CREATE FUNCTION sd_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payments are kept for the auditors';
END $$;
CREATE TRIGGER keep_payments BEFORE DELETE ON payments FOR EACH ROW EXECUTE FUNCTION sd_refuse_delete();
DO $$
BEGIN
    PERFORM test_cleanup('test_session_1640995200_abc12345', true);
EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END $$;
BEGIN;
SAVEPOINT s;
SELECT test_cleanup('test_session_1640995200_abc12345', true);
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS users_after_failed_dry_run FROM users;
COMMIT;
DROP TRIGGER keep_payments ON payments;
DROP FUNCTION sd_refuse_delete();

-- The gate is checked for a dry run too: it runs the same deletes, then rolls them back.
SET test_cleanup.enabled = off;
SELECT test_cleanup(NULL, true);
RESET test_cleanup.enabled;

--------------------------------------------------------------------------------------------
-- Protected tables: a cleanup may delete only their marked rows.
--------------------------------------------------------------------------------------------
SELECT reference_data_load();
-- Session A's cleanup takes user_balances 101 (restrict: owned by test user 101, not marked
-- itself) and production invoice 2 (linked to test searchable 101).
SELECT test_cleanup.protect('user_balances') AS newly, test_cleanup.protect('invoices') AS newly,
       test_cleanup.protect('invoices') AS again;
SELECT tbl, protected_at <= now() AS dated FROM test_cleanup.protected ORDER BY tbl::text;

SELECT test_cleanup('test_session_1640995200_abc12345');

SELECT count(*) AS users_left FROM users;
-- A dry run reports the same as warnings, and counts what would go.
SELECT jsonb_pretty(test_cleanup('test_session_1640995200_abc12345', true) -> 'warnings');
-- Marked rows of a protected table may go: users are protected, only test users go.
SELECT test_cleanup.unprotect('user_balances') AS was, test_cleanup.unprotect('invoices') AS was,
       test_cleanup.unprotect('invoices') AS again;
SELECT test_cleanup.protect('users');
SELECT test_cleanup('test_session_1640995200_abc12345') -> 'deleted_counts' -> 'users' AS users;
SELECT test_cleanup.unprotect('users');
-- Only tables can be protected, and a partitioned table as a whole.
SELECT test_cleanup.protect('reference_rows');
SELECT test_cleanup.protect(NULL);
SELECT reference_data_load();
CREATE TABLE sd_events (id int, user_id bigint, PRIMARY KEY (id, user_id)) PARTITION BY RANGE (id);
CREATE TABLE sd_events_0 PARTITION OF sd_events FOR VALUES FROM (0) TO (10);
CREATE TABLE sd_events_1 PARTITION OF sd_events FOR VALUES FROM (10) TO (100);
SELECT test_cleanup.protect('sd_events_1');
-- A partition that a foreign key names is a plan table of its own: protecting its
-- partitioned table protects it too.
ALTER TABLE sd_events_1 ADD CONSTRAINT sd_events_1_user FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE;
INSERT INTO sd_events VALUES (11, 101), (12, 102), (3, 1);
SELECT test_cleanup.protect('sd_events');
SELECT test_cleanup('test_session_1640995200_abc12345');
SELECT count(*) AS events_left FROM sd_events;
SELECT test_cleanup.unprotect('sd_events');
-- A protected table attached later as a partition of an unprotected one stays protected:
-- the cleanup deletes through the partitioned table, and refuses.
ALTER TABLE sd_events DETACH PARTITION sd_events_1;
ALTER TABLE sd_events_1 DROP CONSTRAINT sd_events_1_user;
SELECT test_cleanup.protect('sd_events_1');
ALTER TABLE sd_events ATTACH PARTITION sd_events_1 FOR VALUES FROM (10) TO (100);
ALTER TABLE sd_events ADD CONSTRAINT sd_events_user FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE;
SELECT test_cleanup('test_session_1640995200_abc12345');
SELECT count(*) AS events_left FROM sd_events;
SELECT test_cleanup.unprotect('sd_events_1');
-- An inheritance child of a protected table is protected with it.
CREATE TABLE sd_notes (id int PRIMARY KEY, user_id bigint REFERENCES users ON DELETE CASCADE);
CREATE TABLE sd_notes_old (PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE) INHERITS (sd_notes);
INSERT INTO sd_notes_old VALUES (1, 101);
SELECT test_cleanup.protect('sd_notes');
SELECT test_cleanup('test_session_1640995200_abc12345');
SELECT test_cleanup.unprotect('sd_notes');
DROP TABLE sd_events, sd_notes_old, sd_notes;
-- The refusal has its own SQLSTATE, for clients (the HTTP shim answers 409).
SELECT reference_data_load();
SELECT test_cleanup.protect('invoices');
DO $$
BEGIN
    PERFORM test_cleanup('test_session_1640995200_abc12345');
EXCEPTION WHEN SQLSTATE 'TCP01' THEN
    RAISE NOTICE 'refused (%): %', SQLSTATE, SQLERRM;
END $$;
SELECT test_cleanup.unprotect('invoices');

--------------------------------------------------------------------------------------------
-- verify(): nothing left, nothing dangling; after both modes of cleanup.
--------------------------------------------------------------------------------------------
SELECT reference_data_load();
SELECT * FROM test_cleanup.verify('test_session_1640995200_abc12345');
SELECT test_cleanup('test_session_1640995200_abc12345') IS NOT NULL AS cleaned;
SELECT * FROM test_cleanup.verify('test_session_1640995200_abc12345');
SELECT * FROM test_cleanup.verify();
SET test_cleanup.skip_fk_checks = on;
SELECT test_cleanup() IS NOT NULL AS cleaned_skip_fk_checks;
RESET test_cleanup.skip_fk_checks;
SELECT * FROM test_cleanup.verify();
-- Deliberately broken: a link to a row that does not exist, a foreign key that no trigger
-- checked, a listed key whose row is gone.
INSERT INTO media_uploads VALUES (900, 9999, '/m/dangling');
SET session_replication_role = replica;
INSERT INTO user_profiles VALUES (900, 9999, 'orphan');
RESET session_replication_role;
UPDATE searchables SET payloads = jsonb_set(payloads, '{public,downloadableFiles}',
                                            '[{"fileId": "f-gone"}, {"fileId": "f-shared-prod"}]')
 WHERE id = 1;
SELECT * FROM test_cleanup.verify() ORDER BY table_name, problem;
SELECT test_cleanup.verify('');
DELETE FROM media_uploads WHERE id = 900;
DELETE FROM user_profiles WHERE id = 900;
SELECT * FROM test_cleanup.verify() ORDER BY table_name, problem;

--------------------------------------------------------------------------------------------
-- reap(): sessions whose last sign of life is older than older_than.
--------------------------------------------------------------------------------------------
SELECT test_cleanup() IS NOT NULL AS nothing_of_the_reference_sessions_left;
CREATE TABLE rp_items (id int PRIMARY KEY, meta jsonb);
CREATE TABLE rp_parts (id int PRIMARY KEY, item_id int NOT NULL REFERENCES rp_items ON DELETE CASCADE);
SELECT test_cleanup.add_root('rp_items', 'meta') > 0 AS registered;
-- Marked rows `age` before this transaction's now(), as the spec writes test_timestamp (UTC).
CREATE FUNCTION rp_meta(session text, age interval) RETURNS jsonb LANGUAGE sql STABLE
RETURN jsonb_strip_nulls(jsonb_build_object(
    'test_marker', 'integration_test_data', 'test_session_id', session,
    'test_timestamp', to_char((now() - age) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')));
BEGIN;
INSERT INTO rp_items VALUES
    (1, rp_meta('rp_old', '1 hour 0.000001 seconds')),   -- just older than 1 hour: reaped
    (2, rp_meta('rp_edge', '1 hour')),                    -- exactly 1 hour: not older, kept
    (3, rp_meta('rp_new', '1 minute')),
    (4, rp_meta('rp_old', '3 hours')),
    (5, rp_meta('rp_beating', '5 hours')),                -- old rows, but a heartbeat now
    (6, rp_meta('rp_ageless', NULL)),                     -- no timestamp, no heartbeat
    (7, '{"test_marker": "integration_test_data", "test_timestamp": "2020-01-01T00:00:00"}'),
    (8, NULL);                                            -- production
INSERT INTO rp_parts VALUES (1, 1), (4, 4), (2, 2), (8, 8);
SELECT test_cleanup.heartbeat('rp_beating') IS NOT NULL AS beat;
-- A heartbeat alone, long ago (a suite that died before writing a row).
INSERT INTO test_cleanup.heartbeat VALUES ('rp_silent', now() - interval '2 hours');
SELECT test_session_id, marked_rows, last_seen IS NULL AS no_timestamp, last_heartbeat IS NOT NULL AS heartbeat
  FROM test_cleanup.sessions() ORDER BY 1 NULLS FIRST;
SELECT test_cleanup.reap('1 hour', dry_run => true) AS dry \gset
SELECT jsonb_pretty(:'dry'::jsonb - 'reaped_sessions') AS dry_run,
       jsonb_pretty(:'dry'::jsonb -> 'reaped_sessions' -> 'rp_old' -> 'deleted_counts') AS rp_old;
SELECT array_agg(id ORDER BY id) AS items_after_dry_run FROM rp_items;
SELECT test_cleanup.reap('1 hour') AS real \gset
SELECT (:'dry'::jsonb - 'dry_run' - 'warnings') = :'real'::jsonb AS same_as_dry_run,
       jsonb_object_keys(:'real'::jsonb -> 'reaped_sessions') AS reaped;
SELECT array_agg(id ORDER BY id) AS items_left FROM rp_items;
SELECT array_agg(id ORDER BY id) AS parts_left FROM rp_parts;
SELECT test_session_id, deleted_counts FROM test_cleanup.audit_log
 WHERE test_session_id LIKE 'rp\_%' ORDER BY test_session_id;
SELECT test_session_id FROM test_cleanup.heartbeat ORDER BY 1;
COMMIT;
-- Bad input changes nothing.
SELECT test_cleanup.reap('0 seconds');
SELECT test_cleanup.reap('-1 hour');
SELECT test_cleanup.reap(NULL);
SET test_cleanup.enabled = off;
SELECT test_cleanup.reap('1 hour');
RESET test_cleanup.enabled;
-- A protected table: the dry run warns (naming the session), the real reap refuses.
INSERT INTO rp_items VALUES (20, rp_meta('rp_protect', '2 days'));
INSERT INTO rp_parts VALUES (20, 20);
SELECT test_cleanup.protect('rp_parts');
SELECT jsonb_pretty(test_cleanup.reap('1 day', true) -> 'warnings');
SELECT test_cleanup.reap('1 day');
SELECT test_cleanup.unprotect('rp_parts');
SELECT test_cleanup.reap('1 day') -> 'deleted_counts' AS reaped;
-- Not for every role: like the cleanup, they are granted.
CREATE ROLE rp_nobody;
GRANT USAGE ON SCHEMA test_cleanup TO rp_nobody;
SET ROLE rp_nobody;
SELECT test_cleanup.reap('1 hour');
SELECT * FROM test_cleanup.verify();
SELECT test_cleanup.protect('rp_items');
RESET ROLE;
REVOKE USAGE ON SCHEMA test_cleanup FROM rp_nobody;
DROP ROLE rp_nobody;
SELECT test_cleanup.remove_rules('rp_items') AS removed;
DROP TABLE rp_parts, rp_items;
DROP FUNCTION rp_meta(text, interval);
DELETE FROM test_cleanup.heartbeat;
