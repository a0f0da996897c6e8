-- Benchmark data for the reference schema (test/reference_schema.sql must be loaded).
-- SELECT bench_generate(users, test_percent, sessions) fills it with about 19 rows per
-- user: profiles, sessions, balances, one searchable each with a listed file, payments,
-- ratings, uploads, two invoices (buyers drawn from all users, so production users buy
-- test searchables), their notes, payment records and withdrawals, and three metrics.
-- test_percent of the users (and what they own) are test data, spread over `sessions`
-- sessions of uneven size (session k gets a share proportional to 1/k), plus one tiny
-- session `bench_tiny` of 5 users. Deterministic: the same arguments give the same rows.

CREATE OR REPLACE FUNCTION bench_generate(n_users int, test_percent numeric, n_sessions int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n_test int := floor(n_users * test_percent / 100)::int - 5;  -- 5 more form bench_tiny
BEGIN
    PERFORM setseed(0.42);
    TRUNCATE users, user_profiles, user_sessions, user_balances, searchables, files, invoices,
             payments, ratings, media_uploads, invoice_notes, payment_records, withdrawals, metrics;

    -- Session k owns the test users in (lo, hi]: a share proportional to 1/k.
    CREATE TEMP TABLE bench_bounds ON COMMIT DROP AS
    SELECT k, floor(n_test * (cum - share))::int AS lo, floor(n_test * cum)::int AS hi
      FROM (SELECT k, share, sum(share) OVER (ORDER BY k) AS cum
              FROM (SELECT k, (1.0 / k) / sum(1.0 / k) OVER () AS share
                      FROM generate_series(1, n_sessions) k) shares) cumulative;
    CREATE TEMP TABLE bench_user_session ON COMMIT DROP AS
    SELECT u AS id,
           CASE WHEN u <= n_test THEN (SELECT 'bench_s' || b.k FROM bench_bounds b WHERE u > b.lo AND u <= b.hi)
                WHEN u <= n_test + 5 THEN 'bench_tiny'
           END AS session
      FROM generate_series(1, n_users) u;

    INSERT INTO users (id, email, referred_by, test_metadata)
    SELECT id, 'u' || id || '@example.com', NULL,
           CASE WHEN session IS NOT NULL THEN reference_metadata(session, 'user') END
      FROM bench_user_session;
    INSERT INTO user_profiles SELECT id, id, 'bio' FROM users;
    INSERT INTO user_sessions SELECT id, id, md5(id::text) FROM users;
    INSERT INTO user_balances SELECT id, id % 100 FROM users;
    INSERT INTO files SELECT 'f' || id, 'file' || id || '.pdf' FROM users;
    INSERT INTO searchables (id, owner_id, title, payloads)
    SELECT s.id, s.id, 'item ' || s.id,
           jsonb_build_object('public', jsonb_strip_nulls(jsonb_build_object(
               'test_metadata', CASE WHEN s.session IS NOT NULL THEN reference_metadata(s.session, 'searchable') END,
               'downloadableFiles', jsonb_build_array(jsonb_build_object('fileId', 'f' || s.id)))))
      FROM bench_user_session s;
    INSERT INTO invoices SELECT 2 * id + k, id, 1 + floor(random() * n_users)::int, 10
      FROM users, generate_series(0, 1) k;
    INSERT INTO payments SELECT id, id, 10 FROM searchables;
    INSERT INTO ratings SELECT id, id, 1 + floor(random() * n_users)::int, 4 FROM searchables;
    INSERT INTO media_uploads SELECT id, id, '/m/' || id FROM searchables;
    INSERT INTO invoice_notes SELECT id, id, 'note' FROM invoices;
    INSERT INTO payment_records SELECT id, id, 'ref' || id FROM invoices;
    INSERT INTO withdrawals SELECT id, id, 1 FROM invoices WHERE id % 2 = 0;
    INSERT INTO metrics
    SELECT 3 * s.id + k, 'metric', CASE WHEN k = 0 AND s.session IS NOT NULL THEN reference_metadata(s.session, 'metric') END,
           CASE WHEN k = 1 AND s.session IS NOT NULL THEN reference_metadata(s.session, 'metric') END
      FROM bench_user_session s, generate_series(0, 2) k;
END $$;

-- Indexes every variant gets: primary keys exist; foreign key and link columns are indexed
-- (the benchmark's premise: FKs indexed).
CREATE OR REPLACE FUNCTION bench_index_foreign_keys() RETURNS void LANGUAGE sql AS $$
    CREATE INDEX IF NOT EXISTS user_profiles_user_id ON user_profiles (user_id);
    CREATE INDEX IF NOT EXISTS user_sessions_user_id ON user_sessions (user_id);
    CREATE INDEX IF NOT EXISTS searchables_owner_id ON searchables (owner_id);
    CREATE INDEX IF NOT EXISTS users_referred_by ON users (referred_by);
    CREATE INDEX IF NOT EXISTS invoices_buyer_id ON invoices (buyer_id);
    CREATE INDEX IF NOT EXISTS payments_searchable_id ON payments (searchable_id);
    CREATE INDEX IF NOT EXISTS ratings_searchable_id ON ratings (searchable_id);
    CREATE INDEX IF NOT EXISTS ratings_rater_id ON ratings (rater_id);
    CREATE INDEX IF NOT EXISTS media_uploads_searchable_id ON media_uploads (searchable_id);
    CREATE INDEX IF NOT EXISTS invoice_notes_invoice_id ON invoice_notes (invoice_id);
    CREATE INDEX IF NOT EXISTS payment_records_invoice_id ON payment_records (invoice_id);
    CREATE INDEX IF NOT EXISTS withdrawals_invoice_id ON withdrawals (invoice_id);
$$;
