-- Partitioned tables as roots, as owners and as dependents, with foreign keys declared on
-- the partitioned parent, on one partition only, and pointing at a partitioned table;
-- inheritance children of a root (sql/collations.sql has keys of other collations). Each
-- cleanup is compared with PostgreSQL's own delete and cascade on the same data (run first
-- and rolled back).
\i test/regress_prelude.sql
CREATE TABLE pt_accounts (id bigint PRIMARY KEY, meta jsonb);
CREATE TABLE pt_events (
    id         bigint,
    kind       text,
    account_id bigint NOT NULL REFERENCES pt_accounts ON DELETE CASCADE,
    reviewer   bigint,
    meta       jsonb,
    PRIMARY KEY (id, kind)
) PARTITION BY LIST (kind);
CREATE TABLE pt_events_a PARTITION OF pt_events FOR VALUES IN ('a');
CREATE TABLE pt_events_b PARTITION OF pt_events FOR VALUES IN ('b');
-- Declared on one partition only: the partition is a table of the graph in its own right.
ALTER TABLE pt_events_b ADD FOREIGN KEY (reviewer) REFERENCES pt_accounts ON DELETE CASCADE;
-- Pointing at the partitioned table.
CREATE TABLE pt_event_tags (
    id       bigint PRIMARY KEY,
    event_id bigint NOT NULL,
    kind     text NOT NULL,
    FOREIGN KEY (event_id, kind) REFERENCES pt_events ON DELETE CASCADE
);
-- A partitioned root without any key: its rows are named by (tableoid, ctid).
CREATE TABLE pt_logs (at int, meta jsonb) PARTITION BY RANGE (at);
CREATE TABLE pt_logs_1 PARTITION OF pt_logs FOR VALUES FROM (0) TO (100);
CREATE TABLE pt_logs_2 PARTITION OF pt_logs FOR VALUES FROM (100) TO (200);

CREATE FUNCTION pt_load() RETURNS void LANGUAGE sql AS $$
    TRUNCATE pt_accounts, pt_events, pt_event_tags, pt_logs;
    INSERT INTO pt_accounts VALUES (1, NULL), (2, NULL),
        (10, '{"test_marker": "integration_test_data", "test_session_id": "pt_s1"}'),
        (20, '{"test_marker": "integration_test_data", "test_session_id": "pt_s2"}');
    INSERT INTO pt_events VALUES
        (1, 'a', 1, NULL, NULL), (2, 'b', 1, 2, NULL),
        (3, 'b', 1, 10, NULL),                       -- reviewed by a test account
        (4, 'a', 10, NULL, NULL), (4, 'b', 10, NULL, NULL),
        (5, 'a', 2, NULL, '{"test_marker": "integration_test_data", "test_session_id": "pt_s1"}'),
        (6, 'b', 20, 1, NULL);
    INSERT INTO pt_event_tags VALUES (1, 1, 'a'), (2, 3, 'b'), (3, 4, 'a'), (4, 4, 'b'), (5, 5, 'a'), (6, 6, 'b');
    INSERT INTO pt_logs VALUES (1, NULL), (150, NULL),
        (2, '{"test_marker": "integration_test_data", "test_session_id": "pt_s1"}'),
        (151, '{"test_marker": "integration_test_data", "test_session_id": "pt_s1"}'),
        (152, '{"test_marker": "integration_test_data", "test_session_id": "pt_s2"}');
$$;
CREATE VIEW pt_state AS
    SELECT 'accounts' AS t, to_jsonb(x) AS r FROM pt_accounts x
    UNION ALL SELECT 'events', to_jsonb(x) || jsonb_build_object('in', x.tableoid::regclass) FROM pt_events x
    UNION ALL SELECT 'tags', to_jsonb(x) FROM pt_event_tags x
    UNION ALL SELECT 'logs', to_jsonb(x) || jsonb_build_object('in', x.tableoid::regclass) FROM pt_logs x;
SELECT test_cleanup.add_root('pt_accounts', 'meta') > 0 AS registered;
SELECT test_cleanup.add_root('pt_events', 'meta') > 0 AS registered;
SELECT test_cleanup.add_root('pt_logs', 'meta') > 0 AS registered;

SELECT pt_load();
BEGIN;
DELETE FROM pt_events WHERE meta ->> 'test_session_id' = 'pt_s1';
DELETE FROM pt_logs WHERE meta ->> 'test_session_id' = 'pt_s1';
DELETE FROM pt_accounts WHERE meta ->> 'test_session_id' = 'pt_s1';
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) AS native FROM pt_state \gset
ROLLBACK;
SELECT pt_load();
-- Counted under the partitioned parents: no key per partition.
SELECT jsonb_object_agg(key, value) FILTER (WHERE key LIKE 'pt\_%') AS deleted
  FROM jsonb_each(test_cleanup('pt_s1') -> 'deleted_counts');
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) = :'native' AS same_as_native FROM pt_state;
SELECT t, r FROM pt_state ORDER BY t, r::text;

-- Everything, in both modes.
SELECT pt_load();
BEGIN;
DELETE FROM pt_events WHERE meta ->> 'test_marker' = 'integration_test_data';
DELETE FROM pt_logs WHERE meta ->> 'test_marker' = 'integration_test_data';
DELETE FROM pt_accounts WHERE meta ->> 'test_marker' = 'integration_test_data';
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) AS native FROM pt_state \gset
ROLLBACK;
SELECT pt_load();
SELECT test_cleanup() -> 'deleted_counts' -> 'pt_events' AS events;
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) = :'native' AS same_as_native FROM pt_state;
SELECT pt_load();
SET test_cleanup.skip_fk_checks = on;
SELECT test_cleanup() -> 'deleted_counts' -> 'pt_events' AS events;
RESET test_cleanup.skip_fk_checks;
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) = :'native' AS same_as_native FROM pt_state;

-- A partition that a rule or key names is its own table of the plan; its rows are the
-- parent's too, matched by the parent's key.
SELECT stage, tables FROM test_cleanup.explain('pt_s1') WHERE tables LIKE '%pt\_events%' ORDER BY step;

SELECT test_cleanup.remove_rules(t) FROM unnest('{pt_accounts,pt_events,pt_logs}'::regclass[]) t;
DROP VIEW pt_state;
DROP TABLE pt_event_tags, pt_events, pt_logs, pt_accounts;
DROP FUNCTION pt_load;

-- Inheritance: marked rows of a child table go as a DELETE FROM the parent would take
-- them, with the child's own dependents; they are counted under the parent.
CREATE TABLE ih_items (id bigint PRIMARY KEY, meta jsonb);
CREATE TABLE ih_special_items (extra text) INHERITS (ih_items);
ALTER TABLE ih_special_items ADD PRIMARY KEY (id);
CREATE TABLE ih_notes (id bigint PRIMARY KEY, item_id bigint REFERENCES ih_special_items ON DELETE CASCADE);
CREATE TABLE ih_item_refs (id bigint PRIMARY KEY, item_id bigint REFERENCES ih_items ON DELETE CASCADE);
INSERT INTO ih_items VALUES (1, NULL), (2, '{"test_marker": "integration_test_data", "test_session_id": "ih_s1"}');
-- The child repeats id 2: ids are unique per table only, as with any inheritance.
INSERT INTO ih_special_items VALUES (2, NULL, 'prod'), (3, '{"test_marker": "integration_test_data", "test_session_id": "ih_s1"}', 'test');
INSERT INTO ih_notes VALUES (1, 2), (2, 3);
INSERT INTO ih_item_refs VALUES (1, 1), (2, 2);
CREATE VIEW ih_state AS
    SELECT x.tableoid::regclass::text AS t, to_jsonb(x) - 'meta' AS r FROM ih_items x
    UNION ALL SELECT 'notes', to_jsonb(x) FROM ih_notes x
    UNION ALL SELECT 'refs', to_jsonb(x) FROM ih_item_refs x;
SELECT test_cleanup.add_root('ih_items', 'meta') > 0 AS registered;
BEGIN;
DELETE FROM ih_items WHERE meta ->> 'test_session_id' = 'ih_s1';
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) AS native FROM ih_state \gset
ROLLBACK;
SELECT jsonb_object_agg(key, value) FILTER (WHERE key LIKE 'ih\_%') AS deleted
  FROM jsonb_each(test_cleanup('ih_s1') -> 'deleted_counts');
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) = :'native' AS same_as_native FROM ih_state;
SELECT * FROM ih_state ORDER BY t, r::text;
SELECT test_cleanup.remove_rules('ih_items');
DROP VIEW ih_state;
DROP TABLE ih_notes, ih_item_refs, ih_special_items, ih_items;
