#!/usr/bin/python3
"""Does a cleanup's cost follow the work or the schema? Times a no-op cleanup (a session
that does not exist) and a tiny session (the reference schema's session A: 2 users and
their dependents) on the reference schema (14 tables) and on the same schema with
--extra-tables more tables hanging off it by foreign keys (chains of 3: CASCADE, NO
ACTION, RESTRICT, SET NULL mixed), one of every --root-every chains (0: none) starting
at a root table of its own, the others at users. Each cleanup runs in a transaction that is rolled back, so every run sees the
same rows. Prints medians and the wide/narrow ratio.

  bench/graph_size.py [--extra-tables 1356] [--root-every 10] [--runs 15]

Needs a running server with the extension installed (PG* settings, as test/cluster.sh env
prints them)."""

import argparse
import statistics
import subprocess
import time

import psycopg2

import reference_db

SESSION_A = "test_session_1640995200_abc12345"
ACTIONS = ["CASCADE", "NO ACTION", "RESTRICT", "SET NULL"]


def make_db(name, extra_tables, root_every=10):
    conn = reference_db.create(name)
    cur = conn.cursor()
    for chain in range(extra_tables // 3):
        parent = "users"
        if root_every and chain % root_every == 0:  # a root of its own, one marked row of session A
            parent = f"w_root_{chain}"
            cur.execute(f"CREATE TABLE {parent} (id bigint PRIMARY KEY, meta jsonb)")
            cur.execute(f"INSERT INTO {parent} VALUES (1, NULL), (2, reference_metadata(%s, 'x'))", (SESSION_A,))
            cur.execute("SELECT test_cleanup.add_root(%s, 'meta')", (parent,))
        for depth in range(2 if parent != "users" else 3):
            table = f"w_{chain}_{depth}"
            action = ACTIONS[(chain + depth) % len(ACTIONS)]
            cur.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, "
                        f"owner_id bigint REFERENCES {parent} ON DELETE {action})")
            cur.execute(f"CREATE INDEX ON {table} (owner_id)")
            cur.execute(f"INSERT INTO {table} VALUES (1, 1), (2, 2)")
            parent = table
    cur.execute("ANALYZE")
    cur.execute("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
    tables = cur.fetchone()[0]
    conn.close()
    return tables


def median_ms(dbname, session, runs):
    conn = psycopg2.connect(dbname=dbname)
    cur = conn.cursor()
    cur.execute("SELECT test_cleanup(%s)", ("warm_up",))
    conn.rollback()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        cur.execute("SELECT test_cleanup(%s)", (session,))
        times.append((time.perf_counter() - start) * 1000)
        conn.rollback()
    cur.execute("SELECT count(*) FROM test_cleanup.explain(%s)", (session,))
    steps = cur.fetchone()[0]
    conn.close()
    return statistics.median(times), steps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra-tables", type=int, default=1356)
    parser.add_argument("--root-every", type=int, default=10)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    narrow = make_db("tc_graph_narrow", 0)
    wide = make_db("tc_graph_wide", args.extra_tables, args.root_every)
    roots = 3 + (len(range(0, args.extra_tables // 3, args.root_every)) if args.root_every else 0)
    print(f"root tables on the wide graph: {roots}")
    print(f"| scenario | {narrow} tables | {wide} tables | ratio |")
    print("| --- | --- | --- | --- |")
    for label, session in (("no-op (unknown session)", "no_such_session"), ("tiny session (A)", SESSION_A)):
        n_ms, n_steps = median_ms("tc_graph_narrow", session, args.runs)
        w_ms, w_steps = median_ms("tc_graph_wide", session, args.runs)
        print(f"| {label} | {n_ms:.1f} ms ({n_steps} steps planned) | {w_ms:.1f} ms ({w_steps} steps planned) "
              f"| {w_ms / n_ms:.2f} |")
    for name in ("tc_graph_narrow", "tc_graph_wide"):
        subprocess.run(["dropdb", name], check=True)


if __name__ == "__main__":
    main()
