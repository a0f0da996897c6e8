-- Triggers that update rows the cleanup is about to delete (counter caches, "touch"
-- timestamps): the updated rows move, and the cleanup still finds them by key. The
-- trigger functions name their tables without a schema, as many applications write them:
-- they run with the database's search_path. Each result is compared with PostgreSQL's own
-- cascade on the same data (run first and rolled back).
\i test/regress_prelude.sql
CREATE TABLE tr_profiles (
    id             bigint PRIMARY KEY,
    follower_count int NOT NULL DEFAULT 0,
    touched        int NOT NULL DEFAULT 0,
    test_metadata  jsonb
);
CREATE TABLE tr_follows (
    id          bigint PRIMARY KEY,
    follower_id bigint NOT NULL REFERENCES tr_profiles ON DELETE CASCADE,
    followee_id bigint NOT NULL REFERENCES tr_profiles ON DELETE CASCADE
);
CREATE TABLE tr_posts (
    id         bigint PRIMARY KEY,
    profile_id bigint NOT NULL REFERENCES tr_profiles ON DELETE CASCADE,
    touched    int NOT NULL DEFAULT 0
);
CREATE TABLE tr_comments (
    id      bigint PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES tr_posts ON DELETE CASCADE
);
-- A deferred key: its check runs at COMMIT, after the cleanup returned.
CREATE TABLE tr_likes (
    id         bigint PRIMARY KEY,
    comment_id bigint NOT NULL REFERENCES tr_comments ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);

CREATE FUNCTION tr_uncount_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tr_profiles SET follower_count = follower_count - 1 WHERE id = OLD.followee_id;
    RETURN OLD;
END $$;
CREATE TRIGGER tr_uncount AFTER DELETE ON tr_follows FOR EACH ROW EXECUTE FUNCTION tr_uncount_follow();
CREATE FUNCTION tr_touch_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tr_posts SET touched = touched + 1 WHERE id = OLD.post_id;
    UPDATE tr_profiles SET touched = touched + 1
     WHERE id = (SELECT profile_id FROM tr_posts WHERE id = OLD.post_id);
    RETURN OLD;
END $$;
CREATE TRIGGER tr_touch BEFORE DELETE ON tr_comments FOR EACH ROW EXECUTE FUNCTION tr_touch_post();

CREATE FUNCTION tr_load() RETURNS void LANGUAGE sql AS $$
    TRUNCATE tr_profiles, tr_follows, tr_posts, tr_comments, tr_likes;
    INSERT INTO tr_profiles (id, test_metadata) VALUES
        (1, NULL), (2, NULL),
        (10, '{"test_marker": "integration_test_data", "test_session_id": "tr_s1"}'),
        (11, '{"test_marker": "integration_test_data", "test_session_id": "tr_s1"}'),
        (20, '{"test_marker": "integration_test_data", "test_session_id": "tr_s2"}');
    INSERT INTO tr_follows VALUES (1, 1, 10), (2, 10, 11), (3, 11, 10), (4, 2, 1), (5, 10, 1), (6, 20, 10);
    UPDATE tr_profiles p SET follower_count = (SELECT count(*) FROM tr_follows f WHERE f.followee_id = p.id);
    INSERT INTO tr_posts (id, profile_id) VALUES (1, 1), (10, 10), (11, 11), (20, 20);
    INSERT INTO tr_comments VALUES (1, 1), (2, 10), (3, 10), (4, 11), (5, 20);
    INSERT INTO tr_likes VALUES (1, 1), (2, 2), (3, 4);
$$;
CREATE VIEW tr_state AS
    SELECT 'profiles' AS t, to_jsonb(x) - 'test_metadata' AS r FROM tr_profiles x
    UNION ALL SELECT 'follows', to_jsonb(x) FROM tr_follows x
    UNION ALL SELECT 'posts', to_jsonb(x) FROM tr_posts x
    UNION ALL SELECT 'comments', to_jsonb(x) FROM tr_comments x
    UNION ALL SELECT 'likes', to_jsonb(x) FROM tr_likes x;
SELECT test_cleanup.add_root('tr_profiles', 'test_metadata') > 0 AS registered;

-- PostgreSQL's own cascade, rolled back: what must remain.
SELECT tr_load();
BEGIN;
DELETE FROM tr_profiles WHERE test_metadata ->> 'test_session_id' = 'tr_s1';
SET CONSTRAINTS ALL IMMEDIATE;
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) AS native FROM tr_state \gset
ROLLBACK;

-- The cleanup: both marked profiles are updated by triggers (follower counts, touches)
-- before their turn comes, and so are the posts; every one of them still goes.
SELECT tr_load();
BEGIN;
SELECT jsonb_object_agg(key, value) FILTER (WHERE key LIKE 'tr\_%') AS deleted
  FROM jsonb_each(test_cleanup('tr_s1') -> 'deleted_counts');
COMMIT;  -- the deferred key is checked here
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) = :'native' AS same_as_native FROM tr_state;
SELECT id, follower_count, touched FROM tr_profiles ORDER BY id;

-- Cleaning everything, the same way.
SELECT tr_load();
BEGIN;
DELETE FROM tr_profiles WHERE test_metadata ->> 'test_marker' = 'integration_test_data';
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) AS native FROM tr_state \gset
ROLLBACK;
SELECT tr_load();
SELECT test_cleanup() -> 'deleted_counts' -> 'tr_profiles' AS profiles;
SELECT string_agg(r::text, ' ' ORDER BY t, r::text) = :'native' AS same_as_native FROM tr_state;

-- With foreign key triggers off, user triggers do not fire: the rows go all the same.
SELECT tr_load();
SET test_cleanup.skip_fk_checks = on;
SELECT test_cleanup('tr_s1') -> 'deleted_counts' -> 'tr_profiles' AS profiles;
RESET test_cleanup.skip_fk_checks;
SELECT count(*) AS marked_left FROM tr_profiles WHERE test_metadata ->> 'test_session_id' = 'tr_s1';

-- A trigger that keeps a doomed row (BEFORE DELETE returning NULL): the cleanup fails,
-- names the table and the row, and deletes nothing.
CREATE FUNCTION tr_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER tr_keep BEFORE DELETE ON tr_posts FOR EACH ROW WHEN (OLD.id = 10) EXECUTE FUNCTION tr_keep();
SELECT tr_load();
SELECT count(*) AS rows_before FROM tr_state;
SELECT test_cleanup('tr_s1');
SELECT count(*) AS rows_after FROM tr_state;
DROP TRIGGER tr_keep ON tr_posts;

SELECT test_cleanup.remove_rules('tr_profiles');
DROP TABLE tr_likes, tr_comments, tr_posts, tr_follows, tr_profiles CASCADE;
DROP FUNCTION tr_load, tr_uncount_follow, tr_touch_post, tr_keep;
