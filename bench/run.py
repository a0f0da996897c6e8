#!/usr/bin/python3
"""Benchmark: test_cleanup against what users would otherwise do, side by side on the same data.

Variants (each on a fresh clone of a template database, so every run starts from identical
rows; the median of --runs runs is reported):
  a  native ON DELETE CASCADE: every deleting foreign key CASCADE (links too), roots deleted
  b  hand-written set-based child-first DELETEs on NO ACTION foreign keys
  c  a per-row client loop (psycopg2, one statement per row, as an ORM would)
  d  test_cleanup on the CASCADE schema
  e  test_cleanup on the NO ACTION schema
  f  test_cleanup through the HTTP shim (NO ACTION schema)
  g  test_cleanup with test_cleanup.skip_fk_checks on (NO ACTION schema)
  h  test_cleanup with test_cleanup.transient_indexes off (NO ACTION schema): d, e and g
     run with its default, auto
  i  client mode (managed PostgreSQL): test_cleanup_client, a process of its own with its
     own connection (after one run that keeps the plan), on the NO ACTION schema with the
     extension dropped and the plain install in its place
  j  client mode through the shim (--mode client), the same database
Scenarios: all test data, one session (the largest), one tiny session (5 users); each on
the schemas of --shapes: plain (foreign key columns indexed), advised (plus the indexes
test_cleanup.advise_indexes() recommends), bare (no index on any foreign key or link
column). Every variant must leave exactly the same rows (a fingerprint of every table), or
the run fails.

  bench/run.py --users 52000 --runs 3 --write bench/RESULTS.md   # S: about 1M rows
  bench/run.py --users 520000 --runs 3 --skip c                  # L: about 10M rows
  bench/run.py --users 2000 --runs 1                             # smoke (CI)
  bench/run.py --users 52000 --shapes bare,plain --skip c,f --slow-runs 1   # no FK indexes

PG* environment variables reach the server; the repository's extension and shim must be
built and installed.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

import psycopg2
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIM = os.path.join(REPO, "shim", "test_cleanup_shim")
CLIENT = os.path.join(REPO, "client", "test_cleanup_client")
MARKER = "integration_test_data"
LINK_FKS = [("invoices", "searchable_id", "searchables"), ("media_uploads", "searchable_id", "searchables"),
            ("payment_records", "invoice_id", "invoices")]
VARIANTS = {
    "a": ("native ON DELETE CASCADE", "cascade"),
    "b": ("hand-written set-based SQL, NO ACTION", "noaction"),
    "c": ("per-row client loop, NO ACTION", "noaction"),
    "d": ("test_cleanup, CASCADE schema", "cascade"),
    "e": ("test_cleanup, NO ACTION schema", "noaction"),
    "f": ("test_cleanup via HTTP shim, NO ACTION", "noaction"),
    "g": ("test_cleanup skip_fk_checks, NO ACTION", "noaction"),
    "h": ("test_cleanup transient_indexes off, NO ACTION", "noaction"),
    "i": ("client mode CLI, NO ACTION", "noaction"),
    "j": ("client mode via HTTP shim, NO ACTION", "noaction"),
}
SHAPES = {"plain": ("", "foreign keys"), "advised": ("_idx", "foreign keys + advised"), "bare": ("_bare", "none")}
FK_INDEXES = ["user_profiles_user_id", "user_sessions_user_id", "searchables_owner_id", "users_referred_by",
              "invoices_buyer_id", "payments_searchable_id", "ratings_searchable_id", "ratings_rater_id",
              "media_uploads_searchable_id", "invoice_notes_invoice_id", "payment_records_invoice_id",
              "withdrawals_invoice_id"]


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def psql(db, *args):
    return sh("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, *args).strip()


def connect(db):
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    return conn


# --- templates ------------------------------------------------------------------------------

def build_templates(users, prefix, shapes):
    base = f"{prefix}_base"
    for db in [base] + [f"{prefix}_{s}{i}" for s in ("cascade", "noaction") for i in ("", "_idx", "_bare")]:
        subprocess.run(["dropdb", "--if-exists", db], capture_output=True)
    sh("createdb", base)
    psql(base, "-c", "CREATE EXTENSION test_cleanup", "-f", os.path.join(REPO, "test", "reference_schema.sql"),
         "-f", os.path.join(REPO, "bench", "generate.sql"))
    started = time.perf_counter()
    psql(base, "-c", "BEGIN", "-c", f"SELECT bench_generate({users}, 10, 50)", "-c",
         "SELECT bench_index_foreign_keys()", "-c", "COMMIT")
    print(f"# generated {psql(base, '-c', 'SELECT count(*) FROM reference_rows')} rows "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    for shape, action in (("cascade", "CASCADE"), ("noaction", "NO ACTION")):
        db = f"{prefix}_{shape}"
        sh("createdb", "-T", base, db)
        # Redeclare every deleting foreign key with this action; SET NULL stays.
        psql(db, "-c", f"""DO $$ DECLARE c record; BEGIN
            FOR c IN SELECT conrelid::regclass AS t, conname, pg_get_constraintdef(oid) AS def
                       FROM pg_constraint WHERE contype = 'f' AND confdeltype IN ('a', 'r', 'c') LOOP
              EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname);
              EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.t, c.conname,
                             regexp_replace(c.def, ' ON DELETE (CASCADE|RESTRICT)', '') || ' ON DELETE {action}');
            END LOOP; END $$""")
        if shape == "cascade":  # native cascade needs the links as foreign keys too
            for table, col, parent in LINK_FKS:
                psql(db, "-c", f"ALTER TABLE {table} ADD FOREIGN KEY ({col}) REFERENCES {parent} ON DELETE CASCADE")
        psql(db, "-c", "VACUUM ANALYZE")
        if "bare" in shapes:  # what bench_index_foreign_keys() added, and nothing else
            sh("createdb", "-T", db, db + "_bare")
            psql(db + "_bare", "-c", "DROP INDEX " + ", ".join(FK_INDEXES), "-c", "VACUUM ANALYZE")
        if "advised" not in shapes:
            continue
        indexed = db + "_idx"
        sh("createdb", "-T", db, indexed)
        statements = psql(indexed, "-c", "SELECT replace(statement, ' CONCURRENTLY', '') FROM test_cleanup.advise_indexes()")
        for statement in filter(None, statements.split("\n")):
            psql(indexed, "-c", statement)
        psql(indexed, "-c", "VACUUM ANALYZE")
    sh("dropdb", base)


# --- the variants -----------------------------------------------------------------------------

def conditions(session):
    def marked(obj):
        cond = f"{obj} ->> 'test_marker' = %(marker)s"
        return cond + (f" AND {obj} ->> 'test_session_id' = %(session)s" if session else "")
    return {"users": marked("test_metadata"),
            "searchables": marked("payloads -> 'public' -> 'test_metadata'"),
            "metrics": f"({marked('tags')}) OR ({marked('metadata')})"}


LISTED = "jsonb_array_elements(CASE WHEN jsonb_typeof({s}.payloads -> 'public' -> 'downloadableFiles') = 'array' " \
         "THEN {s}.payloads -> 'public' -> 'downloadableFiles' ELSE '[]' END)"
DOOMED_FILES = ("CREATE TEMP TABLE doomed_files ON COMMIT DROP AS "
                "SELECT e ->> 'fileId' AS file_id FROM d_searchables s, " + LISTED.format(s="s") + " e "
                "EXCEPT SELECT e ->> 'fileId' FROM searchables s, " + LISTED.format(s="s") + " e "
                "WHERE s.id NOT IN (SELECT id FROM d_searchables)")


def run_native(cur, session):
    c = conditions(session)
    cur.execute("BEGIN")
    cur.execute(f"CREATE TEMP TABLE d_searchables ON COMMIT DROP AS SELECT id, payloads FROM searchables WHERE {c['searchables']}", params(session))
    cur.execute(DOOMED_FILES)
    cur.execute(f"DELETE FROM users WHERE {c['users']}", params(session))
    cur.execute("DELETE FROM searchables WHERE id IN (SELECT id FROM d_searchables)")
    cur.execute(f"DELETE FROM metrics WHERE {c['metrics']}", params(session))
    cur.execute("DELETE FROM files WHERE file_id IN (SELECT file_id FROM doomed_files)")
    cur.execute("COMMIT")


def run_handwritten(cur, session):
    c = conditions(session)
    cur.execute("BEGIN")
    cur.execute(f"CREATE TEMP TABLE d_users ON COMMIT DROP AS SELECT id FROM users WHERE {c['users']}", params(session))
    cur.execute(f"CREATE TEMP TABLE d_searchables ON COMMIT DROP AS SELECT id, payloads FROM searchables WHERE {c['searchables']}", params(session))
    cur.execute("CREATE TEMP TABLE d_invoices ON COMMIT DROP AS "
                "SELECT id FROM invoices WHERE buyer_id IN (SELECT id FROM d_users) "
                "UNION SELECT id FROM invoices WHERE searchable_id IN (SELECT id FROM d_searchables)")
    cur.execute(DOOMED_FILES)
    cur.execute("ANALYZE d_users, d_searchables, d_invoices, doomed_files")
    for table, col, doomed in [("invoice_notes", "invoice_id", "d_invoices"), ("payment_records", "invoice_id", "d_invoices"),
                               ("withdrawals", "invoice_id", "d_invoices"), ("invoices", "id", "d_invoices"),
                               ("payments", "searchable_id", "d_searchables"), ("ratings", "searchable_id", "d_searchables"),
                               ("media_uploads", "searchable_id", "d_searchables"), ("user_profiles", "user_id", "d_users"),
                               ("user_sessions", "user_id", "d_users"), ("user_balances", "user_id", "d_users"),
                               ("searchables", "id", "d_searchables"), ("users", "id", "d_users")]:
        cur.execute(f"DELETE FROM {table} WHERE {col} IN (SELECT id FROM {doomed})")
    cur.execute("DELETE FROM files WHERE file_id IN (SELECT file_id FROM doomed_files)")
    cur.execute(f"DELETE FROM metrics WHERE {c['metrics']}", params(session))
    cur.execute("COMMIT")


def run_row_loop(cur, session):
    """What an ORM does: load each object, delete its children one row at a time."""
    c = conditions(session)
    gone = set()

    def ids(sql, *args):
        cur.execute(sql, args)
        return [r[0] for r in cur.fetchall()]

    def delete_row(table, key, value):
        if (table, value) not in gone:
            cur.execute(f"DELETE FROM {table} WHERE {key} = %s", (value,))
            gone.add((table, value))

    def delete_invoice(invoice):
        if ("invoices", invoice) in gone:
            return
        for child in ("invoice_notes", "payment_records", "withdrawals"):
            for row in ids(f"SELECT id FROM {child} WHERE invoice_id = %s", invoice):
                delete_row(child, "id", row)
        delete_row("invoices", "id", invoice)

    cur.execute("BEGIN")
    cur.execute(f"CREATE TEMP TABLE d_searchables ON COMMIT DROP AS SELECT id, payloads FROM searchables WHERE {c['searchables']}", params(session))
    cur.execute(DOOMED_FILES)  # which listed files no surviving searchable lists: one query, as an app would
    for searchable in ids("SELECT id FROM d_searchables"):
        for invoice in ids("SELECT id FROM invoices WHERE searchable_id = %s", searchable):
            delete_invoice(invoice)
        for child in ("payments", "ratings", "media_uploads"):
            for row in ids(f"SELECT id FROM {child} WHERE searchable_id = %s", searchable):
                delete_row(child, "id", row)
        delete_row("searchables", "id", searchable)
    cur.execute(f"SELECT id FROM users WHERE {c['users']}", params(session))
    for user in [r[0] for r in cur.fetchall()]:
        for invoice in ids("SELECT id FROM invoices WHERE buyer_id = %s", user):
            delete_invoice(invoice)
        for child in ("user_profiles", "user_sessions"):
            for row in ids(f"SELECT id FROM {child} WHERE user_id = %s", user):
                delete_row(child, "id", row)
        for row in ids("SELECT user_id FROM user_balances WHERE user_id = %s", user):
            delete_row("user_balances", "user_id", row)
        delete_row("users", "id", user)
    for file_id in ids("SELECT file_id FROM doomed_files"):
        delete_row("files", "file_id", file_id)
    cur.execute(f"SELECT id FROM metrics WHERE {c['metrics']}", params(session))
    for metric in [r[0] for r in cur.fetchall()]:
        delete_row("metrics", "id", metric)
    cur.execute("COMMIT")


def run_extension(cur, session):
    cur.execute("SELECT test_cleanup(%s)", (session,))


def params(session):
    return {"marker": MARKER, "session": session}


def fingerprint(db):
    """Which rows are left: per table, the count and the sum of 64-bit hashes of the ids
    (order-free, so it costs one pass at 10M rows), plus who owns each searchable and who
    rated each rating (SET NULL must have happened alike)."""
    return psql(db, "-c", """
        SELECT md5(string_agg(part, ',' ORDER BY part)) FROM (
            SELECT tbl || ':' || count(*) || ':' || sum(hashtextextended(id, 0)) AS part
              FROM reference_rows GROUP BY tbl
            UNION ALL SELECT 'owners:' || sum(hashtextextended(id || '>' || coalesce(owner_id, 0), 0))
              FROM searchables
            UNION ALL SELECT 'raters:' || sum(hashtextextended(id || '>' || coalesce(rater_id, 0), 0))
              FROM ratings) s""")


def to_client_mode(db):
    """The extension dropped, client mode's plain install in its place, the same rules."""
    psql(db, "-c", "DROP EXTENSION test_cleanup CASCADE")
    sh(CLIENT, "--db", f"dbname={db}", "--install")
    sh(CLIENT, "--db", f"dbname={db}", "--enable")
    psql(db, "-c", "SELECT reference_register()")


def run_client(db, session):
    sh(CLIENT, "--db", f"dbname={db}", *(["--session", session] if session else []))


class HttpShim:
    def __init__(self, db, mode="extension"):
        env = dict(os.environ, TEST_CLEANUP_ENV="test", TEST_CLEANUP_DB=f"dbname={db}", TEST_CLEANUP_RATE_LIMIT="0",
                   TEST_CLEANUP_STATEMENT_TIMEOUT="0", TEST_CLEANUP_MODE=mode)
        self.process = subprocess.Popen([SHIM, "--port", "0"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.url = f"http://127.0.0.1:{json.loads(self.process.stdout.readline())['port']}/api/v1/test-cleanup"
        self.session = requests.Session()
        # The shim opens its pooled connection and the backend loads the library on first
        # use, as it would in a long-running deployment: warm up with an empty session.
        self.session.post(self.url, json={"test_session_id": "bench_warmup"}, timeout=600)

    def clean(self, session):
        r = self.session.post(self.url, json={"test_session_id": session} if session else None, timeout=3600)
        if r.status_code != 200:
            raise RuntimeError(r.text)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait()


def measure(variant, template, session, run_number, timeout):
    """(seconds, fingerprint), or (None, None) when a statement ran longer than timeout."""
    clone = f"bench_run_{variant}_{run_number}"
    subprocess.run(["dropdb", "--if-exists", clone], capture_output=True)
    sh("createdb", "--strategy", "file_copy", "-T", template, clone)  # faster than WAL_LOG at 10M rows
    shim = None
    try:
        if variant in "ij":
            to_client_mode(clone)
        if variant == "i":
            # As in a CI job's second and later runs: the plan kept in the database.
            run_client(clone, "bench_warmup")
            started = time.perf_counter()
            run_client(clone, session)
        elif variant in "fj":
            psql(clone, "-c", f"ALTER DATABASE {clone} SET test_cleanup.enabled = on")
            shim = HttpShim(clone, "client" if variant == "j" else "extension")
            started = time.perf_counter()
            shim.clean(session)
        else:
            conn = connect(clone)
            cur = conn.cursor()
            if variant in "degh":  # load the library outside the timing, as a pooled session has it
                cur.execute("SET test_cleanup.enabled = on")
                cur.execute("SET test_cleanup.skip_fk_checks = %s", ("on" if variant == "g" else "off",))
                cur.execute("SET test_cleanup.transient_indexes = %s", ("off" if variant == "h" else "auto",))
                cur.execute("SELECT test_cleanup('bench_warmup')")
            if timeout:
                cur.execute("SET statement_timeout = %s", (f"{timeout}s",))
            started = time.perf_counter()
            try:
                {"a": run_native, "b": run_handwritten, "c": run_row_loop, "d": run_extension,
                 "e": run_extension, "g": run_extension, "h": run_extension}[variant](cur, session)
            except psycopg2.errors.QueryCanceled:
                conn.close()
                return None, None
        elapsed = time.perf_counter() - started
        if variant not in "fij":
            conn.close()
        return elapsed, fingerprint(clone)
    finally:
        if shim:
            shim.stop()
        subprocess.run(["dropdb", clone], capture_output=True)


def median(times):
    """The median of the runs; None when it is a run that timed out (slower than any other)."""
    ordered = sorted(times, key=lambda t: float("inf") if t is None else t)
    middle = ordered[(len(ordered) - 1) // 2: len(ordered) // 2 + 1]
    return None if None in middle else statistics.mean(middle)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=52000, help="about 19 rows per user (52000: ~1M rows)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-runs", type=int, help="runs of the per-row loop c, and of a, b and h on the "
                        "bare schema (default: --runs); at L one run of c takes minutes")
    parser.add_argument("--shapes", default="plain,advised", help="plain, advised, bare (see above)")
    parser.add_argument("--timeout", type=int, default=0,
                        help="seconds after which a statement of a, b, c or h is cancelled (reported as >)")
    parser.add_argument("--skip", default="", help="variants to leave out, e.g. c")
    parser.add_argument("--scenarios", default="all,session,tiny")
    parser.add_argument("--write", help="append the results as Markdown to this file")
    parser.add_argument("--reuse", action="store_true", help="reuse templates built by an earlier run")
    args = parser.parse_args()
    prefix = f"bench_{args.users}"
    shapes = args.shapes.split(",")
    if not args.reuse:
        build_templates(args.users, prefix, shapes)
    rows = psql(f"{prefix}_noaction", "-c", "SELECT count(*) FROM reference_rows")
    sessions = {"all": None, "session": "bench_s1", "tiny": "bench_tiny"}
    variants = [v for v in VARIANTS if v not in args.skip]
    results, failed = [], False
    for scenario in args.scenarios.split(","):
        for shape in shapes:
            medians, prints = {}, {}
            for v in variants:
                template = f"{prefix}_{VARIANTS[v][1]}" + SHAPES[shape][0]
                slow = v == "c" or (shape == "bare" and v in "abh" and scenario != "tiny")
                timeout = args.timeout if v in "abch" else 0
                times = []
                for run in range(args.slow_runs if slow and args.slow_runs else args.runs):
                    elapsed, fp = measure(v, template, sessions[scenario], run, timeout)
                    times.append(elapsed)
                    if fp is not None:
                        prints.setdefault(fp, []).append(v)
                medians[v] = median(times)
                print(f"# {scenario:8} {shape:8} {v}: "
                      + " ".join("timeout" if t is None else f"{t * 1000:.1f}" for t in times) + " ms", flush=True)
            same = len(prints) == 1
            failed = failed or not same
            results.append((scenario, shape, medians, same))
    report = render(results, variants, rows, args)
    print(report)
    if args.write:
        with open(args.write, "a") as f:
            f.write(report + "\n")
    sys.exit(1 if failed else 0)


def render(results, variants, rows, args):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    version = psql("postgres", "-c", "SHOW server_version")
    command = " ".join(sys.argv[1:]).replace(" --write bench/RESULTS.md", "")
    lines = [f"### {int(rows):,} rows ({args.users:,} users, 10% test data in 50 sessions), median of {args.runs}"
             + (f" (slow variants: {args.slow_runs})" if args.slow_runs else ""),
             "",
             f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem) // 1024 // 1024} GiB, {platform.platform()}, "
             f"PostgreSQL {version} (throwaway cluster: fsync off, default shared_buffers). "
             f"Command: `bench/run.py {command}`"
             + (f". A time `> N s` is a statement cancelled after N s (--timeout)." if args.timeout else ""),
             "",
             "| scenario | indexes | " + " | ".join(f"{v}: {VARIANTS[v][0]}" for v in variants)
             + " | d/a | e/b | e/a | c/e | g/a | e/h | e / e with FK indexes | i/e | j/f | same rows |",
             "|---" * (len(variants) + 12) + "|"]
    plain = {scenario: m for scenario, shape, m, _ in results if shape == "plain"}
    for scenario, shape, m, same in results:
        def ratio(x, y, mx=m, my=m):
            if x not in mx or y not in my or (mx[x] is None and my[y] is None):
                return "-"
            if mx[x] is None:
                return f"> {args.timeout / my[y]:.3g}"
            if my[y] is None:
                return f"< {mx[x] / args.timeout:.3g}"
            return f"{mx[x] / my[y]:.3g}" if my[y] > 0 else "-"
        cells = [f"> {args.timeout} s" if m[v] is None else f"{m[v] * 1000:.1f} ms" for v in variants]
        vs_plain = ratio("e", "e", m, plain[scenario]) if shape == "bare" and scenario in plain else "-"
        lines.append(f"| {scenario} | {SHAPES[shape][1]} | " + " | ".join(cells)
                     + f" | {ratio('d', 'a')} | {ratio('e', 'b')} | {ratio('e', 'a')} | {ratio('c', 'e')} | {ratio('g', 'a')}"
                     + f" | {ratio('e', 'h')} | {vs_plain} | {ratio('i', 'e')} | {ratio('j', 'f')} | "
                     + ("yes" if same else "**NO**") + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
