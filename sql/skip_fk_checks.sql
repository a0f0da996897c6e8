-- test_cleanup.skip_fk_checks: the same cleanup with PostgreSQL's foreign key triggers
-- off. Every table it writes is locked against writers first, and ON DELETE SET NULL is
-- applied by the cleanup.
\i test/regress_prelude.sql
SELECT reference_data_load();
SET test_cleanup.skip_fk_checks = on;
SELECT step, stage, tables FROM test_cleanup.explain('test_session_1640995200_abc12345')
 WHERE stage IN ('lock', 'skip_fk_checks', 'set null') ORDER BY step;

SELECT test_cleanup('test_session_1640995200_abc12345') -> 'deleted_counts' AS deleted;
SELECT * FROM reference_summary;
-- SET NULL happened, as PostgreSQL would have done it.
SELECT id, referred_by FROM users WHERE id = 103;
SELECT id, owner_id FROM searchables WHERE id = 2;
SELECT id, rater_id FROM ratings WHERE id = 1;
-- The caller's setting is back.
SHOW session_replication_role;

-- User triggers on cleaned tables do not fire in this mode (documented). Triggers that do
-- fire run with the cleanup's search_path (pg_catalog, pg_temp): they name tables in full.
CREATE TABLE deleted_log (tbl text, id bigint);
CREATE FUNCTION log_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.deleted_log VALUES (TG_TABLE_NAME, OLD.id); RETURN OLD; END $$;
CREATE TRIGGER log_delete AFTER DELETE ON metrics FOR EACH ROW EXECUTE FUNCTION log_delete();
SELECT test_cleanup() -> 'deleted_counts' -> 'metrics' AS metrics;
SELECT count(*) AS logged_with_checks_skipped FROM deleted_log;
RESET test_cleanup.skip_fk_checks;
SELECT reference_data_load();
SELECT test_cleanup() -> 'deleted_counts' -> 'metrics' AS metrics;
SELECT count(*) AS logged_normally FROM deleted_log;
DROP TABLE deleted_log;
DROP FUNCTION log_delete() CASCADE;

-- A key that sets only some of its columns to NULL is not reproduced: the mode refuses.
SELECT reference_data_load();
CREATE TABLE shared_notes (id int PRIMARY KEY, tenant int NOT NULL, user_id bigint,
    FOREIGN KEY (user_id) REFERENCES users ON DELETE SET NULL (user_id));
SET test_cleanup.skip_fk_checks = on;
SELECT test_cleanup();
RESET test_cleanup.skip_fk_checks;
DROP TABLE shared_notes;

-- Only superusers may turn it on.
CREATE ROLE regress_tc_skip_fk;
SET ROLE regress_tc_skip_fk;
SET test_cleanup.skip_fk_checks = on;
RESET ROLE;
DROP ROLE regress_tc_skip_fk;
