-- The search_path of a cleanup. User triggers fire with the database's configured
-- search_path, so a trigger function that names its tables without a schema works
-- (sql/triggers.sql has more). The cleanup's own statements are schema-qualified down to
-- every operator, so a caller with a hostile search_path gets nothing of theirs executed.
\i test/regress_prelude.sql
CREATE TABLE sp_items (id bigint PRIMARY KEY, meta jsonb);
CREATE TABLE sp_parts (id bigint PRIMARY KEY, item_id bigint REFERENCES sp_items ON DELETE CASCADE);
CREATE TABLE sp_seen (search_path text);
CREATE FUNCTION sp_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sp_seen VALUES (current_setting('search_path'));  -- unqualified on purpose
    RETURN OLD;
END $$;
CREATE TRIGGER sp_note AFTER DELETE ON sp_parts FOR EACH ROW EXECUTE FUNCTION sp_note();
SELECT test_cleanup.add_root('sp_items', 'meta') > 0 AS registered;
CREATE FUNCTION sp_load() RETURNS void LANGUAGE sql AS $$
    TRUNCATE sp_items, sp_parts, sp_seen;
    INSERT INTO sp_items VALUES (1, NULL), (2, '{"test_marker": "integration_test_data", "test_session_id": "sp_s1"}');
    INSERT INTO sp_parts VALUES (1, 1), (2, 2);
$$;

-- A low-privilege role that may run cleanups, with a schema of its own full of traps:
-- an `=` for bigint that would match everything, and its own count, array_agg, unnest.
CREATE ROLE sp_caller;
GRANT EXECUTE ON FUNCTION test_cleanup(text, boolean) TO sp_caller;
CREATE SCHEMA sp_trap AUTHORIZATION sp_caller;
SET ROLE sp_caller;
CREATE FUNCTION sp_trap.eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'trap: = called'; END $$;
CREATE OPERATOR sp_trap.= (FUNCTION = sp_trap.eq, LEFTARG = bigint, RIGHTARG = bigint);
CREATE FUNCTION sp_trap.oideq(oid, oid) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'trap: = on oid called'; END $$;
CREATE OPERATOR sp_trap.= (FUNCTION = sp_trap.oideq, LEFTARG = oid, RIGHTARG = oid);
CREATE FUNCTION sp_trap.count(bigint) RETURNS bigint LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'trap: count called'; END $$;
CREATE FUNCTION sp_trap.unnest(bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'trap: unnest called'; END $$;
CREATE FUNCTION sp_trap.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'trap: jsonb_typeof called'; END $$;
RESET ROLE;

SELECT sp_load();
SET ROLE sp_caller;
SET search_path = sp_trap, pg_catalog, public;
SELECT test_cleanup('sp_s1') -> 'deleted_counts' -> 'sp_parts' AS parts;
RESET search_path;
RESET ROLE;
-- The trigger saw the database's search_path, not the caller's.
SELECT * FROM sp_seen;
SELECT id FROM sp_items ORDER BY id;

-- A database-level search_path is what triggers see. Even one that puts the trap schema
-- before pg_catalog reaches no statement of the cleanup: each names pg_catalog's own.
SELECT format('ALTER DATABASE %I SET search_path = sp_trap, pg_catalog, public, pg_temp', current_database()) \gexec
SELECT sp_load();
SELECT test_cleanup('sp_s1') -> 'deleted_counts' -> 'sp_parts' AS parts;
SELECT * FROM sp_seen;
-- The same with a transient index on sp_parts (item_id): its size, name and build queries
-- are qualified as well.
SELECT sp_load();
SET test_cleanup.transient_indexes = on;
\set VERBOSITY terse
SELECT test_cleanup('sp_s1') -> 'deleted_counts' -> 'sp_parts' AS parts;
\set VERBOSITY default
RESET test_cleanup.transient_indexes;
SELECT format('ALTER DATABASE %I RESET search_path', current_database()) \gexec

SELECT test_cleanup.remove_rules('sp_items');
DROP TABLE sp_parts, sp_items, sp_seen;
DROP FUNCTION sp_load, sp_note;
DROP SCHEMA sp_trap CASCADE;
REVOKE EXECUTE ON FUNCTION test_cleanup(text, boolean) FROM sp_caller;
DROP ROLE sp_caller;
