#!/usr/bin/env python3
"""test_cleanup on Citus against test_cleanup on plain PostgreSQL, side by side.

test/citus_schema.sql at scale, in the layouts of test/citus_test.py: every table
distributed (co-located by user), every table a reference table, and the mix. The same
rows go into a plain database on the coordinator's server (the baseline). Each scenario
(one session of 1 % of the users, every session: 10 %) runs --runs times on freshly loaded
data; the medians and the ratio Citus / plain are printed.

usage: citus.py COORDINATOR_PORT WORKER_PORT WORKER_PORT [--users N] [--runs R]
(bench/citus.sh builds Citus, starts the nodes and calls this.)
"""
import argparse
import os
import statistics
import sys
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test"))

parser = argparse.ArgumentParser()
parser.add_argument("ports", type=int, nargs=3)
parser.add_argument("--users", type=int, default=20000)
parser.add_argument("--runs", type=int, default=3)
args = parser.parse_args()
sys.argv = [sys.argv[0]] + [str(p) for p in args.ports]  # what citus_test reads
import citus_test as ct  # noqa: E402  (the layouts and the cluster set-up)

SESSION = "bench_session_1"
# Users 1..N; every tenth is test data, in ten sessions (session 1 holds 1 % of the users).
DATA = """
INSERT INTO plans VALUES (1, 'free', NULL), (2, 'test plan', NULL);
INSERT INTO users SELECT g, 'u' || g || '@example.com', 1 + (g % 2),
       CASE WHEN g % 10 = 0 THEN citus_metadata('bench_session_' || (g / 10 % 10 + 1), 'user') END
  FROM generate_series(1, {n}) g;
INSERT INTO user_profiles SELECT g, g, 'bio' FROM generate_series(1, {n}) g;
INSERT INTO user_sessions SELECT g, g, 'tok' || g FROM generate_series(1, {n}) g;
INSERT INTO user_balances SELECT g, 10 FROM generate_series(1, {n}, 2) g;
INSERT INTO searchables SELECT g, s, 'item',
       jsonb_build_object('public', jsonb_build_object('downloadableFiles',
           jsonb_build_array(jsonb_build_object('fileId', 'f' || g || '-' || s))))
  FROM generate_series(1, {n}) g, generate_series(1, 2) s;
INSERT INTO files SELECT 'f' || g || '-' || s, 'file' FROM generate_series(1, {n}) g, generate_series(1, 2) s;
INSERT INTO invoices SELECT g, 1, 1 + (g * 7919) % {n}, 1, 5 FROM generate_series(1, {n}) g;
INSERT INTO payments SELECT g, 1, 1, 5 FROM generate_series(1, {n}) g;
INSERT INTO ratings SELECT g, 1, 2, 4 FROM generate_series(1, {n}) g;
INSERT INTO media_uploads SELECT g, 1, 1, '/m' FROM generate_series(1, {n}) g;
INSERT INTO invoice_notes SELECT g, 1, 1, 'n' FROM generate_series(1, {n}) g;
INSERT INTO payment_records SELECT g, 1, 1, 'r' FROM generate_series(1, {n}) g;
INSERT INTO withdrawals SELECT g, 1, 1, 1 FROM generate_series(1, {n}) g;
INSERT INTO posts SELECT g, p, CASE WHEN p > 1 THEN p - 1 END, 'post', NULL
  FROM generate_series(1, {n}) g, generate_series(1, 4) p;
INSERT INTO metrics SELECT g, 'm', CASE WHEN g % 10 = 0 THEN citus_metadata('bench_session_1', 'metric') END, NULL
  FROM generate_series(1, {n}) g;
ANALYZE;
"""


def load(conn):
    ct.run(conn, "TRUNCATE " + ", ".join(ct.TABLES))
    ct.run(conn, DATA.format(n=args.users))


def timed(conn, sql, params=None):
    started = time.perf_counter()
    ct.run(conn, sql, params)
    return time.perf_counter() - started


def measure(conn, session):
    times = []
    for _ in range(args.runs):
        load(conn)
        times.append(timed(conn, "SELECT test_cleanup(%s)", (session,)))
    return statistics.median(times)


def main():
    print(f"# {args.users} users, {args.runs} runs per median, ports {args.ports}")
    print("| layout | scenario | Citus | plain PostgreSQL | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for layout in ("distributed", "reference", "mixed"):
        citus = ct.citus_cluster()
        plain = ct.fresh_database(ct.COORDINATOR, False, ct.DB + "_plain")
        for conn, on_citus in ((citus, True), (plain, False)):
            ct.install(conn, layout, on_citus)
            # The schema's second listed link (metrics -> files by name) takes plain
            # PostgreSQL's per-key survivor check, minutes at this size without a GIN index:
            # a baseline that slow would say nothing about Citus.
            ct.run(conn, "DELETE FROM test_cleanup.listed_link WHERE owner = 'metrics'::regclass")
        for label, session in (("one session (1 %)", SESSION), ("every session (10 %)", None)):
            on_citus, on_plain = measure(citus, session), measure(plain, session)
            print(f"| {layout} | {label} | {on_citus * 1000:.0f} ms | {on_plain * 1000:.0f} ms "
                  f"| {on_citus / on_plain:.2f} |", flush=True)
        citus.close()
        plain.close()


if __name__ == "__main__":
    main()
