-- Tagging what the application writes: new_session(), metadata(), the setting
-- test_cleanup.session and test_cleanup.auto_tag().
\i test/regress_prelude.sql
SELECT reference_data_load();

-- A session id in the spec's format, new each time; its metadata in the spec's shape.
SELECT test_cleanup.new_session() ~ '^test_session_[0-9]{10}_[0-9a-f]{8}$' AS spec_format,
       test_cleanup.new_session() <> test_cleanup.new_session() AS new_each_time;
SELECT test_cleanup.metadata('s_meta') - 'test_timestamp' AS metadata,
       test_cleanup.metadata('s_meta') ->> 'test_timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$' AS spec_timestamp,
       test_cleanup.metadata('s_meta', 'user') ->> 'test_data_type' AS data_type;
SET test_cleanup.marker = 'my_marker';
SELECT test_cleanup.metadata('s_meta') ->> 'test_marker' AS follows_the_marker;
RESET test_cleanup.marker;
SELECT test_cleanup.metadata('');

-- Only tables with a root rule can be tagged.
SELECT test_cleanup.auto_tag('files');
SELECT test_cleanup.auto_tag('reference_rows');
SELECT test_cleanup.auto_tag('users'), test_cleanup.auto_tag('searchables'), test_cleanup.auto_tag('metrics');
SELECT tgrelid::regclass AS tagged FROM pg_trigger WHERE tgname = 'test_cleanup_auto_tag' ORDER BY 1;

-- Without the setting nothing changes.
INSERT INTO users VALUES (500, 'app@example.com', NULL, NULL);
INSERT INTO searchables VALUES (500, 500, 'app item', '{"public": {"title": "x"}}');
SELECT id, test_metadata FROM users WHERE id = 500;
SELECT id, payloads FROM searchables WHERE id = 500;

-- With it, rows get the marker at the table's root rule path, merged into what the
-- application wrote; the path's objects are created where missing.
SET test_cleanup.session = 'test_session_1700000000_0a0b0c0d';
INSERT INTO users VALUES (501, 'signup@example.com', NULL, NULL);
INSERT INTO searchables VALUES
    (501, 501, 'merged', '{"public": {"title": "x", "downloadableFiles": []}, "private": 1}'),
    (502, 501, 'created', '{}'),
    (503, 501, 'already marked', '{"public": {"test_metadata": {"test_marker": "integration_test_data", "test_session_id": "other"}}}');
INSERT INTO metrics VALUES (501, 'app.metric', NULL, '{"env": "ci"}');
SELECT id, test_metadata - 'test_timestamp' AS test_metadata FROM users WHERE id = 501;
SELECT id, payloads #- '{public,test_metadata,test_timestamp}' AS payloads FROM searchables WHERE id >= 501 ORDER BY id;
SELECT id, tags - 'test_timestamp' AS tags, metadata FROM metrics WHERE id = 501;
-- A path through something that is not an object is refused: tagging it would overwrite it.
INSERT INTO searchables VALUES (504, 501, 'not an object', '{"public": "text"}');
-- The session's rows are a session like any other: listed, and cleaned.
SELECT test_session_id, marked_rows FROM test_cleanup.sessions()
 WHERE test_session_id IN ('test_session_1700000000_0a0b0c0d', 'other') ORDER BY 1;
SELECT test_cleanup('test_session_1700000000_0a0b0c0d') -> 'deleted_counts' AS deleted;
SELECT id FROM users WHERE id >= 500 ORDER BY id;
SELECT id FROM searchables WHERE id >= 500 ORDER BY id;

-- Any role may set it; the inserting role needs no privilege on schema test_cleanup.
CREATE ROLE tag_app;
GRANT INSERT, SELECT ON users TO tag_app;
SET ROLE tag_app;
SET test_cleanup.session = 'test_session_1700000001_0a0b0c0e';
INSERT INTO users VALUES (510, 'role@example.com', NULL, NULL);
RESET ROLE;
SELECT test_metadata ->> 'test_session_id' AS tagged_for FROM users WHERE id = 510;
-- Only session ids the HTTP API accepts.
SET test_cleanup.session = 'a b';
SET test_cleanup.session = '';
INSERT INTO users VALUES (511, 'unset@example.com', NULL, NULL);
SELECT test_metadata FROM users WHERE id = 511;

-- Where the gate is off, nothing is tagged (the insert goes through as written).
SET test_cleanup.session = 'test_session_1700000002_0a0b0c0f';
SET test_cleanup.enabled = off;
INSERT INTO users VALUES (512, 'gate@example.com', NULL, NULL);
RESET test_cleanup.enabled;
SELECT test_metadata FROM users WHERE id = 512;

-- auto_tag(tbl, false) stops it.
SELECT test_cleanup.auto_tag('users', false);
INSERT INTO users VALUES (513, 'off@example.com', NULL, NULL);
SELECT test_metadata FROM users WHERE id = 513;
RESET test_cleanup.session;
SELECT test_cleanup.auto_tag('searchables', false), test_cleanup.auto_tag('metrics', false);
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname = 'test_cleanup_auto_tag';
SELECT test_cleanup() IS NOT NULL AS cleaned;
DELETE FROM users WHERE id >= 500;
REVOKE ALL ON users FROM tag_app;
DROP ROLE tag_app;
