#!/usr/bin/python3
"""Randomized differential testing of test_cleanup against PostgreSQL's own cascade.

For each case a seeded generator builds a random schema (chains, diamonds,
self-references, cycles, composite keys, several foreign keys between the same tables,
CASCADE / NO ACTION / RESTRICT / SET NULL mixed, a quoted schema and quoted names) and
random data with marked roots in several sessions. The same data goes into two schemas:

  subject  the original foreign keys; test_cleanup(session) cleans it
  oracle   every deleting foreign key redeclared ON DELETE CASCADE (SET NULL kept);
           the marked roots are deleted with plain DELETEs, so PostgreSQL decides what goes

Both must end with the same rows, column for column, and test_cleanup's counts must equal
the rows the oracle lost. Links without a foreign key and listed links get their own
oracle: their rules stated directly in SQL (a dependent goes with its owner; a listed row
goes when an owner that listed it went and no remaining owner lists it), repeated to a
fixed point. A listed link that lands on a cycle is refused by test_cleanup by design:
such cases are counted as undecided.

Both schemas also get the same random user triggers and rules: AFTER DELETE triggers on a
referencing table that update ("touch") the referenced row, doomed or surviving, so rows
move before the cleanup deletes them; and DO ALSO rules that archive deleted rows. The
touch counters and the archives are compared too. A rule table on a cycle is refused by
design (undecided). Some tables are hash-partitioned by id (two partitions), in both
schemas, so foreign keys, links and triggers reach partitioned tables from both ends.

With --citus (on a Citus coordinator) every subject table is keyed by (tenant, id) and
made a distributed table (by tenant, co-located; its foreign keys include tenant) or a
reference table; no triggers, rules, partitions or SET NULL there (see README, Citus).

With --client PATH the cleanups run through test_cleanup_client (client mode, for managed
PostgreSQL) instead of SELECT test_cleanup(): connect as the role that owns the tables in a
database where the extension is not installed (--user). Each case's setup is committed for
the client's own connection to see, and dropped afterwards.

  differential.py [--cases N] [--seed S] [--skip-fk-checks | --citus | --client PATH --user ROLE]
  (defaults: 200 cases, a random seed)

Prints one "ok"/"not ok" line per case group and the seed to reproduce a failure.
"""

import argparse
import json
import random
import subprocess
import sys

import psycopg2

MARKER = "integration_test_data"
SESSIONS = ["dt_s1", "dt_s2"]
ACTIONS = ["CASCADE", "NO ACTION", "RESTRICT", "SET NULL"]


def q(name):
    return '"' + name.replace('"', '""') + '"'


class Case:
    """One random schema with data; emits DDL and DML for a given schema name."""

    def __init__(self, rng, with_links, skip_fk_checks=False, citus=False):
        self.rng = rng
        self.citus = citus
        self.n_tables = rng.randint(2, 6)
        # Some tables are keyed by (tenant, id), the others by id alone. On Citus every
        # table is: distributed tables are distributed by tenant, co-located, and their
        # foreign keys include it (Citus refuses SET NULL on it).
        self.composite = [citus or rng.random() < 0.3 for _ in range(self.n_tables)]
        self.kind = [rng.choice(["distributed", "reference"]) if citus else None
                     for _ in range(self.n_tables)]
        actions = [a for a in ACTIONS if a != "SET NULL"] if citus else ACTIONS
        self.names = [rng.choice(["t", "Tab ", "order", "x\"y", "näme"]) + str(i) for i in range(self.n_tables)]
        self.roots = [i for i in range(self.n_tables) if rng.random() < 0.5] or [0]
        self.fks = []  # (child, parent, action, name)
        for child in range(self.n_tables):
            for _ in range(rng.choice([0, 1, 1, 2])):
                parent = rng.randrange(self.n_tables)  # any direction: cycles and self-references
                action = rng.choice(actions)
                # Citus allows no key from a reference table to a distributed one.
                if self.kind[child] == "reference" and self.kind[parent] == "distributed":
                    continue
                self.fks.append((child, parent, action, f"fk{len(self.fks)}"))
        self.links = []  # (dependent, owner, name): an FK-less "belongs to" via its own column
        if with_links:
            for child in range(self.n_tables):
                if rng.random() < 0.4:
                    self.links.append((child, rng.randrange(self.n_tables), f"lk{len(self.links)}"))
        # Listed links: the owner lists dependent ids in a JSON array at {name} -> 'ids'.
        self.listed = []  # (dependent, owner, name)
        if with_links and rng.random() < 0.6:
            self.listed.append((rng.randrange(self.n_tables), rng.randrange(self.n_tables), "ls0"))
            # Sometimes a second listed link, often into the same table: a row goes only when
            # no surviving owner lists it, through either link.
            if rng.random() < 0.3:
                dependent = self.listed[0][0] if rng.random() < 0.7 else rng.randrange(self.n_tables)
                self.listed.append((dependent, rng.randrange(self.n_tables), "ls1"))
        # Foreign keys whose referencing rows, when deleted, touch the referenced row. Not
        # with skip_fk_checks, which deletes with user triggers off by design.
        # On Citus: no triggers, rules or partitioned reference tables in the subject.
        self.touching = [fk for fk in self.fks if rng.random() < 0.4 and not skip_fk_checks and not citus]
        # Hash-partitioned tables (their primary keys all contain id, the partition key).
        self.partitioned = [t for t in range(self.n_tables) if rng.random() < 0.25 and not citus]
        # Tables whose deleted rows a DO ALSO rule archives (rules, too, do not fire
        # under skip_fk_checks; PostgreSQL allows no rules on partitioned tables).
        self.archived = [t for t in range(self.n_tables)
                         if rng.random() < 0.12 and not skip_fk_checks and not citus and t not in self.partitioned]
        # Half the cases index the lists (GIN): test_cleanup then probes them per key.
        self.listed_gin = bool(self.listed) and rng.random() < 0.5
        self.rows = [self._rows(t) for t in range(self.n_tables)]

    def key_cols(self, t):
        return ["tenant", "id"] if self.composite[t] else ["id"]

    def _rows(self, t):
        rows = []
        for i in range(1, self.rng.randint(3, 14) + 1):
            row = {"id": i}
            if self.composite[t]:
                row["tenant"] = self.rng.choice([1, 2])
            if t in self.roots:
                roll = self.rng.random()
                if roll < 0.35:
                    row["meta"] = {"test_marker": MARKER, "test_session_id": self.rng.choice(SESSIONS)}
                elif roll < 0.45:
                    row["meta"] = {"test_marker": "other_marker", "test_session_id": SESSIONS[0]}
                elif roll < 0.55:
                    row["meta"] = [MARKER]
                else:
                    row["meta"] = None
            rows.append(row)
        # Ids must be unique per key: make (tenant, id) unique by construction.
        return rows

    def fk_cols(self, fk_name, parent):
        return [f"{fk_name}_{c}" for c in self.key_cols(parent)]

    def own_fk_cols(self, fk_name, parent):
        """A foreign key's referencing columns: on Citus the row's own tenant, then its own."""
        return ["tenant", f"{fk_name}_id"] if self.citus else self.fk_cols(fk_name, parent)

    def citus_ddl(self, s):
        """Makes the subject's tables Citus tables, before their foreign keys exist."""
        out, first = [], None
        for t in range(self.n_tables):
            table = f"'{s}.{q(self.names[t])}'"
            if self.kind[t] == "reference":
                out.append(f"SELECT create_reference_table({table});")
            else:
                out.append(f"SELECT create_distributed_table({table}, 'tenant'"
                           + (f", colocate_with => {first});" if first else ");"))
                first = first or table
        return out

    def ddl(self, schema, oracle):
        s = q(schema)
        out = [f"CREATE SCHEMA {s};"]
        for t in range(self.n_tables):
            cols = ["tenant int NOT NULL"] if self.composite[t] else []
            cols.append("id int NOT NULL")
            cols.append("touched int NOT NULL DEFAULT 0")
            if t in self.roots:
                cols.append("meta jsonb")
            for child, parent, _, name in self.fks:
                if child == t:
                    cols += [f"{c} int" for c in self.own_fk_cols(name, parent) if c != "tenant"]
            for child, owner, name in self.links:
                if child == t:
                    cols += [f"{c} int" for c in self.fk_cols(name, owner)]
            for _, owner, name in self.listed:
                if owner == t:
                    cols.append(f"{name} jsonb")
            keys = ", ".join(self.key_cols(t))
            table = f"{s}.{q(self.names[t])}"
            if t in self.partitioned:
                out.append(f"CREATE TABLE {table} ({', '.join(cols)}, PRIMARY KEY ({keys})) PARTITION BY HASH (id);")
                for r in range(2):
                    out.append(f"CREATE TABLE {s}.{q(self.names[t] + f'_p{r}')} PARTITION OF {table} "
                               f"FOR VALUES WITH (MODULUS 2, REMAINDER {r});")
            else:
                out.append(f"CREATE TABLE {table} ({', '.join(cols)}, PRIMARY KEY ({keys}));")
        if self.citus and not oracle:
            out += self.citus_ddl(s)
        for child, parent, action, name in self.fks:
            if oracle and action != "SET NULL":
                action = "CASCADE"
            out.append(f"ALTER TABLE {s}.{q(self.names[child])} ADD CONSTRAINT {q(name)} FOREIGN KEY "
                       f"({', '.join(self.own_fk_cols(name, parent))}) REFERENCES {s}.{q(self.names[parent])} "
                       f"({', '.join(self.key_cols(parent))}) ON DELETE {action};")
        for child, parent, _, name in self.touching:
            fn = q(f"touch_{name}")
            match = " AND ".join(f"{k} = OLD.{c}" for c, k in zip(self.fk_cols(name, parent), self.key_cols(parent)))
            # Unqualified table name: the trigger runs with the schema on its own search_path.
            out.append(f"CREATE FUNCTION {s}.{fn}() RETURNS trigger LANGUAGE plpgsql SET search_path = {s} AS $$ "
                       f"BEGIN UPDATE {q(self.names[parent])} SET touched = touched + 1 WHERE {match}; RETURN OLD; END $$;")
            out.append(f"CREATE TRIGGER {fn} AFTER DELETE ON {s}.{q(self.names[child])} FOR EACH ROW EXECUTE FUNCTION {s}.{fn}();")
        if self.archived:
            out.append(f"CREATE TABLE {s}.archive (tbl int, id int);")
        for t in self.archived:
            out.append(f"CREATE RULE {q(f'archive_{t}')} AS ON DELETE TO {s}.{q(self.names[t])} "
                       f"DO ALSO INSERT INTO {s}.archive VALUES ({t}, OLD.id);")
        if self.listed_gin:
            for _, owner, name in self.listed:
                out.append(f"CREATE INDEX ON {s}.{q(self.names[owner])} USING gin (({name} -> 'ids') jsonb_path_ops);")
        return out

    def dml(self, schema):
        """Rows first with every reference NULL, then the references (cycles need both)."""
        s = q(schema)
        out = []
        for t in range(self.n_tables):
            for row in self.rows[t]:
                cols = list(self.key_cols(t))
                vals = [str(row[c]) for c in cols]
                if t in self.roots:
                    cols.append("meta")
                    vals.append("NULL" if row["meta"] is None else "'" + json.dumps(row["meta"]).replace("'", "''") + "'::jsonb")
                out.append(f"INSERT INTO {s}.{q(self.names[t])} ({', '.join(cols)}) VALUES ({', '.join(vals)}) "
                           f"ON CONFLICT DO NOTHING;")
        fks = [(c, o, n, self.own_fk_cols(n, o)) for c, o, _, n in self.fks]
        for child, parent, name, fk_cols in fks + [(c, o, n, self.fk_cols(n, o)) for c, o, n in self.links]:
            for row in self.rows[child]:
                if self.rng.random() < 0.3:
                    continue  # no reference
                # A key that includes the row's own tenant points within that tenant.
                targets = [r for r in self.rows[parent]
                           if "tenant" not in fk_cols or r["tenant"] == row["tenant"]]
                if not targets:
                    continue
                target = self.rng.choice(targets)
                sets = ", ".join(f"{col} = {target[k]}" for col, k in zip(fk_cols, self.key_cols(parent))
                                 if col != "tenant")
                where = " AND ".join(f"{k} = {row[k]}" for k in self.key_cols(child))
                out.append(f"UPDATE {s}.{q(self.names[child])} SET {sets} WHERE {where};")
        for dependent, owner, name in self.listed:
            for row in self.rows[owner]:
                # Ids as JSON numbers or strings: keys are matched by their text form.
                ids = [self.rng.choice([r["id"], str(r["id"])])
                       for r in self.rng.sample(self.rows[dependent], self.rng.randint(0, 3))]
                value = json.dumps({"ids": ids}).replace("'", "''")
                where = " AND ".join(f"{k} = {row[k]}" for k in self.key_cols(owner))
                out.append(f"UPDATE {s}.{q(self.names[owner])} SET {name} = '{value}' WHERE {where};")
        return out


def table_contents(cur, schema, case):
    result = {}
    for t in range(case.n_tables):
        cur.execute(f"SELECT to_jsonb(x)::text FROM {q(schema)}.{q(case.names[t])} x ORDER BY 1")
        result[case.names[t]] = [r[0] for r in cur.fetchall()]
    if case.archived:
        cur.execute(f"SELECT tbl || ':' || id FROM {q(schema)}.archive ORDER BY 1")
        result["(archive)"] = [r[0] for r in cur.fetchall()]
    return result


def marked(case, t, session):
    cond = "meta ->> 'test_marker' = %(marker)s"
    if session:
        cond += " AND meta ->> 'test_session_id' = %(session)s"
    return cond


def run_oracle(cur, schema, case, session):
    """PostgreSQL's cascade decides; FK-less links are applied as a fixed point in SQL."""
    s = q(schema)
    # Rows the links doom: collect (table, key) of dependents whose owner is doomed. With
    # links present, the doomed owner set itself depends on cascades, so iterate: delete
    # roots, then repeatedly delete link dependents whose owner row no longer exists but did.
    if case.links or case.listed:
        for t in range(case.n_tables):
            cur.execute(f"CREATE TEMP TABLE {q('before_' + str(t))} ON COMMIT DROP AS SELECT * FROM {s}.{q(case.names[t])}")
    for t in case.roots:
        cur.execute(f"DELETE FROM {s}.{q(case.names[t])} WHERE {marked(case, t, session)}",
                    {"marker": MARKER, "session": session})
    changed = bool(case.links or case.listed)
    while changed:
        changed = False
        for dependent, owner, name in case.listed:
            keys = case.key_cols(owner)
            # Listed by an owner that went, and by no owner that is still there.
            cur.execute(
                f"DELETE FROM {s}.{q(case.names[dependent])} d WHERE d.id::text IN "
                f"(SELECT e #>> '{{}}' FROM {q('before_' + str(owner))} b, jsonb_array_elements(b.{name} -> 'ids') e "
                f" WHERE NOT EXISTS (SELECT 1 FROM {s}.{q(case.names[owner])} o WHERE "
                f"{' AND '.join(f'o.{k} = b.{k}' for k in keys)})) "
                + "".join(
                    f"AND NOT EXISTS (SELECT 1 FROM {s}.{q(case.names[other])} o, jsonb_array_elements(o.{other_name} -> 'ids') e "
                    f" WHERE e #>> '{{}}' = d.id::text) "
                    for into, other, other_name in case.listed if into == dependent))
            changed = changed or cur.rowcount > 0
        for child, owner, name in case.links:
            cols = case.fk_cols(name, owner)
            keys = case.key_cols(owner)
            # An owner row that existed before and is gone now was deleted by the cleanup.
            cur.execute(
                f"DELETE FROM {s}.{q(case.names[child])} d WHERE ({', '.join('d.' + c for c in cols)}) IN "
                f"(SELECT {', '.join('b.' + k for k in keys)} FROM {q('before_' + str(owner))} b "
                f" WHERE NOT EXISTS (SELECT 1 FROM {s}.{q(case.names[owner])} o WHERE "
                f"{' AND '.join(f'o.{k} = b.{k}' for k in keys)}))")
            changed = changed or cur.rowcount > 0


class ExtensionCleaner:
    """SELECT test_cleanup() in the case's own transaction."""

    def prepare(self, conn):
        pass

    def clean(self, cur, session, dry_run):
        """The result object, or raises CleanupFailed with the error's text."""
        name = "dry" if dry_run else "cleanup"
        try:
            cur.execute(f"SAVEPOINT {name}")
            cur.execute("SELECT test_cleanup(%s, %s)", (session, dry_run))
            return cur.fetchone()[0]
        except psycopg2.Error as e:
            cur.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise CleanupFailed(e.pgerror or str(e))

    def finish(self, conn, schemas):
        conn.rollback()  # drops both schemas: every case leaves the database as it found it


class ClientCleaner:
    """test_cleanup_client on a connection of its own: the setup is committed first."""

    def __init__(self, path, dsn):
        self.path, self.dsn = path, dsn

    def prepare(self, conn):
        conn.commit()

    def clean(self, cur, session, dry_run):
        command = [self.path, "--db", self.dsn] + (["--session", session] if session else []) + \
            (["--dry-run"] if dry_run else [])
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            raise CleanupFailed(run.stderr)
        return json.loads(run.stdout)

    def finish(self, conn, schemas):
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("DELETE FROM test_cleanup.root; DELETE FROM test_cleanup.link; "
                        "DELETE FROM test_cleanup.listed_link; DELETE FROM test_cleanup.audit_log")
            for schema in schemas:
                cur.execute(f"DROP SCHEMA {q(schema)} CASCADE")
        conn.commit()


class CleanupFailed(Exception):
    pass


def run_case(conn, number, seed, with_links, skip_fk_checks=False, citus=False, transient_indexes="auto",
             cleaner=ExtensionCleaner()):
    rng = random.Random(seed)
    case = Case(rng, with_links, skip_fk_checks, citus)
    subject, oracle = f"dt subject {number}", f"dt oracle {number}"
    cur = conn.cursor()
    data = case.dml(subject)  # the same random references for both: draw them once
    for stmt in case.ddl(subject, False) + data:
        cur.execute(stmt)
    for stmt in case.ddl(oracle, True) + [d.replace(q(subject), q(oracle)) for d in data]:
        cur.execute(stmt)
    cur.execute("DELETE FROM test_cleanup.root; DELETE FROM test_cleanup.link; DELETE FROM test_cleanup.listed_link")
    for t in case.roots:
        cur.execute("SELECT test_cleanup.add_root(%s::regclass, 'meta')", (f"{q(subject)}.{q(case.names[t])}",))
    for child, owner, name in case.links:
        cur.execute("SELECT test_cleanup.add_link(%s::regclass, %s, %s::regclass, %s)",
                    (f"{q(subject)}.{q(case.names[child])}", case.fk_cols(name, owner),
                     f"{q(subject)}.{q(case.names[owner])}", case.key_cols(owner)))
    for dependent, owner, name in case.listed:
        cur.execute("SELECT test_cleanup.add_listed_link(%s::regclass, 'id', %s::regclass, %s, '{ids}')",
                    (f"{q(subject)}.{q(case.names[dependent])}", f"{q(subject)}.{q(case.names[owner])}", name))
    session = rng.choice([SESSIONS[0], None])
    if isinstance(cleaner, ExtensionCleaner):
        cur.execute("SET LOCAL test_cleanup.skip_fk_checks = %s", ("on" if skip_fk_checks else "off",))
        # No case indexes its foreign key columns: with "on", every lookup gets a transient index.
        cur.execute("SET LOCAL test_cleanup.transient_indexes = %s", (transient_indexes,))
    cleaner.prepare(conn)
    before = table_contents(cur, oracle, case)
    problems = []
    # A dry run first: it must change nothing and count what the real cleanup then deletes.
    subject_before = table_contents(cur, subject, case)
    dry, dry_error = None, None
    try:
        dry = cleaner.clean(cur, session, True)
    except CleanupFailed as e:
        dry_error = str(e)
    if table_contents(cur, subject, case) != subject_before:
        problems.append("the dry run changed rows")
    try:
        result = cleaner.clean(cur, session, False)
    except CleanupFailed as e:
        if "lies on a cycle" in str(e) or "reference each other with NO ACTION" in str(e):
            # a listed link or rule table on a cycle is refused by design: no verdict
            cleaner.finish(conn, (subject, oracle))
            return None, case
        result = None
        problems.append(f"test_cleanup failed: {e}")
    try:
        cur.execute("SAVEPOINT oracle")
        run_oracle(cur, oracle, case, session)
    except psycopg2.Error:
        # PostgreSQL's own cascade can fail (a SET NULL update re-checking another foreign
        # key whose parent goes in the same statement): no oracle, no verdict.
        cleaner.finish(conn, (subject, oracle))
        return None, case
    got, want = table_contents(cur, subject, case), table_contents(cur, oracle, case)
    cur.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'test\\_cleanup\\_transient\\_%%'")
    left = cur.fetchone()[0]
    if left:
        problems.append(f"{left} transient index(es) still exist after the cleanup returned")
    cur.execute("SELECT transient_indexes IS NOT NULL FROM test_cleanup.audit_log ORDER BY audit_id DESC LIMIT 1")
    case.built_indexes = result is not None and cur.fetchone()[0]
    if result is None and dry is not None:
        problems.append("the dry run succeeded where the cleanup failed")
    if result is not None and dry is None:
        problems.append(f"the dry run failed where the cleanup succeeded: {dry_error}")
    if result is not None and dry is not None:
        dry_counts = {k: v for k, v in dry.items() if k not in ("dry_run", "warnings")}
        if dry_counts != result or dry.get("dry_run") is not True:
            problems.append(f"the dry run said {dry}, the cleanup {result}")
    if result is not None:
        for name in want:
            if got[name] != want[name]:
                problems.append(f"table {name!r}: test_cleanup left {got[name]}, PostgreSQL's cascade left {want[name]}")
        # Counts: per report key (the table name), the rows the oracle lost.
        for name in case.names:
            lost = len(before[name]) - len(want[name])
            counted = result["deleted_counts"].get(name, 0)
            if counted != lost:
                problems.append(f"table {name!r}: counted {counted}, the oracle lost {lost}")
    cleaner.finish(conn, (subject, oracle))
    return problems, case


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1 << 30))
    parser.add_argument("--dbname", default="tc_differential")
    parser.add_argument("--skip-fk-checks", action="store_true", help="with test_cleanup.skip_fk_checks on")
    parser.add_argument("--citus", action="store_true",
                        help="on a Citus coordinator: the subject's tables distributed or reference tables")
    parser.add_argument("--transient-indexes", default="auto", choices=("auto", "on", "off"),
                        help="test_cleanup.transient_indexes for every cleanup")
    parser.add_argument("--client", metavar="PATH", help="clean with test_cleanup_client (client mode)")
    parser.add_argument("--user", help="the role to connect as (client mode: the tables' owner)")
    args = parser.parse_args()
    dsn = f"dbname={args.dbname}" + (f" user={args.user}" if args.user else "")
    cleaner = ClientCleaner(args.client, dsn) if args.client else ExtensionCleaner()

    def connect():
        conn = psycopg2.connect(dsn)
        if args.citus:
            with conn.cursor() as cur:
                cur.execute("SET citus.shard_count = 4")  # a handful of shards per table: faster cases
            conn.commit()
        return conn

    conn = connect()
    conn.autocommit = False
    failures = 0
    for with_links in (False, True):
        label = ("foreign keys, links and listed links" if with_links else "foreign keys") + \
            (", skip_fk_checks" if args.skip_fk_checks else "") + (", Citus" if args.citus else "") + \
            (f", transient_indexes {args.transient_indexes}" if args.transient_indexes != "auto" else "") + \
            (", client mode as the tables' owner" if args.client else "")
        bad = undecided = built = 0
        for number in range(args.cases // 2):
            seed = args.seed * 100003 + number * 2 + int(with_links)
            if number % 100 == 99:  # a session that creates thousands of tables slows down
                conn.close()
                conn = connect()
            try:
                problems, case = run_case(conn, number, seed, with_links, args.skip_fk_checks, args.citus,
                                          args.transient_indexes, cleaner)
            except Exception:
                print(f"# case seed {seed} raised:")
                raise
            built += bool(problems is not None and case.built_indexes)
            if problems is None:
                undecided += 1
            elif problems:
                bad += 1
                if bad <= 3:
                    print(f"# case seed {seed} ({case.n_tables} tables, fks {case.fks}, links {case.links}, "
                          f"listed {case.listed}, touching {case.touching}, archived {case.archived}, "
                          f"partitioned {case.partitioned}, kinds {case.kind}):")
                    for p in problems[:5]:
                        print("#   " + p)
        # With transient indexes on, cases whose cleanup built none would test nothing new.
        if args.transient_indexes == "on" and built == 0:
            bad += 1
        status = "ok" if bad == 0 else "not ok"
        print(f"{status} - differential ({label}): {args.cases // 2 - undecided} random cases agree with "
              f"PostgreSQL's cascade (seed {args.seed}, {bad} disagreed, {undecided} undecided: the "
              f"oracle failed or the case is refused by design: a listed link on a cycle"
              f"{f'; {built} built transient indexes' if args.transient_indexes == 'on' else ''}"
              f"{', Citus tables holding NO ACTION keys on each other' if args.citus else ''})")
        failures += bad
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
