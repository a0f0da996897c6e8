-- Registration validates its arguments: every mistake fails here, not mid-cleanup.
\i test/regress_prelude.sql
CREATE TABLE reg_items (id int PRIMARY KEY, code text, meta jsonb, meta_json json, label text);
CREATE TABLE reg_parts (id int PRIMARY KEY, item_id int, item_code text, item_ref bigint);
CREATE VIEW reg_view AS SELECT * FROM reg_items;

-- add_root
SELECT test_cleanup.add_root('reg_missing', 'meta');
SELECT test_cleanup.add_root('reg_view', 'meta');
SELECT test_cleanup.add_root(NULL, 'meta');
SELECT test_cleanup.add_root('reg_items', 'nope');
SELECT test_cleanup.add_root('reg_items', NULL);
SELECT test_cleanup.add_root('reg_items', 'label');
SELECT test_cleanup.add_root('reg_items', 'meta_json');
SELECT test_cleanup.add_root('reg_items', 'meta', '{a,NULL}');
SELECT test_cleanup.add_root('reg_items', 'meta', NULL);
SELECT test_cleanup.add_root('reg_items', 'meta', '{{a},{b}}');
-- Registering the same rule twice returns the same id.
SELECT test_cleanup.add_root('reg_items', 'meta', '{x}') = test_cleanup.add_root('reg_items', 'meta', '{x}') AS same_id;

-- add_link
SELECT test_cleanup.add_link('reg_parts', '{}', 'reg_items', '{}');
SELECT test_cleanup.add_link('reg_parts', NULL, 'reg_items', '{id}');
SELECT test_cleanup.add_link('reg_parts', '{item_id}', 'reg_items', '{id,code}');
SELECT test_cleanup.add_link('reg_parts', '{item_ref}', 'reg_items', '{id}');
SELECT test_cleanup.add_link('reg_parts', '{item_nope}', 'reg_items', '{id}');
SELECT test_cleanup.add_link('reg_parts', '{item_id}', 'reg_items', '{id_nope}');
SELECT test_cleanup.add_link('reg_parts', '{item_id}', 'reg_view', '{id}');
SELECT test_cleanup.add_link('reg_parts', '{item_id,item_code}', 'reg_items', '{id,code}') > 0 AS registered;

-- add_listed_link
SELECT test_cleanup.add_listed_link('reg_parts', 'nope', 'reg_items', 'meta', '{parts}');
SELECT test_cleanup.add_listed_link('reg_parts', 'id', 'reg_items', 'label', '{parts}');
SELECT test_cleanup.add_listed_link('reg_parts', 'id', 'reg_items', 'meta', '{}');
SELECT test_cleanup.add_listed_link('reg_parts', 'id', 'reg_items', 'meta', NULL);
SELECT test_cleanup.add_listed_link('reg_parts', 'id', 'reg_items', 'meta', '{parts}', '');
SELECT test_cleanup.add_listed_link('reg_parts', 'id', 'reg_items', 'meta', '{parts}', 'partId') =
       test_cleanup.add_listed_link('reg_parts', 'id', 'reg_items', 'meta', '{parts}', 'partId') AS same_id;

-- set_report_key
SELECT test_cleanup.set_report_key('reg_items', '');
SELECT test_cleanup.set_report_key('reg_items', NULL);
SELECT test_cleanup.set_report_key('reg_items', 'items');
SELECT test_cleanup.set_report_key('reg_items', 'all_items');

SELECT kind, "table", rule FROM test_cleanup.rules WHERE "table" LIKE 'reg\_%' ORDER BY kind, id;

-- pg_dump carries the rules and the audit log.
SELECT unnest(extconfig)::regclass AS dumped FROM pg_extension WHERE extname = 'test_cleanup' ORDER BY 1;

-- A table dropped after registration: the cleanup says which rule is stale and how to
-- remove it, and deletes nothing.
SELECT test_cleanup.remove_rules('reg_items') AS removed;
CREATE TABLE reg_gone (id int PRIMARY KEY, meta jsonb);
SELECT test_cleanup.add_root('reg_gone', 'meta') > 0 AS registered;
SELECT 'reg_gone'::regclass::oid AS gone_oid \gset
DROP TABLE reg_gone;
-- (OIDs differ from run to run, so the message is shown with digits masked.)
CREATE FUNCTION reg_cleanup_error() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    message text; hint text;
BEGIN
    PERFORM test_cleanup();
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN regexp_replace(SQLSTATE || ': ' || message || ' HINT: ' || hint,
                          '(OID |remove_rules\(|root_id = )\d+', '\1N', 'g');
END $$;
SELECT reg_cleanup_error();
SELECT test_cleanup.remove_rules(:gone_oid) AS removed;
SELECT test_cleanup() -> 'deleted_counts' -> 'users' IS NOT NULL AS works_again;

-- A root column dropped after registration.
CREATE TABLE reg_col (id int PRIMARY KEY, meta jsonb);
SELECT test_cleanup.add_root('reg_col', 'meta') > 0 AS registered;
ALTER TABLE reg_col DROP COLUMN meta;
SELECT reg_cleanup_error();
SELECT test_cleanup.remove_rules('reg_col') AS removed;

DROP FUNCTION reg_cleanup_error();
DROP VIEW reg_view;
DROP TABLE reg_items, reg_parts, reg_col;
