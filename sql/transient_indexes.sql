-- test_cleanup.transient_indexes: where no index answers a foreign key's referencing
-- columns, PostgreSQL reads the whole referencing table once per deleted owner row. The
-- cleanup builds such an index for its own transaction where it pays, and drops it before
-- it returns. Notices name the tables; their build times (DETAIL) are left out here.
\i test/regress_prelude.sql
\set VERBOSITY terse
CREATE SCHEMA ti;
CREATE TABLE ti.users (id int PRIMARY KEY, meta jsonb);
CREATE TABLE ti.orders (id int PRIMARY KEY, user_id int REFERENCES ti.users);
CREATE TABLE ti.notes (id int PRIMARY KEY, order_id int REFERENCES ti.orders ON DELETE CASCADE);
CREATE TABLE ti.follows (id int PRIMARY KEY, user_id int REFERENCES ti.users ON DELETE SET NULL);
CREATE TABLE ti.indexed (id int PRIMARY KEY, user_id int REFERENCES ti.users ON DELETE CASCADE);
CREATE INDEX indexed_user_id ON ti.indexed (user_id);
-- Partitioned: the index goes on the parent.
CREATE TABLE ti.events (id int PRIMARY KEY, user_id int REFERENCES ti.users ON DELETE CASCADE)
    PARTITION BY RANGE (id);
CREATE TABLE ti.events_1 PARTITION OF ti.events FOR VALUES FROM (0) TO (100000);
CREATE TABLE ti.events_2 PARTITION OF ti.events FOR VALUES FROM (100000) TO (MAXVALUE);
-- One partition has an index of its own: an index on the parent would adopt it, and its
-- drop would take the user's index along. None is built there.
CREATE TABLE ti.visits (id int PRIMARY KEY, user_id int REFERENCES ti.users ON DELETE CASCADE)
    PARTITION BY RANGE (id);
CREATE TABLE ti.visits_1 PARTITION OF ti.visits FOR VALUES FROM (0) TO (100000);
CREATE TABLE ti.visits_2 PARTITION OF ti.visits FOR VALUES FROM (100000) TO (MAXVALUE);
CREATE INDEX visits_1_user_id ON ti.visits_1 (user_id);
SELECT test_cleanup.add_root('ti.users', 'meta') > 0 AS registered;

-- n users, the first `marked` of them test data of session ti_s1, each with two orders, a
-- note per order, a follow (of the next user), an event in each partition and a visit.
CREATE FUNCTION ti.load(n int, marked int) RETURNS void LANGUAGE sql AS $$
    TRUNCATE ti.users, ti.orders, ti.notes, ti.follows, ti.indexed, ti.events, ti.visits;
    INSERT INTO ti.users
    SELECT u, CASE WHEN u <= marked THEN '{"test_marker": "integration_test_data",
                                          "test_session_id": "ti_s1"}'::jsonb END
      FROM generate_series(1, n) u;
    INSERT INTO ti.orders SELECT o, (o + 1) / 2 FROM generate_series(1, 2 * n) o;
    INSERT INTO ti.notes SELECT o, o FROM generate_series(1, 2 * n) o;
    INSERT INTO ti.follows SELECT u, u % n + 1 FROM generate_series(1, n) u;
    INSERT INTO ti.indexed SELECT u, u FROM generate_series(1, n) u;
    INSERT INTO ti.events SELECT u, u FROM generate_series(1, n) u;
    INSERT INTO ti.events SELECT 100000 + u, u FROM generate_series(1, n) u;
    INSERT INTO ti.visits SELECT u, u FROM generate_series(1, n) u;
    ANALYZE ti.users, ti.orders, ti.notes, ti.follows, ti.indexed, ti.events, ti.visits;
$$;
CREATE VIEW ti.summary AS
SELECT (SELECT count(*) FROM ti.users) AS users, (SELECT count(*) FROM ti.orders) AS orders,
       (SELECT count(*) FROM ti.notes) AS notes, (SELECT count(*) FROM ti.follows WHERE user_id IS NULL) AS follows_nulled,
       (SELECT count(*) FROM ti.events) AS events, (SELECT count(*) FROM ti.visits) AS visits;
CREATE VIEW ti.transient AS
SELECT count(*) AS transient_indexes FROM pg_class WHERE relname LIKE 'test\_cleanup\_transient\_%';

-- The plan names each candidate, what looks it up, and whose doomed rows count.
SELECT stage, tables, sql FROM test_cleanup.explain('ti_s1')
 WHERE stage LIKE '%transient%' AND (tables LIKE 'ti.%' OR tables IS NULL) ORDER BY step;
SET test_cleanup.transient_indexes = off;
SELECT count(*) AS transient_steps FROM test_cleanup.explain('ti_s1') WHERE stage LIKE '%transient%';
SET test_cleanup.transient_indexes = on;
SELECT stage FROM test_cleanup.explain('ti_s1') WHERE stage LIKE 'transient%' LIMIT 1;
RESET test_cleanup.transient_indexes;
SHOW test_cleanup.transient_indexes;
SET test_cleanup.transient_indexes = sometimes;

-- Event triggers on DDL fire for the build and the drop (documented).
CREATE FUNCTION ti.log_create() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'event trigger: % on %', tg_tag,
        (SELECT string_agg(i.indrelid::regclass::text, ', ')
           FROM pg_event_trigger_ddl_commands() c JOIN pg_index i ON i.indexrelid = c.objid);
END $$;
CREATE FUNCTION ti.log_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'event trigger: % of % index(es)', tg_tag,
        (SELECT count(*) FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index');
END $$;
CREATE EVENT TRIGGER ti_log_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION ti.log_create();
CREATE EVENT TRIGGER ti_log_drop ON sql_drop WHEN TAG IN ('DROP INDEX')
    EXECUTE FUNCTION ti.log_drop();

-- auto, a small session on small tables: reading them costs less than building indexes.
SELECT ti.load(40, 4);
SELECT test_cleanup('ti_s1') -> 'deleted_counts' AS deleted;
SELECT transient_indexes FROM test_cleanup.audit_log ORDER BY audit_id DESC LIMIT 1;

-- auto, 300 doomed users: each table would be read 300 times; the indexes are built,
-- used, and gone before the cleanup returns (the transaction is still open).
SELECT ti.load(2000, 300);
BEGIN;
SELECT test_cleanup('ti_s1') -> 'deleted_counts' AS deleted;
SELECT * FROM ti.transient;
SELECT e ->> 'table' AS "table", e -> 'columns' AS columns, (e ->> 'build_ms')::float8 >= 0 AS timed
  FROM test_cleanup.audit_log a, jsonb_array_elements(a.transient_indexes) e
 WHERE a.audit_id = (SELECT max(audit_id) FROM test_cleanup.audit_log);
COMMIT;
SELECT * FROM ti.summary;
SELECT * FROM ti.transient;
-- The user's indexes are untouched.
SELECT indexname FROM pg_indexes WHERE schemaname = 'ti' AND indexname NOT LIKE '%pkey' ORDER BY 1;

-- off builds nothing.
SELECT ti.load(2000, 300);
SET test_cleanup.transient_indexes = off;
SELECT test_cleanup('ti_s1') -> 'deleted_counts' AS deleted;
SELECT transient_indexes FROM test_cleanup.audit_log ORDER BY audit_id DESC LIMIT 1;
SELECT * FROM ti.summary;

-- on builds wherever a doomed row is looked up, however few.
SELECT ti.load(40, 4);
SET test_cleanup.transient_indexes = on;
SELECT test_cleanup('ti_s1') -> 'deleted_counts' AS deleted;
SELECT * FROM ti.summary;

-- A rollback takes the indexes away with everything else.
SELECT ti.load(40, 4);
BEGIN;
SELECT test_cleanup('ti_s1') IS NOT NULL AS cleaned;
ROLLBACK;
SELECT * FROM ti.summary;
SELECT * FROM ti.transient;

-- So does a cleanup that fails after building them: nothing deleted, nothing left.
CREATE FUNCTION ti.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'note % is kept', OLD.id; END $$;
CREATE TRIGGER refuse BEFORE DELETE ON ti.notes FOR EACH ROW EXECUTE FUNCTION ti.refuse();
SELECT test_cleanup('ti_s1');
DROP TRIGGER refuse ON ti.notes;
SELECT * FROM ti.summary;
SELECT * FROM ti.transient;

-- Names never collide: an index of the user's that has the name a transient index would
-- take first stays, and the transient one takes the next.
DO $$ BEGIN
    EXECUTE format('CREATE INDEX test_cleanup_transient_%s_1 ON ti.indexed (id)', pg_backend_pid());
END $$;
SELECT test_cleanup('ti_s1') IS NOT NULL AS cleaned;
SELECT * FROM ti.transient;
DO $$ BEGIN EXECUTE format('DROP INDEX ti.test_cleanup_transient_%s_1', pg_backend_pid()); END $$;

-- A table with deferred checks pending from rows written earlier in the transaction
-- cannot be indexed: the cleanup goes on without that index and says so.
ALTER TABLE ti.orders ALTER CONSTRAINT orders_user_id_fkey DEFERRABLE INITIALLY DEFERRED;
SELECT ti.load(40, 4);
BEGIN;
INSERT INTO ti.orders VALUES (9999, 30);
SELECT test_cleanup('ti_s1') -> 'deleted_counts' -> 'orders' AS orders;
ROLLBACK;
ALTER TABLE ti.orders ALTER CONSTRAINT orders_user_id_fkey NOT DEFERRABLE;

DROP EVENT TRIGGER ti_log_create;
DROP EVENT TRIGGER ti_log_drop;
RESET test_cleanup.transient_indexes;
SELECT test_cleanup.remove_rules('ti.users');
DROP SCHEMA ti CASCADE;
