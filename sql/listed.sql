-- Listed links: which listed rows go, matched by their text form (5 and "5" list the key
-- 5; 5.0 does not; nulls, objects and arrays list nothing), and the same answer whether
-- the surviving owners are found through the advised GIN index or by reading every list.
\i test/regress_prelude.sql
SELECT reference_unregister();
CREATE SCHEMA lst;
CREATE TABLE lst.parts (id int PRIMARY KEY, code text UNIQUE);
CREATE TABLE lst.kits (id int PRIMARY KEY, meta jsonb, doc jsonb);
SELECT test_cleanup.add_root('lst.kits', 'meta') > 0 AS root;
SELECT test_cleanup.add_listed_link('lst.parts', 'id', 'lst.kits', 'doc', '{parts}') > 0 AS by_id;
SELECT test_cleanup.add_listed_link('lst.parts', 'code', 'lst.kits', 'doc', '{items}', 'code') > 0 AS by_code;

INSERT INTO lst.parts SELECT g, 'c' || g FROM generate_series(1, 11) g;
INSERT INTO lst.parts VALUES (12, 'true');
INSERT INTO lst.kits VALUES
    -- kit 1 is test data of session s1; it lists parts 1-9 by id and 9, 10, 12 by code
    (1, '{"test_marker": "integration_test_data", "test_session_id": "s1"}',
        '{"parts": [1, "2", 3, 4, 5, 6, 7, 8], "items": [{"code": "c9"}, {"code": "c10"}, {"code": "true"}]}'),
    -- kit 2 is production: "3" keeps part 3; 4.0, {"id": 5}, [6], null and 7 under
    -- another key keep nothing; code c10 keeps part 10, the boolean true keeps part 12
    (2, NULL, '{"parts": ["3", 4.0, {"id": 5}, [6], null], "items": [{"code": "c10"}, {"id": 7}, {"code": true}]}'),
    -- kit 3 is test data of another session: part 8 stays with it
    (3, '{"test_marker": "integration_test_data", "test_session_id": "s2"}', '{"parts": [8]}');

BEGIN;
SELECT test_cleanup('s1') -> 'deleted_counts' AS deleted;
SELECT id, code FROM lst.parts ORDER BY id;
ROLLBACK;

-- The same through the GIN indexes advise_indexes() recommends.
SELECT statement FROM test_cleanup.advise_indexes() WHERE "table"::text LIKE 'lst.%' AND kind LIKE 'gin%';
SELECT replace(statement, ' CONCURRENTLY', '') FROM test_cleanup.advise_indexes()
 WHERE "table"::text LIKE 'lst.%' AND kind LIKE 'gin%' \gexec
SET enable_seqscan = off;
BEGIN;
SELECT test_cleanup('s1') -> 'deleted_counts' AS deleted;
SELECT id, code FROM lst.parts ORDER BY id;
ROLLBACK;
RESET enable_seqscan;

SELECT test_cleanup.remove_rules(t) FROM unnest('{lst.kits,lst.parts}'::regclass[]) AS t;
DROP SCHEMA lst CASCADE;
SELECT reference_register();
