-- The index advisor: what a cleanup of the reference schema would use and lacks, the
-- exact statements, and proof that the planner then uses them.
\i test/regress_prelude.sql
SELECT reference_data_load();
CREATE TEMP TABLE indexes_before AS SELECT indexrelid FROM pg_index;

SELECT "table", kind, statement FROM test_cleanup.advise_indexes();
SELECT DISTINCT reason FROM test_cleanup.advise_indexes() WHERE kind <> 'btree';

-- Create them all, as advised; afterwards nothing is left to advise.
SELECT statement FROM test_cleanup.advise_indexes() \gexec
SELECT count(*) AS still_advised FROM test_cleanup.advise_indexes();

-- The partial index serves a session cleanup's seed and a clean-all's seed: the marker is
-- a constant in the cleanup's plan (SPI parameters are planned as constants).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT x.ctid FROM ONLY public.users x
 WHERE (x.test_metadata ->> 'test_marker' = 'integration_test_data'
        AND x.test_metadata ->> 'test_session_id' = 'test_session_1640995200_abc12345');
EXPLAIN (COSTS OFF) SELECT x.ctid FROM ONLY public.searchables x
 WHERE (x.payloads -> 'public' -> 'test_metadata' ->> 'test_marker' = 'integration_test_data');
-- The GIN index answers "which surviving searchables still list this file?" per key.
EXPLAIN (COSTS OFF) SELECT 1 FROM ONLY public.searchables o
 WHERE (o.payloads -> 'public' -> 'downloadableFiles')
       @> ANY (ARRAY[jsonb_build_array(jsonb_build_object('fileId', 'f-a-only'))]);
RESET enable_seqscan;

-- A listed key that is not text needs an expression index on its text form.
CREATE TABLE advise_docs (doc_id uuid PRIMARY KEY);
CREATE TABLE advise_owner (id int PRIMARY KEY, meta jsonb);
SELECT test_cleanup.add_root('advise_owner', 'meta') > 0 AS registered;
SELECT test_cleanup.add_listed_link('advise_docs', 'doc_id', 'advise_owner', 'meta', '{docs}') > 0 AS registered;
SELECT "table", kind, statement FROM test_cleanup.advise_indexes() WHERE "table"::text LIKE 'advise%';
SELECT test_cleanup.remove_rules('advise_owner') AS removed;
DROP TABLE advise_docs, advise_owner;

-- A partitioned table: CONCURRENTLY is not possible there, so the advice is a plain
-- CREATE INDEX. An invalid index (a cancelled CONCURRENTLY) is not an index, and a partial
-- index with another predicate does not serve the marker's rows.
CREATE TABLE advise_events (id int, at int, owner_id int, meta jsonb, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE advise_events_1 PARTITION OF advise_events FOR VALUES FROM (0) TO (10);
CREATE TABLE advise_owners (id int PRIMARY KEY);
ALTER TABLE advise_events ADD FOREIGN KEY (owner_id) REFERENCES advise_owners;
SELECT test_cleanup.add_root('advise_events', 'meta') > 0 AS registered;
CREATE TABLE advise_marked (id int PRIMARY KEY, meta jsonb);
CREATE TABLE advise_refs (id int PRIMARY KEY, marked_id int REFERENCES advise_marked);
SELECT test_cleanup.add_root('advise_marked', 'meta') > 0 AS registered;
CREATE INDEX advise_refs_marked ON advise_refs (marked_id);
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'advise_refs_marked'::regclass;
CREATE INDEX advise_marked_other ON advise_marked ((meta ->> 'test_session_id')) WHERE meta ->> 'test_marker' = 'another_marker';
SELECT "table", kind, statement FROM test_cleanup.advise_indexes() WHERE "table"::text LIKE 'advise%' ORDER BY 1, 3;
SELECT test_cleanup.remove_rules(t) AS removed FROM unnest('{advise_events,advise_marked}'::regclass[]) t;
DROP TABLE advise_refs, advise_marked, advise_events, advise_owners;

-- Leave the reference schema as the other tests expect it.
SELECT format('DROP INDEX %s', indexrelid::regclass) FROM pg_index
 WHERE indexrelid NOT IN (SELECT indexrelid FROM indexes_before) ORDER BY 1 \gexec
