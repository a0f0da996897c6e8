#!/usr/bin/env python3
"""The Citus suite (run by test/t_citus.sh): a coordinator and two workers on 127.0.0.1.

test/citus_schema.sql is loaded in several layouts (all distributed, all reference, all
Citus local, a mix, reference tables whose placements differ physically). Every cleanup
(session A, every session) runs on Citus and on the same schema in a plain PostgreSQL
database (the oracle); the results must be equal, and so must the rows of every placement
of every shard, read on the node that holds it. Also: skip_fk_checks refuses, a worker
refuses, a keyless Citus table refuses, rules registered before a table was distributed
keep working, and concurrent cleanups of different sessions all finish.

usage: citus_test.py COORDINATOR_PORT WORKER_PORT WORKER_PORT
"""
import json
import os
import sys
import threading

import psycopg2

HOST = "127.0.0.1"
COORDINATOR, WORKERS = int(sys.argv[1]), [int(p) for p in sys.argv[2:4]]
DB = "citus_app"
SCHEMA = open(os.path.join(os.path.dirname(__file__), "citus_schema.sql")).read()
A = "test_session_1640995200_abc12345"
B, C, D = "test_session_1640995300_def67890", "test_session_1640995400_00000003", \
    "test_session_1640995500_00000004"

# Owners before dependents: Citus distributes a table after the tables its keys point at.
USER_TREE = ["users", "user_profiles", "user_sessions", "user_balances", "searchables",
             "invoices", "payments", "ratings", "media_uploads", "invoice_notes",
             "payment_records", "withdrawals", "posts"]
TABLES = ["plans"] + USER_TREE + ["files", "metrics"]
# A column of each table that is in no key, for updates that move rows.
PLAIN_COLUMNS = {"plans": "name", "users": "email", "user_profiles": "bio", "user_sessions": "token",
                 "user_balances": "amount", "searchables": "title", "invoices": "amount",
                 "payments": "amount", "ratings": "score", "media_uploads": "path",
                 "invoice_notes": "note", "payment_records": "reference", "withdrawals": "amount",
                 "posts": "body", "files": "name", "metrics": "name"}
# users.plan_id -> plans ON DELETE SET NULL: where Citus allows it (not between two
# distributed tables that are not co-located).
PLAN_KEY = "ALTER TABLE users ADD FOREIGN KEY (plan_id) REFERENCES plans ON DELETE SET NULL"


def distribute(table, colocate=True):
    column = {"users": "id", "plans": "id", "files": "file_id", "metrics": "id"}.get(table, "user_id")
    with_users = table in USER_TREE and table != "users" and colocate
    return (f"SELECT create_distributed_table('{table}', '{column}'"
            + (", colocate_with => 'users')" if with_users else ")"))


def reference(table):
    return f"SELECT create_reference_table('{table}')"


def local(table):
    return f"SELECT citus_add_local_table_to_metadata('{table}', cascade_via_foreign_keys => true)"


# layout: (statements that make the tables Citus tables, whether users -> plans is a key,
# whether the rules are registered before the tables become Citus tables)
LAYOUTS = {
    "distributed": ([distribute(t) for t in TABLES], False, True),
    "reference": ([reference(t) for t in TABLES], True, False),
    "local": ([local(t) for t in ("plans", "users", "media_uploads", "payment_records", "files",
                                  "metrics")], True, True),
    "mixed": ([reference("plans")] + [distribute(t) for t in USER_TREE]
              + [reference("files"), local("metrics")], True, False),
    "placements_differ": ([reference(t) for t in TABLES], True, False),
}

failed = 0


def report(ok, description, detail=""):
    global failed
    print(("ok - " if ok else "not ok - ") + description)
    if not ok:
        failed += 1
        for line in detail.splitlines()[:6]:
            print("    " + (line if len(line) < 400 else line[:400] + " ..."))


def connect(port, dbname=DB):
    conn = psycopg2.connect(host=HOST, port=port, user="postgres", dbname=dbname)
    conn.autocommit = True
    return conn


def run(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def cleanup(conn, session, skip_fk=False, dry_run=False):
    """The cleanup's result, or the error's message."""
    with conn.cursor() as cur:
        cur.execute("SET test_cleanup.skip_fk_checks = " + ("on" if skip_fk else "off"))
        try:
            cur.execute("SELECT test_cleanup(%s, %s)", (session, dry_run))
            return cur.fetchone()[0]
        except psycopg2.Error as error:
            return "ERROR " + error.pgerror.strip().splitlines()[0]


def rows(conn, relation):
    return sorted(r[0] for r in run(conn, f"SELECT to_jsonb(t)::text FROM {relation} t"))


def all_rows(conn):
    return {t: rows(conn, t) for t in TABLES}


def fresh_database(port, citus, name=DB):
    admin = connect(port, "postgres")
    run(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    run(admin, f"CREATE DATABASE {name}")
    admin.close()
    conn = connect(port, name)
    if citus:
        run(conn, "CREATE EXTENSION citus")
    return conn


def citus_cluster():
    """A fresh Citus database on every node; the coordinator's connection."""
    for port in WORKERS:
        fresh_database(port, True).close()
    conn = fresh_database(COORDINATOR, True)
    run(conn, "SELECT citus_set_coordinator_host(%s, %s)", (HOST, COORDINATOR))
    for port in WORKERS:
        run(conn, "SELECT citus_add_node(%s, %s)", (HOST, port))
    return conn


def install(conn, layout, citus):
    statements, plan_key, register_first = LAYOUTS[layout]
    run(conn, "CREATE EXTENSION test_cleanup")
    run(conn, run(conn, "SELECT format('ALTER DATABASE %I SET test_cleanup.enabled = on', "
                        "current_database())")[0][0])
    run(conn, "SET test_cleanup.enabled = on")
    run(conn, SCHEMA)
    if register_first:
        run(conn, "SELECT citus_register()")
        # Plans this backend caches now are for plain tables: the conversions below must
        # make it plan again (the cleanups run on this connection).
        run(conn, "SELECT count(*) FROM test_cleanup.explain()")
    if citus:
        for statement in statements:
            run(conn, statement)
    if plan_key:  # after the conversion: Citus checks keys between tables of different kinds
        run(conn, PLAN_KEY)
    if not register_first:
        run(conn, "SELECT citus_register()")


def load(conn, layout, citus):
    run(conn, "TRUNCATE " + ", ".join(TABLES))
    for (statement,) in run(conn, "SELECT citus_data_statements()"):
        run(conn, statement)
    if citus and layout == "placements_differ":
        # Updates move every row on every placement; VACUUM FULL on one worker compacts its
        # placements only: the same rows now sit at other addresses there.
        for table, column in PLAIN_COLUMNS.items():
            run(conn, f"UPDATE {table} SET {column} = {column}")
        worker = connect(WORKERS[1])
        for (shard,) in run(conn, "SELECT shard_name FROM citus_shards WHERE nodeport = %s",
                            (WORKERS[1],)):
            run(worker, f"VACUUM FULL {shard}")
        worker.close()


def placements(conn):
    """(table, kind, shard, port) of every placement of every shard of the tables."""
    return run(conn, """
        SELECT s.table_name::text, s.citus_table_type, s.shard_name, s.nodeport
          FROM citus_shards s ORDER BY 1, 3, 4""")


def citus_local_placements(conn):
    return run(conn, """
        SELECT p.logicalrelid::text, 'local', shard_name(p.logicalrelid, s.shardid), n.nodeport
          FROM pg_dist_partition p JOIN pg_dist_shard s USING (logicalrelid)
          JOIN pg_dist_placement pl USING (shardid) JOIN pg_dist_node n USING (groupid)
         WHERE p.partmethod = 'n' AND p.colocationid = 0""")


def check_placements(conn, expected, description):
    """Every placement read on its own node holds exactly the rows the oracle kept."""
    found = {}  # table -> rows over all shards (distributed), per placement otherwise
    problems = []
    nodes = {}
    for table, kind, shard, port in placements(conn) + citus_local_placements(conn):
        if table not in expected:
            continue
        node = nodes.setdefault(port, connect(port))
        held = rows(node, shard)
        if kind == "distributed":
            found.setdefault(table, []).extend(held)
        elif held != expected[table]:
            problems.append(f"{kind} placement {shard} on port {port}: {held} != {expected[table]}")
        else:
            found.setdefault(table, expected[table])
    for table, held in found.items():
        if sorted(held) != expected[table]:
            problems.append(f"shards of {table}: {sorted(held)} != {expected[table]}")
    for node in nodes.values():
        node.close()
    missing = set(expected) - set(found)
    if missing:
        problems.append(f"tables without a placement: {sorted(missing)}")
    report(not problems, description + ": every placement of every shard holds exactly the "
           "oracle's rows", "\n".join(problems[:5]))


def compare(layout, coordinator, oracle, session, label):
    load(coordinator, layout, True)
    load(oracle, layout, False)
    before = all_rows(coordinator)
    refused = cleanup(coordinator, session, skip_fk=True)
    report(str(refused).startswith("ERROR") and "skip_fk_checks" in refused
           and all_rows(coordinator) == before,
           f"{layout}, {label}, skip_fk_checks: refused clearly, nothing deleted", str(refused))
    listed = "SELECT test_session_id, marked_rows FROM test_cleanup.sessions() ORDER BY 1"
    sessions, expected_sessions = run(coordinator, listed), run(oracle, listed)
    report(sessions == expected_sessions and len(sessions) > 1,
           f"{layout}, {label}: sessions() lists what plain PostgreSQL's lists",
           f"citus:  {sessions}\noracle: {expected_sessions}")
    expected_result = cleanup(oracle, session)
    dry = cleanup(coordinator, session, dry_run=True)
    report(isinstance(dry, dict) and dry.pop("dry_run") is True and dry.pop("warnings") == []
           and dry == expected_result and all_rows(coordinator) == before,
           f"{layout}, {label}: a dry run counts what plain PostgreSQL deletes and changes nothing",
           f"citus:  {dry}\noracle: {expected_result}")
    result = cleanup(coordinator, session)
    report(result == expected_result and not str(result).startswith("ERROR"),
           f"{layout}, {label}: the result equals plain PostgreSQL's",
           f"citus:  {result}\noracle: {expected_result}")
    expected = all_rows(oracle)
    report(all_rows(coordinator) == expected,
           f"{layout}, {label}: the coordinator sees the rows plain PostgreSQL kept")
    left = run(coordinator, "SELECT * FROM test_cleanup.verify(%s)", (session,))
    report(left == [], f"{layout}, {label}: verify() finds nothing left", left)
    check_placements(coordinator, expected, f"{layout}, {label}")


def concurrent(layout, coordinator, oracle):
    load(coordinator, layout, True)
    load(oracle, layout, False)
    sessions = [B, C, D]
    results, errors = {}, []

    def clean(session):
        conn = connect(COORDINATOR)
        results[session] = cleanup(conn, session)
        conn.close()

    threads = [threading.Thread(target=clean, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for session in sessions:
        expected = cleanup(oracle, session)
        if results.get(session) != expected:
            errors.append(f"{session}: {results.get(session)} != {expected}")
    report(not errors, f"{layout}: three concurrent cleanups of different sessions: no error, "
           "no deadlock, each result as plain PostgreSQL's", "\n".join(errors))
    expected = all_rows(oracle)
    report(all_rows(coordinator) == expected,
           f"{layout}: after the concurrent cleanups the rows are plain PostgreSQL's")
    check_placements(coordinator, expected, f"{layout}, concurrent cleanups")


def keyless(coordinator):
    run(coordinator, "CREATE TABLE user_notes (user_id bigint NOT NULL, note text)")
    run(coordinator, "SELECT create_reference_table('user_notes')")
    run(coordinator, "INSERT INTO user_notes VALUES (101, 'a'), (1, 'prod')")
    run(coordinator, "SELECT test_cleanup.add_link('user_notes', '{user_id}', 'users', '{id}')")
    before = all_rows(coordinator)
    result = cleanup(coordinator, A)
    report("Citus table \"public.user_notes\" has no primary key" in str(result)
           and all_rows(coordinator) == before and len(rows(coordinator, "user_notes")) == 2,
           "a Citus table without a key: refused with its name, nothing deleted", str(result))
    run(coordinator, "SELECT test_cleanup.remove_rules('user_notes')")
    run(coordinator, "DROP TABLE user_notes")


def on_worker():
    worker = connect(WORKERS[0])
    run(worker, "SET test_cleanup.enabled = on")
    result = cleanup(worker, A)
    report("this node is a Citus worker" in str(result),
           "a cleanup called on a worker refuses and names the coordinator", str(result))
    worker.close()


def main():
    for layout in LAYOUTS:
        coordinator = citus_cluster()
        oracle = fresh_database(COORDINATOR, False, DB + "_oracle")
        try:
            install(coordinator, layout, True)
            install(oracle, layout, False)
            compare(layout, coordinator, oracle, A, "session A")
            compare(layout, coordinator, oracle, None, "every session")
            if layout in ("distributed", "mixed"):
                concurrent(layout, coordinator, oracle)
            if layout == "reference":
                keyless(coordinator)
            if layout == "distributed":
                on_worker()
        except psycopg2.Error as error:
            report(False, f"{layout}: the layout loads and runs", str(error))
        coordinator.close()
        oracle.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
