-- The reference schema: the user's specification made concrete, for the regression tests,
-- the end-to-end tests and the demo. It mixes real foreign keys (CASCADE, NO ACTION,
-- RESTRICT, SET NULL), links without a foreign key, and a listed link, and registers the
-- rules test_cleanup needs. Load it into a database that has the extension; then
-- SELECT reference_data_load(); (re)fills it with production rows and two test sessions.

CREATE TABLE users (
    id            bigint PRIMARY KEY,
    email         text NOT NULL,
    referred_by   bigint REFERENCES users ON DELETE SET NULL,
    test_metadata jsonb
);
CREATE TABLE user_profiles (
    id      bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    bio     text
);
CREATE TABLE user_sessions (
    id      bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users,              -- NO ACTION
    token   text NOT NULL
);
CREATE TABLE user_balances (
    user_id bigint PRIMARY KEY REFERENCES users ON DELETE RESTRICT,
    amount  numeric NOT NULL
);
CREATE TABLE searchables (
    id       bigint PRIMARY KEY,
    owner_id bigint REFERENCES users ON DELETE SET NULL,
    title    text NOT NULL,
    payloads jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE files (
    file_id text PRIMARY KEY,
    name    text NOT NULL
);
CREATE TABLE invoices (
    id            bigint PRIMARY KEY,
    searchable_id bigint NOT NULL,                          -- no foreign key: a link
    buyer_id      bigint NOT NULL REFERENCES users,         -- NO ACTION
    amount        numeric NOT NULL
);
CREATE INDEX ON invoices (searchable_id);
CREATE TABLE payments (
    id            bigint PRIMARY KEY,
    searchable_id bigint NOT NULL REFERENCES searchables ON DELETE CASCADE,
    amount        numeric NOT NULL
);
CREATE TABLE ratings (
    id            bigint PRIMARY KEY,
    searchable_id bigint NOT NULL REFERENCES searchables ON DELETE RESTRICT,
    rater_id      bigint REFERENCES users ON DELETE SET NULL,
    score         int NOT NULL
);
CREATE TABLE media_uploads (
    id            bigint PRIMARY KEY,
    searchable_id bigint NOT NULL,                          -- no foreign key: a link
    path          text NOT NULL
);
CREATE TABLE invoice_notes (
    id         bigint PRIMARY KEY,
    invoice_id bigint NOT NULL REFERENCES invoices ON DELETE CASCADE,
    note       text NOT NULL
);
CREATE TABLE payment_records (
    id         bigint PRIMARY KEY,
    invoice_id bigint NOT NULL,                             -- no foreign key: a link
    reference  text NOT NULL
);
CREATE TABLE withdrawals (
    id         bigint PRIMARY KEY,
    invoice_id bigint NOT NULL REFERENCES invoices,         -- NO ACTION
    amount     numeric NOT NULL
);
CREATE TABLE metrics (
    id       bigint PRIMARY KEY,
    name     text NOT NULL,
    tags     jsonb,
    metadata jsonb
);

-- The rules: where the test metadata sits, and the dependencies foreign keys don't state.
-- Tests of other schemas unregister them first and register them again when done.
CREATE FUNCTION reference_register() RETURNS void LANGUAGE sql AS $$
    SELECT test_cleanup.add_root('users', 'test_metadata');
    SELECT test_cleanup.add_root('searchables', 'payloads', '{public,test_metadata}');
    SELECT test_cleanup.add_root('metrics', 'tags');
    SELECT test_cleanup.add_root('metrics', 'metadata');
    SELECT test_cleanup.add_link('invoices', '{searchable_id}', 'searchables', '{id}');
    SELECT test_cleanup.add_link('media_uploads', '{searchable_id}', 'searchables', '{id}');
    SELECT test_cleanup.add_link('payment_records', '{invoice_id}', 'invoices', '{id}');
    SELECT test_cleanup.add_listed_link('files', 'file_id', 'searchables', 'payloads',
                                        '{public,downloadableFiles}', 'fileId');
$$;
CREATE FUNCTION reference_unregister() RETURNS void LANGUAGE sql AS $$
    SELECT test_cleanup.remove_rules(t)
      FROM unnest('{users,searchables,metrics,invoices,media_uploads,payment_records,files}'::regclass[]) AS t;
$$;
SELECT reference_register();

-- Test metadata exactly as the specification's "Test Metadata Structure".
CREATE FUNCTION reference_metadata(session text, data_type text, marker text DEFAULT 'integration_test_data')
RETURNS jsonb LANGUAGE sql IMMUTABLE
RETURN jsonb_build_object('test_session_id', session,
                          'test_timestamp', '2024-01-01T12:00:00.000000',
                          'test_marker', marker,
                          'created_by_test', true,
                          'test_data_type', data_type);

-- Production rows (ids below 100) and two test sessions: A (ids 1xx) and B (ids 2xx).
CREATE FUNCTION reference_data_load() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    a constant text := 'test_session_1640995200_abc12345';
    b constant text := 'test_session_1640995300_def67890';
BEGIN
    TRUNCATE users, user_profiles, user_sessions, user_balances, searchables, files, invoices,
             payments, ratings, media_uploads, invoice_notes, payment_records, withdrawals,
             metrics;

    INSERT INTO users VALUES
        (1, 'alice@example.com', NULL, NULL),
        (2, 'qa@example.com', NULL, reference_metadata('manual', 'user', 'manual_qa')),  -- another marker
        (3, 'array@example.com', NULL, '["integration_test_data"]'),                     -- not an object
        (4, 'string@example.com', NULL, '"integration_test_data"'),
        (5, 'null@example.com', NULL, 'null'),
        (101, 'test-a1@example.com', NULL, reference_metadata(a, 'user')),
        (102, 'test-a2@example.com', 101, reference_metadata(a, 'user')),
        (103, 'bob@example.com', 101, NULL),                   -- production, referred by a test user
        (201, 'test-b1@example.com', NULL, reference_metadata(b, 'user'));
    INSERT INTO user_profiles VALUES (1, 1, 'alice'), (101, 101, 'a1'), (102, 102, 'a2'), (201, 201, 'b1');
    INSERT INTO user_sessions VALUES (1, 1, 'tok-alice'), (101, 101, 'tok-a1'), (201, 201, 'tok-b1');
    INSERT INTO user_balances VALUES (1, 10), (101, 20), (201, 30);

    INSERT INTO searchables VALUES
        (1, 1, 'alice''s shop', jsonb_build_object('public', jsonb_build_object(
            'downloadableFiles', jsonb_build_array(jsonb_build_object('fileId', 'f-shared-prod'))))),
        (2, 101, 'production item owned by a test user', '{"public": {}}'),
        (101, 101, 'test item A', jsonb_build_object('public', jsonb_build_object(
            'test_metadata', reference_metadata(a, 'searchable'),
            'downloadableFiles', jsonb_build_array(jsonb_build_object('fileId', 'f-a-only'),
                                                   jsonb_build_object('fileId', 'f-shared-prod'),
                                                   jsonb_build_object('fileId', 'f-shared-ab'))))),
        (201, 201, 'test item B', jsonb_build_object('public', jsonb_build_object(
            'test_metadata', reference_metadata(b, 'searchable'),
            'downloadableFiles', jsonb_build_array(jsonb_build_object('fileId', 'f-shared-ab'))))),
        (3, 1, 'marker at the wrong level', jsonb_build_object('test_metadata', reference_metadata(a, 'searchable')));
    INSERT INTO files VALUES ('f-a-only', 'a.pdf'), ('f-shared-prod', 'shared.pdf'),
                             ('f-shared-ab', 'ab.pdf'), ('f-unlisted', 'unlisted.pdf');

    INSERT INTO invoices VALUES
        (1, 1, 1, 5),        -- production
        (2, 101, 1, 6),      -- a production user's invoice for test searchable A: collateral
        (3, 1, 101, 7),      -- test user A1's invoice for a production searchable
        (4, 201, 201, 8);    -- session B
    INSERT INTO payments VALUES (1, 1, 5), (101, 101, 6), (201, 201, 8);
    INSERT INTO ratings VALUES (1, 1, 101, 5), (101, 101, 1, 4), (201, 201, 201, 3);
    INSERT INTO media_uploads VALUES (1, 1, '/m/1'), (101, 101, '/m/101'), (201, 201, '/m/201');
    INSERT INTO invoice_notes VALUES (1, 1, 'prod'), (2, 2, 'collateral'), (3, 3, 'a1'), (4, 4, 'b');
    INSERT INTO payment_records VALUES (1, 1, 'r1'), (2, 2, 'r2'), (3, 3, 'r3'), (4, 4, 'r4');
    INSERT INTO withdrawals VALUES (1, 1, 1), (2, 3, 2), (3, 4, 3);

    INSERT INTO metrics VALUES
        (1, 'prod.requests', '{"env": "prod"}', NULL),
        (2, 'prod.other-marker', '{"test_marker": "something_else"}', NULL),
        (101, 'a.tags', reference_metadata(a, 'metric'), NULL),
        (102, 'a.metadata', NULL, reference_metadata(a, 'metric')),
        (201, 'b.metadata', '{"env": "ci"}', reference_metadata(b, 'metric'));
END $$;

-- Every row's table and id, to compare what a cleanup left behind.
CREATE VIEW reference_rows AS
    SELECT 'users' AS tbl, id::text AS id FROM users
    UNION ALL SELECT 'user_profiles', id::text FROM user_profiles
    UNION ALL SELECT 'user_sessions', id::text FROM user_sessions
    UNION ALL SELECT 'user_balances', user_id::text FROM user_balances
    UNION ALL SELECT 'searchables', id::text FROM searchables
    UNION ALL SELECT 'files', file_id FROM files
    UNION ALL SELECT 'invoices', id::text FROM invoices
    UNION ALL SELECT 'payments', id::text FROM payments
    UNION ALL SELECT 'ratings', id::text FROM ratings
    UNION ALL SELECT 'media_uploads', id::text FROM media_uploads
    UNION ALL SELECT 'invoice_notes', id::text FROM invoice_notes
    UNION ALL SELECT 'payment_records', id::text FROM payment_records
    UNION ALL SELECT 'withdrawals', id::text FROM withdrawals
    UNION ALL SELECT 'metrics', id::text FROM metrics;

-- One line per table: its row count and ids, for readable expected outputs.
CREATE VIEW reference_summary AS
    SELECT tbl, count(*) AS n, string_agg(id, ',' ORDER BY id) AS ids
      FROM reference_rows GROUP BY tbl ORDER BY tbl;
