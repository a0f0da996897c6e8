-- Tables with ON DELETE rules: an archiving DO ALSO rule fires as it would for a native
-- DELETE, and counts stay right. A rule that keeps the rows (DO INSTEAD NOTHING) makes
-- the cleanup fail loudly, with nothing deleted.
\i test/regress_prelude.sql
CREATE TABLE rl_docs (id bigint PRIMARY KEY, meta jsonb);
CREATE TABLE rl_pages (id bigint PRIMARY KEY, doc_id bigint NOT NULL REFERENCES rl_docs ON DELETE CASCADE);
CREATE TABLE rl_archive (tbl text, id bigint);
CREATE RULE rl_docs_archive AS ON DELETE TO rl_docs DO ALSO INSERT INTO rl_archive VALUES ('docs', OLD.id);
CREATE RULE rl_pages_archive AS ON DELETE TO rl_pages DO ALSO INSERT INTO rl_archive VALUES ('pages', OLD.id);
CREATE FUNCTION rl_load() RETURNS void LANGUAGE sql AS $$
    TRUNCATE rl_docs, rl_pages, rl_archive;
    INSERT INTO rl_docs VALUES (1, NULL), (10, '{"test_marker": "integration_test_data", "test_session_id": "rl_s1"}'),
                               (11, '{"test_marker": "integration_test_data", "test_session_id": "rl_s1"}');
    INSERT INTO rl_pages VALUES (1, 1), (2, 10), (3, 10), (4, 11);
$$;
SELECT test_cleanup.add_root('rl_docs', 'meta') > 0 AS registered;

SELECT rl_load();
BEGIN;
DELETE FROM rl_docs WHERE meta ->> 'test_session_id' = 'rl_s1';
SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM rl_docs) || ' ' ||
       (SELECT string_agg(id::text, ',' ORDER BY id) FROM rl_pages) || ' ' ||
       (SELECT string_agg(tbl || id, ',' ORDER BY tbl, id) FROM rl_archive) AS native \gset
ROLLBACK;
SELECT rl_load();
SELECT jsonb_object_agg(key, value) FILTER (WHERE key LIKE 'rl\_%') AS deleted
  FROM jsonb_each(test_cleanup('rl_s1') -> 'deleted_counts');
SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM rl_docs) || ' ' ||
       (SELECT string_agg(id::text, ',' ORDER BY id) FROM rl_pages) || ' ' ||
       (SELECT string_agg(tbl || id, ',' ORDER BY tbl, id) FROM rl_archive) = :'native' AS same_as_native;
SELECT * FROM rl_archive ORDER BY tbl, id;

-- DO INSTEAD NOTHING: a native DELETE keeps the rows; the cleanup cannot do its job and
-- says so, naming the table and the keys. Nothing was deleted, pages included.
CREATE RULE rl_docs_keep AS ON DELETE TO rl_docs DO INSTEAD NOTHING;
SELECT rl_load();
SELECT test_cleanup('rl_s1');
SELECT count(*) AS docs, (SELECT count(*) FROM rl_pages) AS pages FROM rl_docs;

SELECT test_cleanup.remove_rules('rl_docs');
DROP TABLE rl_pages, rl_docs, rl_archive;
DROP FUNCTION rl_load;
