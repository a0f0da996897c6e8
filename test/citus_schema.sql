-- The reference schema with the changes Citus needs, for test/citus_test.py: every table
-- of the users' tree carries user_id (the distribution column) in its primary key and its
-- foreign keys, so the same DDL works with every table distributed (co-located by user),
-- every table a reference table, every table a Citus local table, or a mix. Owner
-- columns Citus cannot SET NULL (a distribution key) cascade instead. `posts` adds a
-- self-referencing key (threads of replies), `plans` a SET NULL key from users, metrics a
-- second listed link into files (by name, where searchables list file ids). Loaded
-- unchanged into a plain PostgreSQL database, it is the oracle the Citus results are
-- compared with.
CREATE TABLE plans (id bigint PRIMARY KEY, name text NOT NULL, test_metadata jsonb);
CREATE TABLE users (
    id bigint PRIMARY KEY, email text NOT NULL, plan_id bigint, test_metadata jsonb);
CREATE TABLE user_profiles (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE, id bigint NOT NULL, bio text,
    PRIMARY KEY (user_id, id));
CREATE TABLE user_sessions (
    user_id bigint NOT NULL REFERENCES users, id bigint NOT NULL, token text NOT NULL,
    PRIMARY KEY (user_id, id));
CREATE TABLE user_balances (
    user_id bigint PRIMARY KEY REFERENCES users ON DELETE RESTRICT, amount numeric NOT NULL);
CREATE TABLE searchables (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE, id bigint NOT NULL,
    title text NOT NULL, payloads jsonb NOT NULL DEFAULT '{}', PRIMARY KEY (user_id, id));
CREATE TABLE files (file_id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE invoices (
    user_id bigint NOT NULL REFERENCES users, id bigint NOT NULL,
    searchable_user_id bigint NOT NULL, searchable_id bigint NOT NULL,   -- a link
    amount numeric NOT NULL, PRIMARY KEY (user_id, id));
CREATE TABLE payments (
    user_id bigint NOT NULL, id bigint NOT NULL, searchable_id bigint NOT NULL,
    amount numeric NOT NULL, PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, searchable_id) REFERENCES searchables ON DELETE CASCADE);
CREATE TABLE ratings (
    user_id bigint NOT NULL, id bigint NOT NULL, searchable_id bigint NOT NULL,
    score int NOT NULL, PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, searchable_id) REFERENCES searchables ON DELETE RESTRICT);
CREATE TABLE media_uploads (
    user_id bigint NOT NULL, id bigint NOT NULL, searchable_id bigint NOT NULL,  -- a link
    path text NOT NULL, PRIMARY KEY (user_id, id));
CREATE TABLE invoice_notes (
    user_id bigint NOT NULL, id bigint NOT NULL, invoice_id bigint NOT NULL, note text NOT NULL,
    PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, invoice_id) REFERENCES invoices ON DELETE CASCADE);
CREATE TABLE payment_records (
    user_id bigint NOT NULL, id bigint NOT NULL, invoice_id bigint NOT NULL,  -- a link
    reference text NOT NULL, PRIMARY KEY (user_id, id));
CREATE TABLE withdrawals (
    user_id bigint NOT NULL, id bigint NOT NULL, invoice_id bigint NOT NULL,
    amount numeric NOT NULL, PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, invoice_id) REFERENCES invoices);
CREATE TABLE posts (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE, id bigint NOT NULL,
    reply_to bigint, body text NOT NULL, meta jsonb, PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, reply_to) REFERENCES posts ON DELETE CASCADE);
CREATE TABLE metrics (id bigint PRIMARY KEY, name text NOT NULL, tags jsonb, metadata jsonb);

CREATE FUNCTION citus_register() RETURNS void LANGUAGE sql AS $$
    SELECT test_cleanup.add_root('users', 'test_metadata');
    SELECT test_cleanup.add_root('plans', 'test_metadata');
    SELECT test_cleanup.add_root('searchables', 'payloads', '{public,test_metadata}');
    SELECT test_cleanup.add_root('posts', 'meta');
    SELECT test_cleanup.add_root('metrics', 'tags');
    SELECT test_cleanup.add_root('metrics', 'metadata');
    SELECT test_cleanup.add_link('invoices', '{searchable_user_id,searchable_id}',
                                 'searchables', '{user_id,id}');
    SELECT test_cleanup.add_link('media_uploads', '{user_id,searchable_id}', 'searchables', '{user_id,id}');
    SELECT test_cleanup.add_link('payment_records', '{user_id,invoice_id}', 'invoices', '{user_id,id}');
    SELECT test_cleanup.add_listed_link('files', 'file_id', 'searchables', 'payloads',
                                        '{public,downloadableFiles}', 'fileId');
    -- a second listed link into files, on another column: metrics list attachments by name
    SELECT test_cleanup.add_listed_link('files', 'name', 'metrics', 'tags', '{files}');
$$;

CREATE FUNCTION citus_metadata(session text, data_type text) RETURNS jsonb LANGUAGE sql IMMUTABLE
RETURN jsonb_build_object('test_session_id', session, 'test_timestamp', '2024-01-01T12:00:00.000000',
                          'test_marker', 'integration_test_data', 'created_by_test', true,
                          'test_data_type', data_type);

-- Production rows (ids below 100), test sessions A (1xx), B (2xx), C (3xx) and D (4xx).
-- Session C and D rows mirror A's, for the concurrency test. Plain INSERTs, as an
-- application writes them.
CREATE FUNCTION citus_data_statements() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT s FROM unnest(ARRAY[
    $q$INSERT INTO plans VALUES (1, 'free', NULL), (2, 'test plan', citus_metadata('test_session_1640995200_abc12345', 'plan'))$q$,
    $q$INSERT INTO users VALUES (1, 'alice@example.com', 2, NULL), (2, 'qa@example.com', 1, '{"test_marker": "manual_qa"}'),
        (3, 'array@example.com', NULL, '["integration_test_data"]'), (103, 'bob@example.com', 1, NULL),
        (101, 'a1@example.com', 2, citus_metadata('test_session_1640995200_abc12345', 'user')),
        (102, 'a2@example.com', 1, citus_metadata('test_session_1640995200_abc12345', 'user')),
        (201, 'b1@example.com', 1, citus_metadata('test_session_1640995300_def67890', 'user')),
        (301, 'c1@example.com', 1, citus_metadata('test_session_1640995400_00000003', 'user')),
        (401, 'd1@example.com', 1, citus_metadata('test_session_1640995500_00000004', 'user'))$q$,
    $q$INSERT INTO user_profiles SELECT id, id, 'bio' FROM users$q$,
    $q$INSERT INTO user_sessions SELECT id, id, 'tok' || id FROM users WHERE id <> 3$q$,
    $q$INSERT INTO user_balances SELECT id, 10 FROM users WHERE id IN (1, 101, 201, 301, 401)$q$,
    $q$INSERT INTO searchables VALUES
        (1, 1, 'alice''s shop', '{"public": {"downloadableFiles": [{"fileId": "f-shared-prod"}]}}'),
        (101, 2, 'production item owned by test user A1', '{"public": {}}'),
        (101, 1, 'test item A', jsonb_build_object('public', jsonb_build_object(
            'test_metadata', citus_metadata('test_session_1640995200_abc12345', 'searchable'),
            'downloadableFiles', '[{"fileId": "f-a-only"}, {"fileId": "f-shared-prod"}, {"fileId": "f-shared-ab"}]'::jsonb))),
        (1, 3, 'test item A owned by production', jsonb_build_object('public', jsonb_build_object(
            'test_metadata', citus_metadata('test_session_1640995200_abc12345', 'searchable')))),
        (201, 1, 'test item B', jsonb_build_object('public', jsonb_build_object(
            'test_metadata', citus_metadata('test_session_1640995300_def67890', 'searchable'),
            'downloadableFiles', '[{"fileId": "f-shared-ab"}]'::jsonb))),
        (301, 1, 'test item C', '{"public": {"downloadableFiles": [{"fileId": "f-c"}]}}'),
        (401, 1, 'test item D', '{"public": {"downloadableFiles": [{"fileId": "f-d"}]}}')$q$,
    $q$INSERT INTO files VALUES ('f-a-only', 'a.pdf'), ('f-shared-prod', 'shared.pdf'),
        ('f-shared-ab', 'ab.pdf'), ('f-unlisted', 'unlisted.pdf'), ('f-c', 'c.pdf'), ('f-d', 'd.pdf')$q$,
    $q$INSERT INTO invoices VALUES (1, 1, 1, 1, 5), (1, 2, 1, 3, 6), (101, 3, 1, 1, 7),
        (201, 4, 201, 1, 8), (301, 5, 301, 1, 9), (401, 6, 401, 1, 9)$q$,
    $q$INSERT INTO payments VALUES (1, 1, 1, 5), (1, 2, 3, 6), (201, 3, 1, 8), (301, 4, 1, 1), (401, 5, 1, 1)$q$,
    $q$INSERT INTO ratings VALUES (1, 1, 1, 5), (101, 2, 1, 4), (201, 3, 1, 3), (301, 4, 1, 3), (401, 5, 1, 3)$q$,
    $q$INSERT INTO media_uploads VALUES (1, 1, 1, '/m/1'), (1, 2, 3, '/m/2'), (101, 3, 1, '/m/3'), (201, 4, 1, '/m/4'),
        (301, 5, 1, '/m/5'), (401, 6, 1, '/m/6')$q$,
    $q$INSERT INTO invoice_notes VALUES (1, 1, 1, 'prod'), (1, 2, 2, 'collateral'), (101, 3, 3, 'a1'), (201, 4, 4, 'b'),
        (301, 5, 5, 'c'), (401, 6, 6, 'd')$q$,
    $q$INSERT INTO payment_records VALUES (1, 1, 1, 'r1'), (1, 2, 2, 'r2'), (101, 3, 3, 'r3'), (201, 4, 4, 'r4'),
        (301, 5, 5, 'r5'), (401, 6, 6, 'r6')$q$,
    $q$INSERT INTO withdrawals VALUES (1, 1, 1, 1), (101, 2, 3, 2), (201, 3, 4, 3), (301, 4, 5, 3), (401, 5, 6, 3)$q$,
    -- threads: a test user's replies to its own posts, three levels deep
    $q$INSERT INTO posts SELECT u.id, p.id, p.reply_to, 'post', NULL FROM users u,
        (VALUES (1, NULL::bigint), (2, 1), (3, 2), (4, 3), (5, NULL)) p(id, reply_to)$q$,
    -- a production user's thread under a marked post: replies go with it, round by round
    $q$INSERT INTO posts VALUES (1, 10, NULL, 'marked', citus_metadata('test_session_1640995200_abc12345', 'post')),
        (1, 11, 10, 'reply', NULL), (1, 12, 11, 'reply', NULL), (1, 13, 12, 'reply', NULL)$q$,
    $q$INSERT INTO metrics VALUES (1, 'prod.requests', '{"env": "prod", "files": ["shared.pdf"]}', NULL),
        (2, 'prod.other', '{"test_marker": "something_else"}', NULL),
        (101, 'a.tags', citus_metadata('test_session_1640995200_abc12345', 'metric')
                        || '{"files": ["a.pdf", "c.pdf", "unlisted.pdf"]}', NULL),
        (102, 'a.metadata', NULL, citus_metadata('test_session_1640995200_abc12345', 'metric')),
        (201, 'b.metadata', '{"env": "ci"}', citus_metadata('test_session_1640995300_def67890', 'metric'))$q$
    ]) s
$$;
