#!/usr/bin/python3
"""The reaper under concurrency, on a real server: a heartbeat that arrives while the
reaper decides saves its session; the reaper and a running suite's own cleanup wait for
each other without a deadlock (table locks) or not at all (row locks); a dry run holds nothing afterwards. Ordering comes from
pg_stat_activity (who waits for a lock), never from sleeping. Prints TAP lines.

  test/reaper_test.py --dbname tc_reaper
"""

import sys

from transient_test import Background, report, scalar, setup, wait_behind, waits_for_lock
import transient_test

import psycopg2

# Two tables joined by a link (no foreign key): a cleanup locks the dependent table.
SCHEMA = """
DROP SCHEMA IF EXISTS rt CASCADE;
CREATE SCHEMA rt;
CREATE TABLE rt.runs (id int PRIMARY KEY, meta jsonb);
CREATE TABLE rt.steps (id int PRIMARY KEY, run_id int NOT NULL);
DELETE FROM test_cleanup.root; DELETE FROM test_cleanup.link;
SELECT test_cleanup.add_root('rt.runs', 'meta');
SELECT test_cleanup.add_link('rt.steps', '{run_id}', 'rt.runs', '{id}');
CREATE FUNCTION rt.slow() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN PERFORM pg_sleep(1.5); RETURN OLD; END $$;
"""

# Sessions "dead" (rows from 2024) and "live" (a suite still running, its rows from 2024
# too but it sends heartbeats).
LOAD = """
TRUNCATE rt.runs, rt.steps; DELETE FROM test_cleanup.heartbeat;
INSERT INTO rt.runs VALUES
    (1, '{"test_marker": "integration_test_data", "test_session_id": "dead", "test_timestamp": "2024-01-01T00:00:00"}'),
    (2, '{"test_marker": "integration_test_data", "test_session_id": "live", "test_timestamp": "2024-01-01T00:00:00"}'),
    (3, NULL);
INSERT INTO rt.steps VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO test_cleanup.heartbeat VALUES ('live', now() - interval '3 hours');
"""


def main():
    connect, observer, fresh = setup(SCHEMA, LOAD)

    def runs():
        return scalar(observer, "SELECT string_agg(id::text, ',' ORDER BY id) FROM rt.runs")

    # 1. "live" beats while the reaper decides: its beat is not committed when the reaper
    #    reads the sessions (so it looks dead), and commits while the reaper waits for the
    #    heartbeat's row. The reaper then sees the beat and leaves "live" alone.
    fresh()
    beater, reaper = connect(autocommit=False), connect()
    with beater.cursor() as cur:
        cur.execute("SELECT test_cleanup.heartbeat('live')")
    reap = Background(reaper, ["SELECT test_cleanup.reap('1 hour')"])
    waited = wait_behind(observer, reap, reaper, beater)
    reaped = sorted((reap.result or {}).get("reaped_sessions", {}))
    report(waited and reap.error is None and reaped == ["dead"] and reap.result["skipped_alive"] == 1
           and runs() == "2,3",
           "a heartbeat that commits while the reaper decides saves its session",
           f"waited {waited}, error {reap.error}, result {reap.result}, runs {runs()}")

    # 2. A running suite (heartbeat just now) cleans its own session ("live") while the
    #    reaper cleans "dead", the suite's cleanup kept busy by a slow trigger. With
    #    test_cleanup.lock_tables the suite holds the link's table and then ends its
    #    heartbeat; the reaper waits for the table. Neither waits for the other in a cycle:
    #    both succeed. With row locks (the default) the reaper needs nothing the suite holds:
    #    it reaches its own delete (the same slow trigger) while the suite is still in it.
    for lock_tables in (True, False):
        fresh()
        with observer.cursor() as cur:
            cur.execute("UPDATE test_cleanup.heartbeat SET last_heartbeat = now() WHERE test_session_id = 'live'")
            cur.execute("CREATE TRIGGER slow BEFORE DELETE ON rt.steps FOR EACH ROW EXECUTE FUNCTION rt.slow()")
        setting = [f"SET test_cleanup.lock_tables = {'on' if lock_tables else 'off'}"]
        suite, reaper = connect(), connect()
        own = Background(suite, setting + ["SELECT test_cleanup('live')"])
        own.start()
        in_trigger = transient_test.wait_until(
            observer, "SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()")
        reap = Background(reaper, setting + ["SELECT test_cleanup.reap('1 hour')"])
        reap.start()
        if lock_tables:
            ordered = waits_for_lock(observer, reaper.get_backend_pid())
            name = "lock_tables: the reaper and a suite's own cleanup wait for each other without a deadlock"
        else:  # both in their slow trigger at once: the reaper did not wait for the suite
            ordered = transient_test.wait_until(
                observer, "SELECT count(*) = 2 FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                "AND datname = current_database()", timeout=10)
            name = "row locks: the reaper cleans another session while a suite's cleanup runs, without waiting for it"
        own.join(30)
        reap.join(30)
        report(in_trigger and ordered and own.error is None and reap.error is None
               and sorted(reap.result["reaped_sessions"]) == ["dead"] and runs() == "3",
               name,
               f"in trigger {in_trigger}, reaper {'waited' if lock_tables else 'did not wait'} {ordered}, "
               f"suite error {own.error}, reaper error {reap.error}, result {reap.result}, runs {runs()}")
        with observer.cursor() as cur:
            cur.execute("DROP TRIGGER slow ON rt.steps")

    # 3. A dry run releases what it locked: a writer to the link's table, and a writer of a
    #    row the dry run locked (the dead session's run), do not wait for the transaction
    #    that ran it.
    fresh()
    dry, writer = connect(autocommit=False), connect()
    with dry.cursor() as cur:
        cur.execute("SELECT test_cleanup.reap('1 hour', true)")
        result = cur.fetchone()[0]
    with writer.cursor() as cur:
        cur.execute("SET lock_timeout = '2s'")
        try:
            cur.execute("INSERT INTO rt.steps VALUES (10, 1)")
            cur.execute("UPDATE rt.runs SET meta = meta WHERE id = 1")
            blocked = None
        except psycopg2.Error as e:
            blocked = e.pgerror
    dry.commit()
    report(blocked is None and sorted(result["reaped_sessions"]) == ["dead", "live"] and runs() == "1,2,3",
           "a dry run of the reaper holds no lock afterwards and deletes nothing",
           f"writer blocked: {blocked}, result {result}, runs {runs()}")
    sys.exit(1 if transient_test.failed else 0)


if __name__ == "__main__":
    main()
