-- Foreign keys over text columns with a nondeterministic (case-insensitive) collation:
-- keys are compared with the key's own equality, as PostgreSQL's cascade compares them,
-- so 'ABC' depends on 'abc'. Each cleanup is compared with PostgreSQL's own delete and
-- cascade on the same data (run first and rolled back).
\i test/regress_prelude.sql
CREATE COLLATION co_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- Both columns in the case-insensitive collation.
CREATE TABLE co_codes (code text COLLATE co_ci PRIMARY KEY, meta jsonb);
CREATE TABLE co_uses (id int PRIMARY KEY, code text COLLATE co_ci REFERENCES co_codes ON DELETE CASCADE);
INSERT INTO co_codes VALUES ('abc', '{"test_marker": "integration_test_data", "test_session_id": "co_s1"}'), ('xyz', NULL);
INSERT INTO co_uses VALUES (1, 'ABC'), (2, 'abc'), (3, 'XYZ');
SELECT test_cleanup.add_root('co_codes', 'meta') > 0 AS registered;
BEGIN;
DELETE FROM co_codes WHERE meta ->> 'test_session_id' = 'co_s1';
SELECT string_agg(to_jsonb(u)::text, ' ' ORDER BY id) AS native FROM co_uses u \gset
ROLLBACK;
SELECT test_cleanup('co_s1') -> 'deleted_counts' -> 'co_uses' AS uses;
SELECT string_agg(to_jsonb(u)::text, ' ' ORDER BY id) = :'native' AS same_as_native FROM co_uses u;
SELECT * FROM co_uses ORDER BY id;
SELECT test_cleanup.remove_rules('co_codes');
DROP TABLE co_uses, co_codes;

-- The referenced column deterministic ("C"), the referencing one not. PostgreSQL 18
-- refuses such a foreign key (nondeterministic collations must then be the same on both
-- sides), so on 18 this part is skipped: expected/collations_1.out.
SELECT current_setting('server_version_num')::int < 180000 AS mixed_collation_keys \gset
\if :mixed_collation_keys
CREATE TABLE co_codes (code text COLLATE "C" PRIMARY KEY, meta jsonb);
CREATE TABLE co_uses (id int PRIMARY KEY, code text COLLATE co_ci REFERENCES co_codes ON DELETE CASCADE);
INSERT INTO co_codes VALUES ('abc', '{"test_marker": "integration_test_data", "test_session_id": "co_s1"}'), ('xyz', NULL);
INSERT INTO co_uses VALUES (1, 'abc'), (2, 'xyz');
SELECT test_cleanup.add_root('co_codes', 'meta') > 0 AS registered;
BEGIN;
DELETE FROM co_codes WHERE meta ->> 'test_session_id' = 'co_s1';
SELECT string_agg(to_jsonb(u)::text, ' ' ORDER BY id) AS native FROM co_uses u \gset
ROLLBACK;
SELECT test_cleanup('co_s1') -> 'deleted_counts' -> 'co_uses' AS uses;
SELECT string_agg(to_jsonb(u)::text, ' ' ORDER BY id) = :'native' AS same_as_native FROM co_uses u;
SELECT test_cleanup.remove_rules('co_codes');
DROP TABLE co_uses, co_codes;
\endif
DROP COLLATION co_ci;
