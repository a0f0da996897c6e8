#!/usr/bin/python3
"""The per-backend catalog and plan cache never serves a stale plan.

Connection A cleans (and so caches), connection B changes what the plan depends on, and A
cleans again: every change must show in A's next result. Covers foreign keys added and
dropped, rules added and removed (plain DML on the rule tables, which PostgreSQL does not
broadcast), report keys, renamed tables and schemas, a new primary key, a rule added and
rolled back in A's own transaction, and DDL in A's own transaction. Prints TAP lines."""

import sys

import psycopg2

failed = False


def check(description, expected, actual):
    global failed
    if expected == actual:
        print(f"ok - plan cache: {description}")
    else:
        failed = True
        print(f"not ok - plan cache: {description}\n    expected: {expected!r}\n    actual:   {actual!r}")


def connect(dbname):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    return conn


def run(conn, sql, params=None):
    cur = conn.cursor()
    cur.execute(sql, params)
    return cur.fetchall() if cur.description else None


def load(b, sessions):
    run(b, "TRUNCATE pc_parents, pc_children")
    for i, s in enumerate(sessions, start=1):
        run(b, "INSERT INTO pc_parents VALUES (%s, jsonb_build_object('test_marker', 'integration_test_data', "
               "'test_session_id', %s::text))", (i, s))
        run(b, "INSERT INTO pc_children VALUES (%s, %s)", (i, i))


def clean(a, session):
    try:
        return run(a, "SELECT test_cleanup(%s) -> 'deleted_counts'", (session,))[0][0]
    except psycopg2.Error as e:
        return f"failed: {e.pgerror}"


def main():
    dbname = sys.argv[1]
    a, b = connect(dbname), connect(dbname)
    run(b, "CREATE TABLE pc_parents (id int PRIMARY KEY, meta jsonb)")
    run(b, "CREATE TABLE pc_children (id int PRIMARY KEY, parent_id int)")  # no key yet
    run(b, "SELECT test_cleanup.add_root('pc_parents', 'meta')")

    load(b, ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"])
    check("first cleanup: no link, children stay", {"pc_parents": 1}, clean(a, "s1"))

    run(b, "SELECT test_cleanup.add_link('pc_children', '{parent_id}', 'pc_parents', '{id}')")
    check("a link registered by another backend is followed",
          {"pc_parents": 1, "pc_children": 1}, clean(a, "s2"))

    run(b, "SELECT test_cleanup.set_report_key('pc_children', 'kids')")
    check("a report key set by another backend is used", {"pc_parents": 1, "kids": 1}, clean(a, "s3"))

    run(b, "SELECT test_cleanup.remove_rules('pc_children')")
    run(b, "DELETE FROM pc_children WHERE parent_id NOT IN (SELECT id FROM pc_parents)")
    run(b, "ALTER TABLE pc_children ADD FOREIGN KEY (parent_id) REFERENCES pc_parents")  # NO ACTION
    check("a foreign key added by another backend dooms the children (else the delete fails)",
          {"pc_parents": 1, "pc_children": 1}, clean(a, "s4"))

    run(b, "ALTER TABLE pc_children RENAME TO pc_kids")
    check("a table renamed by another backend is named anew", {"pc_parents": 1, "pc_kids": 1}, clean(a, "s5"))
    run(b, "ALTER TABLE pc_kids RENAME TO pc_children")

    run(b, "ALTER TABLE pc_children DROP CONSTRAINT pc_children_parent_id_fkey")
    check("a foreign key dropped by another backend is no longer followed", {"pc_parents": 1}, clean(a, "s6"))

    # A's own transaction: a rule added and rolled back must not stay in A's cache.
    run(a, "BEGIN")
    run(a, "SELECT test_cleanup.add_link('pc_children', '{parent_id}', 'pc_parents', '{id}')")
    got = run(a, "SELECT test_cleanup('no_such_session') -> 'deleted_counts' ? 'pc_children'")[0][0]
    run(a, "ROLLBACK")
    check("a link inside A's transaction is seen there", True, got)
    check("the same link rolled back is gone from A's cache", {"pc_parents": 1}, clean(a, "s7"))

    # DDL in A's own transaction, then a cleanup in the same transaction.
    run(b, "DELETE FROM pc_children WHERE parent_id NOT IN (SELECT id FROM pc_parents)")
    run(a, "BEGIN")
    run(a, "ALTER TABLE pc_children ADD FOREIGN KEY (parent_id) REFERENCES pc_parents ON DELETE RESTRICT")
    got = run(a, "SELECT test_cleanup('s8') -> 'deleted_counts'")[0][0]
    run(a, "ROLLBACK")
    check("a foreign key added earlier in A's own transaction is followed",
          {"pc_parents": 1, "pc_children": 1}, got)

    run(b, "SELECT test_cleanup.remove_rules(t) FROM unnest('{pc_parents,pc_children}'::regclass[]) t")
    run(b, "DROP TABLE pc_children, pc_parents")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
