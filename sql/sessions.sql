-- test_cleanup.sessions() and test_cleanup.heartbeat(): which test sessions a shared test
-- database holds, how old their rows are, and which suites are still alive.
\i test/regress_prelude.sql
SELECT reference_data_load();
SELECT test_session_id, marked_rows, first_seen, last_seen, last_heartbeat
  FROM test_cleanup.sessions();

-- test_timestamp is read as UTC whatever the server's time zone; rows without one, or
-- with one in another format, have no age (first_seen / last_seen stay NULL for them).
SET timezone = 'America/New_York';
CREATE TABLE ses_items (id int PRIMARY KEY, meta jsonb, alt jsonb);
SELECT test_cleanup.add_root('ses_items', 'meta') > 0 AS registered;
SELECT test_cleanup.add_root('ses_items', 'alt') > 0 AS registered;
INSERT INTO ses_items VALUES
    (1, '{"test_marker": "integration_test_data", "test_session_id": "ses_a", "test_timestamp": "2024-03-01T08:00:00.000000"}', NULL),
    (2, '{"test_marker": "integration_test_data", "test_session_id": "ses_a", "test_timestamp": "2024-03-02 09:30:00"}',
        -- marked twice for the same session: one row
        '{"test_marker": "integration_test_data", "test_session_id": "ses_a"}'),
    (3, '{"test_marker": "integration_test_data", "test_session_id": "ses_b", "test_timestamp": "yesterday"}', NULL),
    (4, '{"test_marker": "integration_test_data", "test_session_id": "ses_b", "test_timestamp": "2024-02-30T00:00:00"}', NULL),
    (5, '{"test_marker": "integration_test_data"}', NULL),
    (6, '{"test_marker": "other", "test_session_id": "ses_c"}', NULL),
    (7, NULL, NULL);
SELECT test_session_id, marked_rows -> 'ses_items' AS items, first_seen, last_seen
  FROM test_cleanup.sessions() WHERE marked_rows ? 'ses_items' ORDER BY 1 NULLS FIRST;
RESET timezone;

-- A heartbeat: a session with one is present even before it wrote a row; a second beat
-- moves it forward.
SELECT test_cleanup.heartbeat('ses_running') <= clock_timestamp() AS recorded;
SELECT test_session_id, marked_rows, last_heartbeat IS NOT NULL AS alive
  FROM test_cleanup.sessions() WHERE test_session_id IN ('ses_running', 'ses_a');
SELECT last_heartbeat AS first_beat FROM test_cleanup.heartbeat WHERE test_session_id = 'ses_running' \gset
SELECT test_cleanup.heartbeat('ses_running') > :'first_beat' AS moved;
SELECT test_cleanup.heartbeat('');
SELECT test_cleanup.heartbeat(NULL);
-- A heartbeat writes: where the gate is closed it is refused like a cleanup.
SET test_cleanup.enabled = off;
SELECT test_cleanup.heartbeat('ses_running');
RESET test_cleanup.enabled;

-- Not for every role: like the cleanup, they are granted.
CREATE ROLE ses_nobody;
GRANT USAGE ON SCHEMA test_cleanup TO ses_nobody;
SET ROLE ses_nobody;
SELECT * FROM test_cleanup.sessions();
SELECT test_cleanup.heartbeat('ses_x');
RESET ROLE;
REVOKE USAGE ON SCHEMA test_cleanup FROM ses_nobody;
DROP ROLE ses_nobody;

-- A cleanup of a session ends its heartbeat too (cleaning everything ends all of them).
SELECT test_cleanup.heartbeat('ses_a') IS NOT NULL AS beat;
SELECT test_cleanup.heartbeat('ses_b') IS NOT NULL AS beat;
SELECT test_cleanup('ses_a') -> 'deleted_counts' -> 'ses_items' AS items;
SELECT test_session_id, marked_rows, last_heartbeat IS NOT NULL AS alive
  FROM test_cleanup.sessions() WHERE test_session_id LIKE 'ses\_%' ORDER BY 1;

DELETE FROM test_cleanup.heartbeat;
SELECT test_cleanup.remove_rules('ses_items');
DROP TABLE ses_items;
