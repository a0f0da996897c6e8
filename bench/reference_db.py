"""A fresh database holding the reference schema (test/reference_schema.sql) with its rows
and rules, the extension installed and its gate open: what the benchmarks start from."""

import os
import subprocess

import psycopg2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create(name):
    """(Re)creates database `name`; returns an autocommit connection to it."""
    subprocess.run(["dropdb", "--if-exists", name], check=True, capture_output=True)
    subprocess.run(["createdb", name], check=True)
    conn = psycopg2.connect(dbname=name)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION test_cleanup")
    cur.execute(f"ALTER DATABASE {name} SET test_cleanup.enabled = on")
    with open(os.path.join(REPO, "test", "reference_schema.sql")) as f:
        cur.execute(f.read())
    cur.execute("SELECT reference_data_load()")
    return conn
