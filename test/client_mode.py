#!/usr/bin/python3
"""The regression scenarios in client mode: the same rows and counts as extension mode.

Two databases hold the same schema and data: one with the extension (cleaned by SELECT
test_cleanup()), one where the extension is not installed, owned by a role that is not a
superuser, with client mode installed (cleaned by test_cleanup_client as that role). For
each pg_regress file below, its setup (everything before its first cleanup) runs in both
through psql, as each database's role; then each listed session is cleaned in both, first
as a dry run, then for real. After every cleanup the results (or the errors: SQLSTATE,
message, detail, hint) and every table's rows must be equal. A few scenarios of the
client's own follow the same way (protected tables, rows named by physical address).

  client_mode.py --client PATH --extension-db DB --client-db DB --owner ROLE

Prints one TAP line per scenario.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import psycopg2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_SESSION = "test_session_1640995200_abc12345"

# pg_regress file: the sessions to clean after its setup (None: every session), in order,
# and what undoes the setup where later scenarios would trip over it.
REGRESS_SCENARIOS = [
    ("reference", [REFERENCE_SESSION, None]),
    ("atomicity", [None], "DROP TRIGGER withdrawals_busy ON withdrawals"),
    ("composite", ["comp_s1", None]),
    ("collations", ["co_s1", None]),
    ("cycles", ["cyc_s1", None]),
    ("hostile", ["x'; DELETE FROM users; --", "测试_セッション_🧪", REFERENCE_SESSION]),
    ("listed", ["s1", None]),
    ("partitions", ["pt_s1", None]),
    ("rules", ["rl_s1", None]),
    ("triggers", ["tr_s1", "tr_s2", None]),
]

# Scenarios of the client's own: (name, setup SQL, sessions, teardown SQL, outcomes that
# must occur). Each starts from the reference schema's rules and data.
REFERENCE = "SELECT reference_unregister(); SELECT reference_register(); SELECT reference_data_load();"
CTID_TABLES = """
    CREATE TABLE cm_notes (user_id bigint REFERENCES users ON DELETE CASCADE, body text);
    INSERT INTO cm_notes VALUES (101, 'a'), (101, 'b'), (1, 'c');
    CREATE TABLE cm_tags (user_id bigint REFERENCES users ON DELETE CASCADE, tag text);
    INSERT INTO cm_tags VALUES (101, 'x'), (2, 'y');"""
OWN_SCENARIOS = [
    ("a protected table: the dry run warns, the cleanup refuses",
     REFERENCE + "SELECT test_cleanup.protect('invoices');",
     [REFERENCE_SESSION], "SELECT test_cleanup.unprotect('invoices');", {"result", "error"}),
    ("tables without a key (rows named by ctid)",
     REFERENCE + CTID_TABLES, [REFERENCE_SESSION, None], "DROP TABLE cm_notes, cm_tags;", {"result"}),
    ("a trigger that moves doomed rows named by ctid while they are deleted: refused",
     REFERENCE + CTID_TABLES + """
        CREATE FUNCTION cm_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE cm_notes SET body = body || '!' WHERE user_id = OLD.user_id AND body <> OLD.body;
            RETURN OLD;
        END $$;
        CREATE TRIGGER cm_touch BEFORE DELETE ON cm_notes FOR EACH ROW EXECUTE FUNCTION cm_touch();""",
     [REFERENCE_SESSION], "DROP TABLE cm_notes, cm_tags; DROP FUNCTION cm_touch();", {"error"}),
    ("a check constraint refuses a SET NULL: the error names the stage, the table and the constraint",
     REFERENCE + """
        CREATE TABLE cm_holds (id int PRIMARY KEY,
                               user_id bigint CONSTRAINT cm_holds_user_required CHECK (user_id IS NOT NULL)
                                   REFERENCES users ON DELETE SET NULL);
        INSERT INTO cm_holds VALUES (1, 101);""",
     [REFERENCE_SESSION, None], "DROP TABLE cm_holds;", {"error"}),
]


def setup_of(name):
    """The pg_regress file's statements before its first cleanup, without the prelude."""
    lines = open(os.path.join(REPO, "sql", name + ".sql"), encoding="utf-8").read().split("\n")
    first = next(i for i, line in enumerate(lines)
                 if re.search(r"(?<![.\w])test_cleanup\(|test_cleanup\.explain\(", line)
                 and not line.lstrip().startswith("--"))
    # Back to the start of that statement.
    while first > 0 and lines[first - 1].strip() and not lines[first - 1].rstrip().endswith(";") \
            and not lines[first - 1].lstrip().startswith("--"):
        first -= 1
    return "\n".join(line for line in lines[:first] if "regress_prelude.sql" not in line)


def psql(dsn, sql):
    run = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn],
                         input=sql, capture_output=True, text=True, cwd=REPO)
    if run.returncode != 0:
        raise RuntimeError(f"psql on {dsn} failed: {run.stderr.strip()}")


def error_text(sqlstate, message, detail, hint):
    return f"{sqlstate}: {message}\nDETAIL: {detail or ''}\nHINT: {hint or ''}"


class Modes:
    def __init__(self, args):
        self.client, self.owner = args.client, args.owner
        self.ext_dsn = f"dbname={args.extension_db}"
        self.client_dsn = f"dbname={args.client_db} user={args.owner}"
        self.ext = psycopg2.connect(self.ext_dsn)
        self.ext.autocommit = True
        self.mine = psycopg2.connect(self.client_dsn)
        self.mine.autocommit = True

    def setup(self, sql):
        psql(self.ext_dsn, sql)
        psql(self.client_dsn, sql)

    def clean_extension(self, session, dry_run):
        try:
            with self.ext.cursor() as cur:
                cur.execute("SELECT test_cleanup(%s, %s)", (session, dry_run))
                return cur.fetchone()[0]
        except psycopg2.Error as e:
            return error_text(e.pgcode, e.diag.message_primary, e.diag.message_detail, e.diag.message_hint)

    def clean_client(self, session, dry_run):
        command = [self.client, "--db", self.client_dsn] + \
            (["--session", session] if session is not None else []) + (["--dry-run"] if dry_run else [])
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode == 0:
            return json.loads(run.stdout)
        fields = {"ERROR": "", "DETAIL": "", "HINT": "", "SQLSTATE": ""}
        current = None
        for line in run.stderr.split("\n"):
            m = re.match(r"^(ERROR|DETAIL|HINT|SQLSTATE):  (.*)$", line)
            if m:
                current = m.group(1)
                fields[current] = m.group(2)
            elif current == "DETAIL" and line:
                fields["DETAIL"] += "\n" + line
        return error_text(fields["SQLSTATE"], fields["ERROR"], fields["DETAIL"], fields["HINT"])

    @staticmethod
    def contents(conn):
        """Every user table's rows, as sorted JSON texts."""
        with conn.cursor() as cur:
            cur.execute("""SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                             JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                              AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'test_cleanup')
                              AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast%%'
                            ORDER BY 1""")
            tables = [r[0] for r in cur.fetchall()]
            rows = {}
            for table in tables:
                cur.execute(f"SELECT coalesce(array_agg(to_jsonb(x)::text ORDER BY to_jsonb(x)::text), '{{}}') "
                            f"FROM {table} x")
                rows[table] = cur.fetchone()[0]
            return rows

    def compare(self, session, dry_run):
        """Problems found after cleaning `session` in both databases."""
        want, got = self.clean_extension(session, dry_run), self.clean_client(session, dry_run)
        label = f"{'dry run' if dry_run else 'cleanup'} of {session if session is not None else 'every session'}"
        problems = []
        if want != got:
            problems.append(f"{label}: the extension gave {want!r}, the client {got!r}")
        mine, theirs = self.contents(self.mine), self.contents(self.ext)
        for table in sorted(set(mine) | set(theirs)):
            if mine.get(table) != theirs.get(table):
                problems.append(f"{label}: table {table}: the extension left {theirs.get(table)}, "
                                f"the client {mine.get(table)}")
        return problems, want


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", required=True)
    parser.add_argument("--extension-db", required=True)
    parser.add_argument("--client-db", required=True)
    parser.add_argument("--owner", required=True)
    args = parser.parse_args()
    modes = Modes(args)
    failed = False
    scenarios = [(f"pg_regress scenario {name}", setup_of(name), sessions, teardown[0] if teardown else "", set())
                 for name, sessions, *teardown in REGRESS_SCENARIOS] + OWN_SCENARIOS
    for name, setup, sessions, teardown, expected in scenarios:
        problems, outcomes = [], set()
        try:
            modes.setup(setup)
            for session in sessions:
                for dry_run in (True, False):
                    found, outcome = modes.compare(session, dry_run)
                    problems += found
                    outcomes.add("error" if isinstance(outcome, str) else "result")
            if teardown:
                modes.setup(teardown)
        except RuntimeError as e:
            problems.append(str(e))
        if not expected <= outcomes:
            problems.append(f"expected {sorted(expected)} among the outcomes, got {sorted(outcomes)}")
        print(f"{'not ok' if problems else 'ok'} - client mode as extension mode: {name} "
              f"({len(sessions)} session(s), {' and '.join(sorted(outcomes)) or 'nothing'} compared)")
        for problem in problems[:4]:
            print("#   " + problem.replace("\n", "\n#   "))
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
