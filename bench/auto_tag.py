#!/usr/bin/python3
"""What test_cleanup.auto_tag() costs an application's inserts, side by side in one run.

Three identical tables: `plain` (no trigger), `tagged` (auto_tag, no session set: the
production case) and the same `tagged` with test_cleanup.session set (the test case, each
row gets its metadata). Two workloads, alternating the variants round by round:

  bulk    INSERT ... SELECT of --rows rows in one statement (median of --runs)
  single  one-row INSERTs from pgbench, one client, --seconds each (median of --runs), as
          an application inserts

Prints rows per second and the ratio to `plain`. Times are measured, never asserted.

  bench/auto_tag.py --dbname bench_auto_tag [--rows 200000] [--seconds 5] [--runs 5]
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

import psycopg2

# The pgbench of the server under test (PG_CONFIG, as the tests set it; else the one on PATH).
PGBENCH = os.path.join(subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--bindir"],
                                      capture_output=True, text=True, check=True).stdout.strip(),
                       "pgbench")
SESSION = "test_session_1700000000_0a0b0c0d"

SCHEMA = """
DROP TABLE IF EXISTS bench_plain, bench_tagged;
CREATE TABLE bench_plain (id bigint PRIMARY KEY, name text NOT NULL, meta jsonb);
CREATE TABLE bench_tagged (LIKE bench_plain INCLUDING ALL);
SELECT test_cleanup.remove_rules('bench_tagged');
SELECT test_cleanup.add_root('bench_tagged', 'meta', '{public,test_metadata}');
SELECT test_cleanup.auto_tag('bench_tagged');
"""

VARIANTS = [("plain", "bench_plain", None), ("tagged, no session", "bench_tagged", None),
            ("tagged, session set", "bench_tagged", SESSION)]


def bulk(conn, table, session, rows):
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE {table}")
        cur.execute("SELECT set_config('test_cleanup.session', %s, false)", (session or "",))
        started = time.perf_counter()
        cur.execute(f"INSERT INTO {table} SELECT g, 'row ' || g, '{{\"public\": {{}}}}' "
                    "FROM generate_series(1, %s) g", (rows,))
        elapsed = time.perf_counter() - started
        cur.execute("SELECT set_config('test_cleanup.session', '', false)")
    return rows / elapsed


def single(dbname, table, session, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(f"INSERT INTO {table} VALUES (nextval('bench_ids'), 'one row', "
                     "'{\"public\": {}}');\n")
    env = dict(os.environ, PGOPTIONS=f"-c test_cleanup.session={session}" if session else "")
    done = subprocess.run([PGBENCH, "-n", "-c", "1", "-T", str(seconds), "-f", script.name, dbname],
                          capture_output=True, text=True, env=env)
    os.unlink(script.name)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr}")
    return float(re.search(r"tps = ([0-9.]+)", done.stdout).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dbname", default="bench_auto_tag")
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    subprocess.run(["dropdb", "--if-exists", args.dbname], check=True)
    subprocess.run(["createdb", args.dbname], check=True)
    conn = psycopg2.connect(dbname=args.dbname)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION test_cleanup")
        cur.execute(f"ALTER DATABASE {args.dbname} SET test_cleanup.enabled = on")
        cur.execute("SET test_cleanup.enabled = on")
        cur.execute(SCHEMA)
        cur.execute("CREATE SEQUENCE bench_ids")

    results = {}
    for workload in ("bulk", "single"):
        samples = {name: [] for name, _, _ in VARIANTS}
        for _ in range(args.runs):
            for name, table, session in VARIANTS:
                if workload == "bulk":
                    samples[name].append(bulk(conn, table, session, args.rows))
                else:
                    with conn.cursor() as cur:
                        cur.execute(f"TRUNCATE {table}")
                    samples[name].append(single(args.dbname, table, session, args.seconds))
        results[workload] = {name: statistics.median(values) for name, values in samples.items()}

    with conn.cursor() as cur:  # the tagged rows really were tagged, the others not
        cur.execute("SELECT count(*) FILTER (WHERE meta #>> '{public,test_metadata,test_session_id}' = %s), "
                    "count(*) FROM bench_tagged", (SESSION,))
        tagged, total = cur.fetchone()
    print(f"auto_tag insert cost ({args.rows} rows bulk, {args.seconds} s single-row, median of {args.runs}):")
    for workload, unit in (("bulk", "rows/s"), ("single", "inserts/s")):
        base = results[workload]["plain"]
        for name, _, _ in VARIANTS:
            value = results[workload][name]
            print(f"  {workload:6} {name:20} {value:12.0f} {unit:9}  ratio to plain {value / base:.3f}")
    print(f"  rows of bench_tagged carrying the session: {tagged} of {total}")
    conn.close()
    subprocess.run(["dropdb", args.dbname], check=True)


if __name__ == "__main__":
    main()
