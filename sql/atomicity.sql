-- All or nothing: an error anywhere in a cleanup leaves every row in place, names the stage,
-- the table and the constraint, and leaves the session usable. This is also the proof of
-- the C++/PostgreSQL boundary: SPI errors inside the C++ path arrive as ordinary errors.
\i test/regress_prelude.sql
SELECT reference_data_load();
SELECT count(*) AS rows_before FROM reference_rows;

-- A trigger on a dependent table refuses the delete.
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'withdrawal % is being paid out', OLD.id;
END $$;
CREATE TRIGGER withdrawals_busy BEFORE DELETE ON withdrawals
    FOR EACH ROW WHEN (OLD.id = 2) EXECUTE FUNCTION refuse_delete();
SELECT test_cleanup();
SELECT count(*) AS rows_after FROM reference_rows;
SELECT 1 AS still_usable;

-- The same, caught by the caller in a PL/pgSQL block (a subtransaction).
DO $$
BEGIN
    PERFORM test_cleanup();
EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END $$;
DROP TRIGGER withdrawals_busy ON withdrawals;
DROP FUNCTION refuse_delete();

-- A constraint fails: a table no rule names references users ON DELETE SET NULL from a
-- NOT NULL column. The error names the column, the table and the stage.
CREATE TABLE user_notes (id int PRIMARY KEY, user_id bigint NOT NULL REFERENCES users ON DELETE SET NULL);
INSERT INTO user_notes VALUES (1, 101);
SELECT test_cleanup();
SELECT count(*) AS rows_after FROM reference_rows;
DROP TABLE user_notes;

-- A RESTRICT foreign key from an unregistered table: its rows are dependents too, so they
-- go (and are counted) rather than blocking the cleanup.
CREATE TABLE user_badges (id int PRIMARY KEY, user_id bigint NOT NULL REFERENCES users ON DELETE RESTRICT);
INSERT INTO user_badges VALUES (1, 1), (2, 101);
SELECT test_cleanup('test_session_1640995200_abc12345') -> 'deleted_counts' -> 'user_badges' AS badges;
SELECT id FROM user_badges;
DROP TABLE user_badges;

-- Inside the caller's transaction: rolled back with it, the cleanup leaves everything.
SELECT reference_data_load();
BEGIN;
SELECT test_cleanup() -> 'deleted_counts' -> 'users' AS users;
ROLLBACK;
SELECT count(*) AS rows_after_rollback FROM reference_rows;

-- Errors raised by the C++ side (no root registered) are ordinary errors with a SQLSTATE.
SELECT reference_unregister();

SELECT test_cleanup();
\echo :LAST_ERROR_SQLSTATE
SELECT reference_register();
SELECT 1 AS still_usable;

-- A read-only transaction refuses to delete.
BEGIN READ ONLY;
SELECT test_cleanup();
ROLLBACK;
SELECT count(*) AS rows_after FROM reference_rows;
