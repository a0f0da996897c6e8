-- Hostile input on the SQL side: session ids, table, column and JSON key names are data,
-- passed as parameters or quoted by PostgreSQL, never spliced into SQL.
\i test/regress_prelude.sql
SELECT reference_data_load();
SELECT count(*) AS rows_before FROM reference_rows;

SELECT test_cleanup($$x'; DELETE FROM users; --$$) -> 'deleted_counts' -> 'users' AS users;
SELECT test_cleanup($$test_session_1640995200_abc12345' OR '1'='1$$) -> 'deleted_counts' -> 'users' AS users;
SELECT test_cleanup('测试_セッション_🧪') -> 'deleted_counts' -> 'users' AS users;
SELECT test_cleanup(repeat('x', 100000)) -> 'deleted_counts' -> 'users' AS users;
SELECT count(*) AS rows_after FROM reference_rows;

-- A session id with odd characters is matched exactly, like any other.
UPDATE users SET test_metadata = jsonb_set(test_metadata, '{test_session_id}', to_jsonb($$it's; "odd" -- 🧪$$::text))
 WHERE id = 201;
SELECT test_cleanup($$it's; "odd" -- 🧪$$) -> 'deleted_counts' -> 'users' AS users;
SELECT id FROM users WHERE id = 201;

-- Table, column and JSON path names with quotes, semicolons and unicode.
CREATE TABLE "evil""; DROP TABLE users; --" (
    "col'; --" jsonb,
    id int PRIMARY KEY,
    "ключ" int
);
CREATE TABLE "child ""of"" evil" (id int PRIMARY KEY, "parent'id" int REFERENCES "evil""; DROP TABLE users; --" ON DELETE CASCADE);
SELECT test_cleanup.add_root('"evil""; DROP TABLE users; --"', 'col''; --', ARRAY['a''b', '"; DROP', 'ü']) > 0 AS registered;
INSERT INTO "evil""; DROP TABLE users; --" VALUES
    (jsonb_build_object('a''b', jsonb_build_object('"; DROP', jsonb_build_object('ü', reference_metadata('hostile', 'x')))), 1, 1),
    (NULL, 2, 2);
INSERT INTO "child ""of"" evil" VALUES (1, 1), (2, 2);
SELECT key, value FROM jsonb_each(test_cleanup('hostile') -> 'deleted_counts') WHERE key LIKE '%evil%' ORDER BY key;
SELECT id FROM "evil""; DROP TABLE users; --";
SELECT id FROM "child ""of"" evil";
SELECT count(*) AS users_still_there FROM users;
SELECT test_cleanup.remove_rules('"evil""; DROP TABLE users; --"') AS removed;
DROP TABLE "child ""of"" evil", "evil""; DROP TABLE users; --";

-- A path that no row has: registration succeeds, and it marks nothing.
SELECT reference_data_load();
SELECT test_cleanup.add_root('metrics', 'tags', '{no,such,path}') > 0 AS registered;
SELECT test_cleanup() -> 'deleted_counts' -> 'metrics' AS metrics;
DELETE FROM test_cleanup.root WHERE path = '{no,such,path}';
