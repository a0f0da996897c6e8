#!/usr/bin/python3
"""Parallel test runs on one database: does a session's cleanup stop the others?

Each worker is a test run: it loops { new session; write a user, profile, file, a
searchable listing the file and a metric (one transaction), then an invoice with payment,
note, payment record, rating and withdrawal (a second one); clean the session }. One more
connection keeps inserting production rows (a user, a profile, an invoice of a production
searchable with its payment record) meanwhile. The same workers run twice side by side:
cleaning with `SELECT test_cleanup(session)`, and with a hand-written PL/pgSQL function for
this schema that takes row locks only (what a team writes by hand). Also run: the
production writer alone, for its latency without cleanups.

Two schemas: `reference` (test/reference_schema.sql) and `links`, the same tables with
every deleting foreign key dropped and registered with test_cleanup.add_link instead (as
the seed's real application is). Both with --users production users.

Reports, per schema, method and number of workers: cleanups per second, cleanup latency
p50/p99, the production writer's p99, the share of active backends' samples waiting on a
lock (pg_stat_activity every 20 ms), errors, leftovers (marked rows and link orphans of the
run's sessions) and production rows lost; then the ratios the issue targets.

  bench/parallel.py [--workers 1,4,8,16] [--seconds 10] [--users 20000] [--schemas reference,links]

Needs a running server with the extension installed (PG* settings, as test/cluster.sh env
prints them). Times are printed, never asserted."""

import argparse
import multiprocessing
import statistics
import subprocess
import threading
import time

import psycopg2

import reference_db


# What a team writes by hand for this schema: the session's roots and their dependents
# locked in key order, then deleted children first. Files go when no surviving searchable
# lists them.
BY_HAND = """
CREATE FUNCTION by_hand(s text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE u bigint[]; srch bigint[]; inv bigint[]; f text[];
BEGIN
  u := ARRAY(SELECT id FROM users WHERE test_metadata ->> 'test_marker' = 'integration_test_data'
               AND test_metadata ->> 'test_session_id' = s ORDER BY id FOR UPDATE);
  srch := ARRAY(SELECT id FROM searchables
                 WHERE payloads -> 'public' -> 'test_metadata' ->> 'test_marker' = 'integration_test_data'
                   AND payloads -> 'public' -> 'test_metadata' ->> 'test_session_id' = s ORDER BY id FOR UPDATE);
  inv := ARRAY(SELECT id FROM invoices WHERE searchable_id = ANY (srch) OR buyer_id = ANY (u)
               ORDER BY id FOR UPDATE);
  f := ARRAY(SELECT e ->> 'fileId' FROM searchables x, jsonb_array_elements(x.payloads -> 'public' -> 'downloadableFiles') e
              WHERE x.id = ANY (srch));
  DELETE FROM invoice_notes WHERE invoice_id = ANY (inv);
  DELETE FROM payment_records WHERE invoice_id = ANY (inv);
  DELETE FROM withdrawals WHERE invoice_id = ANY (inv);
  DELETE FROM invoices WHERE id = ANY (inv);
  DELETE FROM payments WHERE searchable_id = ANY (srch);
  DELETE FROM ratings WHERE searchable_id = ANY (srch);
  DELETE FROM media_uploads WHERE searchable_id = ANY (srch);
  DELETE FROM searchables WHERE id = ANY (srch);
  DELETE FROM files WHERE file_id = ANY (f) AND NOT EXISTS (
    SELECT FROM searchables x WHERE x.payloads -> 'public' -> 'downloadableFiles' @> jsonb_build_array(jsonb_build_object('fileId', file_id)));
  DELETE FROM user_profiles WHERE user_id = ANY (u);
  DELETE FROM user_sessions WHERE user_id = ANY (u);
  DELETE FROM user_balances WHERE user_id = ANY (u);
  DELETE FROM users WHERE id = ANY (u);
  DELETE FROM metrics WHERE tags ->> 'test_marker' = 'integration_test_data' AND tags ->> 'test_session_id' = s;
END $$;
"""

WRITE_ROOTS = """
WITH u AS (INSERT INTO users VALUES (nextval('bench_ids'), 'w', NULL, reference_metadata(%(s)s, 'user')) RETURNING id),
     p AS (INSERT INTO user_profiles SELECT nextval('bench_ids'), id, 'bio' FROM u),
     f AS (INSERT INTO files VALUES ('bench-' || %(s)s, 'f') RETURNING file_id),
     x AS (INSERT INTO searchables SELECT nextval('bench_ids'), u.id, 'item', jsonb_build_object('public',
             jsonb_build_object('test_metadata', reference_metadata(%(s)s, 'searchable'),
                                'downloadableFiles', jsonb_build_array(jsonb_build_object('fileId', f.file_id))))
             FROM u, f RETURNING id),
     m AS (INSERT INTO metrics VALUES (nextval('bench_ids'), 'm', reference_metadata(%(s)s, 'metric'), NULL))
SELECT u.id, x.id FROM u, x
"""
WRITE_DEPENDENTS = """
WITH i AS (INSERT INTO invoices VALUES (nextval('bench_ids'), %(x)s, %(u)s, 5) RETURNING id),
     p AS (INSERT INTO payments VALUES (nextval('bench_ids'), %(x)s, 5)),
     n AS (INSERT INTO invoice_notes SELECT nextval('bench_ids'), id, 'n' FROM i),
     r AS (INSERT INTO payment_records SELECT nextval('bench_ids'), id, 'r' FROM i),
     t AS (INSERT INTO ratings VALUES (nextval('bench_ids'), %(x)s, %(u)s, 5)),
     w AS (INSERT INTO withdrawals SELECT nextval('bench_ids'), id, 1 FROM i)
SELECT 1
"""
# A production writer: rows in tables the cleanups read through links.
WRITE_PRODUCTION = """
WITH u AS (INSERT INTO users VALUES (nextval('bench_ids'), 'prod', NULL, NULL) RETURNING id),
     p AS (INSERT INTO user_profiles SELECT nextval('bench_ids'), id, 'bio' FROM u),
     i AS (INSERT INTO invoices SELECT nextval('bench_ids'), 1, id, 3 FROM u RETURNING id),
     r AS (INSERT INTO payment_records SELECT nextval('bench_ids'), id, 'r' FROM i)
SELECT u.id FROM u
"""


def make_db(name, schema, users):
    conn = reference_db.create(name)
    cur = conn.cursor()
    cur.execute("CREATE SEQUENCE bench_ids START 10000000")
    cur.execute("""INSERT INTO users SELECT 1000000 + s, 'p' || s, NULL, NULL FROM generate_series(1, %s) s;
                   INSERT INTO user_profiles SELECT 1000000 + s, 1000000 + s, 'bio' FROM generate_series(1, %s) s;
                   INSERT INTO invoices SELECT 1000000 + s, 1, 1000000 + s, 1 FROM generate_series(1, %s) s;""",
                (users, users, users))
    if schema == "links":
        cur.execute("""SELECT conrelid::regclass::text, conname, confrelid::regclass::text,
                              (SELECT array_agg(attname ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(n, i)
                                 JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n),
                              (SELECT array_agg(attname ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(n, i)
                                 JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.n)
                         FROM pg_constraint WHERE contype = 'f' AND confdeltype IN ('a', 'r', 'c')
                          AND connamespace = 'public'::regnamespace""")
        for dependent, constraint, owner, cols, owner_cols in cur.fetchall():
            cur.execute(f'ALTER TABLE {dependent} DROP CONSTRAINT "{constraint}"')
            cur.execute("SELECT test_cleanup.add_link(%s, %s, %s, %s)", (dependent, cols, owner, owner_cols))
    for sql in [row[0] for row in _advice(cur)]:
        cur.execute(sql.replace(" CONCURRENTLY", ""))
    cur.execute(BY_HAND)
    cur.execute("ANALYZE")
    conn.close()


def _advice(cur):
    cur.execute("SELECT statement FROM test_cleanup.advise_indexes()")
    return cur.fetchall()


def worker(dbname, method, tag, seconds, out):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    cur = conn.cursor()
    latencies, errors, sessions = [], 0, []
    clean = "SELECT test_cleanup(%s)" if method == "test_cleanup" else "SELECT by_hand(%s)"
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        session = f"par_{tag}_{i}"
        i += 1
        try:
            cur.execute(WRITE_ROOTS, {"s": session})
            user, searchable = cur.fetchone()
            cur.execute(WRITE_DEPENDENTS, {"u": user, "x": searchable})
            started = time.monotonic()
            cur.execute(clean, (session,))
            latencies.append(time.monotonic() - started)
            sessions.append(session)
        except psycopg2.Error as error:
            errors += 1
            print(f"    {tag}: {error.pgcode} {str(error).splitlines()[0]}")
    conn.close()
    out.put((latencies, errors, sessions))


def production_writer(dbname, seconds, out):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    cur = conn.cursor()
    latencies, ids, errors = [], [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            cur.execute(WRITE_PRODUCTION)
            ids.append(cur.fetchone()[0])
        except psycopg2.Error:
            errors += 1
        latencies.append(time.monotonic() - started)
        time.sleep(0.005)
    conn.close()
    out.put(("writer", latencies, ids, errors))


def sample_lock_waits(dbname, stop, samples):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    cur = conn.cursor()
    while not stop.is_set():
        cur.execute("""SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*)
                         FROM pg_stat_activity WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()""",
                    (dbname,))
        samples.append(cur.fetchone())
        time.sleep(0.02)
    conn.close()


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run(dbname, method, workers, seconds):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    cur = conn.cursor()
    # Each run leaves dead rows behind; the next one starts from a vacuumed database, so the
    # order of the runs does not decide their times.
    cur.execute("VACUUM ANALYZE")
    cur.execute(PRODUCTION)
    production = cur.fetchone()[0]
    conn.close()
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(dbname, method, f"{method[:2]}{workers}_{w}", seconds, out))
             for w in range(workers)]
    procs.append(multiprocessing.Process(target=production_writer, args=(dbname, seconds, out)))
    stop, samples = threading.Event(), []
    sampler = threading.Thread(target=sample_lock_waits, args=(dbname, stop, samples))
    sampler.start()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    stop.set()
    sampler.join()
    latencies, errors, sessions, writer = [], 0, [], None
    for r in results:
        if r[0] == "writer":
            writer = r
        else:
            latencies += r[0]
            errors += r[1]
            sessions += r[2]
    waiting = sum(s[0] for s in samples)
    active = sum(s[1] for s in samples)
    return {
        "per_s": len(latencies) / seconds,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "writer_p99": percentile(writer[1], 99) * 1000,
        "lock_share": waiting / active if active else 0.0,
        "errors": errors + writer[3],
        "leftovers": leftovers(dbname, sessions),
        "lost": lost(dbname, writer[2], production),
    }


def leftovers(dbname, sessions):
    conn = psycopg2.connect(dbname=dbname)
    cur = conn.cursor()
    cur.execute("""SELECT (SELECT count(*) FROM users WHERE test_metadata ->> 'test_session_id' = ANY (%(s)s))
                        + (SELECT count(*) FROM searchables WHERE payloads -> 'public' -> 'test_metadata' ->> 'test_session_id' = ANY (%(s)s))
                        + (SELECT count(*) FROM metrics WHERE tags ->> 'test_session_id' = ANY (%(s)s))
                        + (SELECT count(*) FROM invoices i WHERE NOT EXISTS (SELECT FROM searchables x WHERE x.id = i.searchable_id))
                        + (SELECT count(*) FROM payment_records r WHERE NOT EXISTS (SELECT FROM invoices i WHERE i.id = r.invoice_id))
                        + (SELECT count(*) FROM invoice_notes n WHERE NOT EXISTS (SELECT FROM invoices i WHERE i.id = n.invoice_id))
                        + (SELECT count(*) FROM files WHERE file_id LIKE 'bench-par%%')""", {"s": sessions})
    count = cur.fetchone()[0]
    conn.close()
    return count


# Production users that are not the writer's (ids below the sequence's start).
PRODUCTION = "SELECT count(*) FROM users WHERE id < 10000000"


def lost(dbname, ids, production):
    """The writer's rows not whole any more, and other production users gone."""
    conn = psycopg2.connect(dbname=dbname)
    cur = conn.cursor()
    cur.execute(f"""SELECT %(n)s - (SELECT count(*) FROM users u JOIN user_profiles p ON p.user_id = u.id
                                      JOIN invoices i ON i.buyer_id = u.id JOIN payment_records r ON r.invoice_id = i.id
                                     WHERE u.id = ANY (%(ids)s))
                         + %(production)s - ({PRODUCTION})""",
                {"ids": ids, "n": len(ids), "production": production})
    count = cur.fetchone()[0]
    conn.close()
    return count


def writer_alone(dbname, seconds):
    out = multiprocessing.Queue()
    p = multiprocessing.Process(target=production_writer, args=(dbname, seconds, out))
    p.start()
    result = out.get()
    p.join()
    return percentile(result[1], 99) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,4,8,16")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--schemas", default="reference,links")
    parser.add_argument("--lock-tables", action="store_true", help="test_cleanup with test_cleanup.lock_tables = on")
    args = parser.parse_args()
    for schema in args.schemas.split(","):
        dbname = f"bench_parallel_{schema}"
        make_db(dbname, schema, args.users)
        if args.lock_tables:
            subprocess.run(["psql", "-X", "-q", "-d", dbname, "-c",
                            f"ALTER DATABASE {dbname} SET test_cleanup.lock_tables = on"], check=True)
        alone = writer_alone(dbname, min(args.seconds, 5))
        print(f"== schema {schema}: {args.users} production users; production writer alone: p99 {alone:.1f} ms")
        print(f"{'workers':>7} {'method':>12} {'cleanups/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'writer p99':>10} "
              f"{'lock wait':>9} {'errors':>6} {'left':>5} {'lost':>5}")
        for workers in [int(w) for w in args.workers.split(",")]:
            row = {}
            for method in ("test_cleanup", "by_hand"):
                r = row[method] = run(dbname, method, workers, args.seconds)
                print(f"{workers:>7} {method:>12} {r['per_s']:>10.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} "
                      f"{r['writer_p99']:>10.1f} {r['lock_share']:>8.0%} {r['errors']:>6} {r['leftovers']:>5} {r['lost']:>5}")
            t, h = row["test_cleanup"], row["by_hand"]
            print(f"{workers:>7} {'ratio':>12} {t['per_s'] / h['per_s']:>10.2f} {t['p50'] / h['p50']:>8.2f} "
                  f"{t['p99'] / h['p99']:>8.2f} {t['writer_p99'] / alone:>10.2f}   (test_cleanup / by hand; writer: / alone)")
        subprocess.run(["dropdb", dbname], check=True)


if __name__ == "__main__":
    main()
