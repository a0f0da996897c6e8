#!/usr/bin/python3
"""Transient indexes (test_cleanup.transient_indexes) under concurrency, on a real server:
writers wait for a cleanup that builds indexes and then succeed, in either order, without a
deadlock; lock_timeout stops a cleanup that waits to build one, naming the stage; a
cancelled cleanup leaves no index behind. Ordering comes from pg_stat_activity (who waits
for a lock), never from sleeping. Prints TAP lines.

  test/transient_test.py --dbname tc_transient
"""

import argparse
import sys
import threading
import time

import psycopg2

SCHEMA = """
DROP SCHEMA IF EXISTS tt CASCADE;
CREATE SCHEMA tt;
CREATE TABLE tt.users (id int PRIMARY KEY, meta jsonb);
CREATE TABLE tt.orders (id int PRIMARY KEY, user_id int REFERENCES tt.users);
CREATE TABLE tt.notes (id int PRIMARY KEY, order_id int REFERENCES tt.orders ON DELETE CASCADE);
DELETE FROM test_cleanup.root;
SELECT test_cleanup.add_root('tt.users', 'meta');
"""

LOAD = """
TRUNCATE tt.users, tt.orders, tt.notes;
INSERT INTO tt.users SELECT u, CASE WHEN u <= 100 THEN
    '{"test_marker": "integration_test_data", "test_session_id": "tt_s1"}'::jsonb END
  FROM generate_series(1, 1000) u;
INSERT INTO tt.orders SELECT o, (o + 1) / 2 FROM generate_series(1, 2000) o;
INSERT INTO tt.notes SELECT o, o FROM generate_series(1, 2000) o;
"""

TRANSIENT = "SELECT count(*) FROM pg_class WHERE relname LIKE 'test\\_cleanup\\_transient\\_%'"
failed = False


def report(ok, description, detail=""):
    global failed
    print(f"{'ok' if ok else 'not ok'} - {description}")
    if not ok:
        failed = True
        if detail:
            print(f"    {detail}")


def scalar(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def wait_until(conn, condition_sql, args=None, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scalar(conn, condition_sql, args):
            return True
        time.sleep(0.05)
    return False


def waits_for_lock(observer, pid):
    return wait_until(observer, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,))


def wait_behind(observer, thread, waiter, holder):
    """Starts `thread`, which runs on connection `waiter`; once that backend waits for a lock,
    commits `holder` and lets the thread finish. Returns whether it waited."""
    thread.start()
    waited = waits_for_lock(observer, waiter.get_backend_pid())
    holder.commit()
    thread.join(20)
    return waited


def setup(schema, load):
    """The command line's database: a connect(autocommit=True) function, an observer
    connection on which `schema` has run, and fresh() that runs `load` on it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dbname", required=True)
    dbname = parser.parse_args().dbname

    def connect(autocommit=True):
        conn = psycopg2.connect(dbname=dbname)
        conn.autocommit = autocommit
        return conn

    observer = connect()
    with observer.cursor() as cur:
        cur.execute(schema)

    def fresh():
        with observer.cursor() as cur:
            cur.execute(load)

    return connect, observer, fresh


class Background(threading.Thread):
    """Runs statements on its own connection; keeps the error, if any."""

    def __init__(self, conn, statements):
        super().__init__(daemon=True)
        self.conn, self.statements, self.error, self.result = conn, statements, None, None

    def run(self):
        try:
            with self.conn.cursor() as cur:
                for sql in self.statements:
                    cur.execute(sql)
                    if cur.description:
                        self.result = cur.fetchone()[0]
        except psycopg2.Error as e:
            self.error = e


def main():
    connect, observer, fresh = setup(SCHEMA, LOAD)

    # 1. The cleanup first: a writer to an indexed table waits until it commits (the DROP
    #    INDEX holds the table until then), then succeeds.
    fresh()
    cleaner, writer = connect(autocommit=False), connect()
    with cleaner.cursor() as cur:
        cur.execute("SET test_cleanup.transient_indexes = on")
        cur.execute("SELECT test_cleanup('tt_s1') -> 'deleted_counts' ->> 'orders'")
        deleted = cur.fetchone()[0]
    insert = Background(writer, ["INSERT INTO tt.orders VALUES (5001, 500)"])
    waited = wait_behind(observer, insert, writer, cleaner)
    report(waited and deleted == "200" and insert.error is None and not insert.is_alive()
           and scalar(observer, "SELECT count(*) FROM tt.orders WHERE id = 5001") == 1,
           "a writer waits for a cleanup that built transient indexes, then succeeds",
           f"waited {waited}, deleted {deleted}, writer error {insert.error}")

    # 2. The writer first: the cleanup waits to build its index until the writer commits,
    #    then cleans exactly as without the wait. No deadlock either way.
    fresh()
    writer = connect(autocommit=False)
    with writer.cursor() as cur:
        cur.execute("INSERT INTO tt.orders VALUES (5002, 600)")
    cleaner = connect()
    with cleaner.cursor() as cur:
        cur.execute("SET test_cleanup.transient_indexes = on")
    cleanup = Background(cleaner, ["SELECT test_cleanup('tt_s1') -> 'deleted_counts' ->> 'orders'"])
    waited = wait_behind(observer, cleanup, cleaner, writer)
    report(waited and cleanup.error is None and cleanup.result == "200"
           and scalar(observer, "SELECT count(*) FROM tt.orders") == 1801 and scalar(observer, TRANSIENT) == 0,
           "a cleanup waits for a writer before building a transient index, then cleans",
           f"waited {waited}, error {cleanup.error}, result {cleanup.result}")

    # 3. lock_timeout stops the wait: the error names the stage and the table, and nothing
    #    is deleted or left behind. The writer's note belongs to a production order (one of a
    #    doomed order would make the cleanup wait for that row, before any index).
    fresh()
    writer = connect(autocommit=False)
    with writer.cursor() as cur:
        cur.execute("INSERT INTO tt.notes VALUES (5003, 1500)")
    cleaner = connect()
    error = None
    try:
        with cleaner.cursor() as cur:
            cur.execute("SET test_cleanup.transient_indexes = on")
            cur.execute("SET lock_timeout = '200ms'")
            cur.execute("SELECT test_cleanup('tt_s1')")
    except psycopg2.Error as e:
        error = e
    writer.rollback()
    detail = (error.diag.message_detail or "") if error else ""
    report(error is not None and error.pgcode == "55P03" and 'stage "transient index"' in detail
           and "tt.notes" in detail and scalar(observer, "SELECT count(*) FROM tt.users") == 1000
           and scalar(observer, TRANSIENT) == 0,
           "lock_timeout stops a cleanup waiting to build a transient index; nothing deleted",
           f"error {error and error.pgcode}: {error}, detail {detail!r}")

    # 4. A cleanup cancelled after building its indexes leaves none behind.
    fresh()
    with observer.cursor() as cur:
        cur.execute("CREATE FUNCTION tt.slow() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(30); RETURN OLD; END $$")
        cur.execute("CREATE TRIGGER slow BEFORE DELETE ON tt.notes FOR EACH ROW EXECUTE FUNCTION tt.slow()")
    cleaner = connect()
    with cleaner.cursor() as cur:
        cur.execute("SET test_cleanup.transient_indexes = on")
    cleanup = Background(cleaner, ["SELECT test_cleanup('tt_s1')"])
    cleanup.start()
    sleeping = wait_until(observer, "SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = %s",
                          (cleaner.get_backend_pid(),))
    built = scalar(observer, "SELECT count(*) FROM pg_locks WHERE pid = %s AND mode = 'ShareLock' "
                   "AND relation IN ('tt.orders'::regclass, 'tt.notes'::regclass)", (cleaner.get_backend_pid(),))
    scalar(observer, "SELECT pg_cancel_backend(%s)", (cleaner.get_backend_pid(),))
    cleanup.join(20)
    with observer.cursor() as cur:
        cur.execute("DROP TRIGGER slow ON tt.notes")
    report(sleeping and built == 2 and cleanup.error is not None and cleanup.error.pgcode == "57014"
           and scalar(observer, TRANSIENT) == 0 and scalar(observer, "SELECT count(*) FROM tt.notes") == 2000,
           "a cleanup cancelled after building transient indexes leaves none behind, and no row deleted",
           f"sleeping {sleeping}, share locks {built}, error {cleanup.error}")

    with observer.cursor() as cur:
        cur.execute("DELETE FROM test_cleanup.root; DROP SCHEMA tt CASCADE")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
