-- Cycles terminate and clean correctly: a self-referencing table with chains of any depth,
-- and two tables that reference each other. The reference rules are set aside meanwhile.
\i test/regress_prelude.sql
SELECT reference_unregister();
CREATE SCHEMA cyc;

-- A comment thread: replies reference their parent (NO ACTION). Deleting a marked comment
-- takes every reply below it, however deep; other threads stay.
CREATE TABLE cyc.comments (
    id        int PRIMARY KEY,
    parent_id int REFERENCES cyc.comments,
    meta      jsonb
);
INSERT INTO cyc.comments VALUES
    (1, NULL, reference_metadata('cyc_s1', 'comment')), (2, 1, NULL), (3, 2, NULL), (4, 3, NULL),
    (5, 4, NULL), (6, 1, NULL),
    (10, NULL, NULL), (11, 10, NULL), (12, 11, reference_metadata('cyc_s2', 'comment')), (13, 12, NULL);
SELECT test_cleanup.add_root('cyc.comments', 'meta') > 0 AS registered;

-- Accounts and wallets reference each other (CASCADE one way, NO ACTION the other).
CREATE TABLE cyc.accounts (id int PRIMARY KEY, main_wallet int, meta jsonb);
CREATE TABLE cyc.wallets (id int PRIMARY KEY, account_id int NOT NULL REFERENCES cyc.accounts ON DELETE CASCADE);
ALTER TABLE cyc.accounts ADD FOREIGN KEY (main_wallet) REFERENCES cyc.wallets;
INSERT INTO cyc.accounts VALUES (1, NULL, reference_metadata('cyc_s1', 'account')), (2, NULL, NULL), (3, NULL, NULL);
INSERT INTO cyc.wallets VALUES (1, 1), (2, 2), (3, 3);
-- Account 2 is not marked, but its main wallet belongs to the marked account 1: it cannot
-- outlive that wallet (NO ACTION), so it goes, with its own wallet. Account 3 stays.
UPDATE cyc.accounts SET main_wallet = 1 WHERE id IN (1, 2);
UPDATE cyc.accounts SET main_wallet = 3 WHERE id = 3;
SELECT test_cleanup.add_root('cyc.accounts', 'meta') > 0 AS registered;

-- The plan: each cyclic group grows in one recursive statement and is deleted in one.
SELECT step, stage, tables FROM test_cleanup.explain('cyc_s1');

SELECT test_cleanup('cyc_s1');
SELECT id, parent_id FROM cyc.comments ORDER BY id;
SELECT id, main_wallet FROM cyc.accounts ORDER BY id;
SELECT id, account_id FROM cyc.wallets ORDER BY id;

-- Session 2 marks a comment in the middle of a thread: its ancestors stay.
SELECT test_cleanup('cyc_s2') -> 'deleted_counts' AS deleted;
SELECT id FROM cyc.comments ORDER BY id;

-- A listed link on a cycle cannot be planned: whether a listed row survives would depend
-- on itself. The error comes from the C++ planner as an ordinary SQL error.
CREATE TABLE cyc.folders (id text PRIMARY KEY, parent text REFERENCES cyc.folders, meta jsonb);
SELECT test_cleanup.add_root('cyc.folders', 'meta') > 0 AS registered;
SELECT test_cleanup.add_listed_link('cyc.folders', 'id', 'cyc.folders', 'meta', '{children}') > 0 AS registered;

SELECT test_cleanup('cyc_s1');
\echo :LAST_ERROR_SQLSTATE
SELECT 1 AS still_usable;
SELECT test_cleanup.remove_rules('cyc.folders');

-- A self-reference over text keys with a collation of their own ("C"): the recursive
-- statement's values and its seeds agree on collations, and the chain goes as PostgreSQL's
-- cascade takes it.
CREATE TABLE cyc.nodes (code text COLLATE "C" PRIMARY KEY, parent text COLLATE "C" REFERENCES cyc.nodes ON DELETE CASCADE, meta jsonb);
INSERT INTO cyc.nodes VALUES ('a', NULL, '{"test_marker": "integration_test_data", "test_session_id": "cyc_s2"}'),
                             ('b', 'a', NULL), ('c', 'b', NULL), ('z', NULL, NULL);
SELECT test_cleanup.add_root('cyc.nodes', 'meta') > 0 AS registered;
SELECT test_cleanup('cyc_s2') -> 'deleted_counts' -> 'nodes' AS nodes;
SELECT code FROM cyc.nodes;

SELECT test_cleanup.remove_rules(t) FROM unnest('{cyc.comments,cyc.accounts,cyc.nodes}'::regclass[]) AS t;
DROP SCHEMA cyc CASCADE;
SELECT reference_register();
