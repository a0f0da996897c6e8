-- Which rows are roots: the marker value, the JSON shape, and the path of each rule.
\i test/regress_prelude.sql
SELECT reference_data_load();

-- Never roots: a users row whose metadata is an array, a string or JSON null; a metric
-- whose test_marker has another value; a searchable whose metadata sits at the wrong level.
SELECT test_cleanup() -> 'deleted_counts' -> 'users' AS users;
SELECT id, test_metadata FROM users WHERE id IN (3, 4, 5) ORDER BY id;
SELECT id, tags FROM metrics WHERE id = 2;
SELECT id FROM searchables WHERE id = 3;

-- Metrics marked in tags or in metadata, as the specification asks: both went.
SELECT id, name FROM metrics ORDER BY id;

-- Another marker value marks other rows: the QA user marked 'manual_qa'.
SELECT reference_data_load();
SET test_cleanup.marker = 'manual_qa';
SELECT test_cleanup() -> 'deleted_counts' -> 'users' AS users;
SELECT id FROM users WHERE id = 2;
RESET test_cleanup.marker;
SHOW test_cleanup.marker;

-- The marker cannot be empty.
SET test_cleanup.marker = '';

-- Roots with the same session id in tags and metadata of different rows, and a row marked
-- in both columns by different sessions: either rule marks it for its session.
SELECT reference_data_load();
UPDATE metrics SET tags = reference_metadata('test_session_1640995300_def67890', 'metric') WHERE id = 102;
SELECT test_cleanup('test_session_1640995300_def67890') -> 'deleted_counts' -> 'metrics' AS metrics;
SELECT id FROM metrics ORDER BY id;
