#!/usr/bin/python3
"""End-to-end tests of test_cleanup_shim: a real shim process against the throwaway
cluster, driven by real HTTP clients (python3-requests, as the user's harness does, and
curl). Prints one "ok - ..." / "not ok - ..." line per check for test/run_all.sh."""

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

REPO = os.environ["TC_REPO"]
SHIM = os.environ.get("TC_SHIM", os.path.join(REPO, "shim", "test_cleanup_shim"))
A = "test_session_1640995200_abc12345"
B = "test_session_1640995300_def67890"
SPEC_KEYS = ["users", "searchables", "invoices", "files", "ratings", "withdrawals", "metrics"]
failed = False


def check(name, condition, detail=""):
    global failed
    print(("ok - " if condition else "not ok - ") + name, flush=True)
    if not condition:
        failed = True
        if detail:
            print("    " + str(detail)[:2000], flush=True)


def psql(db, sql):
    done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout.strip()


def fresh_db(db, gate="on"):
    subprocess.run(["dropdb", "--if-exists", db], capture_output=True)
    subprocess.run(["createdb", db], check=True)
    psql(db, "CREATE EXTENSION test_cleanup")
    psql(db, f"ALTER DATABASE {db} SET test_cleanup.enabled = {gate}")
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-f",
                    os.path.join(REPO, "test", "reference_schema.sql")], check=True, capture_output=True)
    psql(db, "SELECT reference_data_load()")


def snapshot(db):
    return psql(db, "SELECT string_agg(tbl || ':' || id, ',' ORDER BY tbl, id) FROM reference_rows")


class Shim:
    """A shim process on a free port; its JSON log lines are collected from stdout."""

    def __init__(self, db, extra_env=None, args=()):
        env = dict(os.environ, TEST_CLEANUP_ENV="test", TEST_CLEANUP_DB=f"dbname={db}",
                   TEST_CLEANUP_RATE_LIMIT="0")
        env.update(extra_env or {})
        self.stderr = open(os.path.join(REPO, ".tmp", f"shim-{os.getpid()}-{id(self)}.err"), "w+")
        self.process = subprocess.Popen([SHIM, "--port", "0", *args], env=env, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True)
        first = json.loads(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{first['port']}"
        self.logs = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.logs.append(json.loads(line))

    def post(self, **kwargs):
        return requests.post(self.url + "/api/v1/test-cleanup", timeout=30, **kwargs)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.reader.join(timeout=5)
        self.stderr.seek(0)
        report = self.stderr.read()
        self.stderr.close()
        os.unlink(self.stderr.name)
        sanitizer = [marker for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:") if marker in report]
        check(f"shim on {self.url}: no sanitizer report, no stray stderr", not sanitizer and not report.strip(), report)
        return code


def refused_start(env, args=()):
    done = subprocess.run([SHIM, *args], env=dict(os.environ, **env), capture_output=True, text=True,
                          timeout=10)
    return done.returncode, done.stderr


def test_startup_checks():
    code, err = refused_start({"TEST_CLEANUP_ENV": ""})
    check("no environment setting: refuses to start", code == 2 and "refusing to start" in err, err)
    code, err = refused_start({"TEST_CLEANUP_ENV": "production"})
    check("environment 'production': refuses to start", code == 2 and "production" in err, err)
    code, err = refused_start({"TEST_CLEANUP_ENV": "test"}, ["--listen", "0.0.0.0", "--port", "0"])
    check("non-loopback address without a token: refuses to start", code == 2 and "without a token" in err, err)
    code, err = refused_start({"TEST_CLEANUP_ENV": "test"}, ["--port", "seventy"])
    check("malformed flag value: refuses to start with the flag named", code == 2 and "--port" in err, err)
    done = subprocess.run([SHIM, "--help"], capture_output=True, text=True)
    documented = all(name in done.stdout for name in [
        "--environment", "--listen", "--port", "--db", "--token-file", "--rate-limit", "--burst",
        "--pool-size", "--threads", "--statement-timeout", "--lock-timeout", "TEST_CLEANUP_ENV",
        "TEST_CLEANUP_TOKEN", "TEST_CLEANUP_DB", "PGHOST"])
    check("--help documents every flag and environment variable", done.returncode == 0 and documented)


def test_contract(db):
    fresh_db(db)
    shim = Shim(db, args=["--statement-timeout", "3000", "--lock-timeout", "1000"])
    health = requests.get(shim.url + "/healthz", timeout=10)
    check("GET /healthz: 200 when the database, extension and gate are ready",
          health.status_code == 200 and health.json() == {"status": "ok"}, health.text)

    # The spec's example request and response.
    r = shim.post(json={"test_session_id": A})
    body = r.json()
    check("spec example: 200 with success, message and test_session_id",
          r.status_code == 200 and body["success"] is True and body["message"] == "Test data cleanup completed"
          and body["test_session_id"] == A, r.text)
    check("spec example: deleted_counts holds the spec's seven keys",
          all(isinstance(body["deleted_counts"].get(k), int) for k in SPEC_KEYS), body)
    expected = {"users": 2, "searchables": 1, "invoices": 2, "files": 1, "ratings": 1, "withdrawals": 1, "metrics": 2}
    check("spec example: exact counts for session A",
          {k: body["deleted_counts"][k] for k in SPEC_KEYS} == expected, body["deleted_counts"])
    check("collateral counts are passed through", body["collateral_counts"]["invoices"] == 2, body)
    check("session A's cleanup left session B and production rows",
          psql(db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM users") == "1,2,3,4,5,103,201")
    check("the response is application/json", r.headers["Content-Type"] == "application/json")

    r = shim.post(json={"test_session_id": A})
    check("the same session again: 200 with zero counts",
          r.status_code == 200 and all(v == 0 for v in r.json()["deleted_counts"].values()), r.text)

    # The user's harness posts with no body and no content type.
    r = requests.post(shim.url + "/api/v1/test-cleanup", timeout=30)
    check("no body (requests.post(url)): cleans all test data, no test_session_id in the answer",
          r.status_code == 200 and r.json()["deleted_counts"]["users"] == 1 and "test_session_id" not in r.json(),
          r.text)
    check("after cleaning all, only production users remain",
          psql(db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM users") == "1,2,3,4,5,103")
    psql(db, "SELECT reference_data_load()")
    curl = subprocess.run(["curl", "-s", "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}",
                           shim.url + "/api/v1/test-cleanup"], capture_output=True, text=True, timeout=30)
    check("curl -X POST with no body and no Content-Length: 200", curl.stdout == "200", curl.stdout)
    psql(db, "SELECT reference_data_load()")
    r = shim.post(data="{}", headers={"Content-Type": "application/json"})
    check("body {}: cleans all", r.status_code == 200 and r.json()["deleted_counts"]["users"] == 3, r.text)

    test_bad_input(db, shim)
    test_shared_database(db, shim)
    test_nasty_requests(db, shim)
    test_database_errors(db, shim)
    test_concurrency(db, shim)
    test_restart(db, shim)
    test_harness(db, shim)

    statuses = [line.get("status") for line in shim.logs if "status" in line]
    check("one JSON log line per request with status, session and duration",
          len(statuses) > 30 and all("duration_ms" in line and "session" in line and "client" in line
                                     for line in shim.logs if "status" in line), shim.logs[:3])
    logged = [line for line in shim.logs if line.get("session") == A and line.get("status") == 200]
    check("the log line of a cleanup carries its counts", logged and logged[0]["deleted_counts"]["users"] == 2,
          logged[:1])
    check("SIGTERM: the shim exits 0", shim.stop() == 0)


BAD_BODIES = [
    ("invalid JSON", b'{"test_session_id": ', 400, "invalid_json"),
    ("a JSON array", b"[]", 400, "invalid_body"),
    ("a JSON string", b'"test_session_1"', 400, "invalid_body"),
    ("a JSON number", b"42", 400, "invalid_body"),
    ("test_session_id a number", b'{"test_session_id": 42}', 400, "invalid_session_id"),
    ("test_session_id null", b'{"test_session_id": null}', 400, "invalid_session_id"),
    ("test_session_id an object", b'{"test_session_id": {"a": 1}}', 400, "invalid_session_id"),
    ("test_session_id empty", b'{"test_session_id": ""}', 400, "invalid_session_id"),
    ("test_session_id of 129 characters", json.dumps({"test_session_id": "s" * 129}).encode(), 400,
     "invalid_session_id"),
    ("test_session_id with a space", b'{"test_session_id": "a b"}', 400, "invalid_session_id"),
    ("test_session_id with SQL", b'{"test_session_id": "x\'; DELETE FROM users; --"}', 400, "invalid_session_id"),
    ("a mistyped field name", json.dumps({"test_sesion_id": A}).encode(), 400, "unknown_field"),
    ("an extra field", json.dumps({"test_session_id": A, "all": True}).encode(), 400, "unknown_field"),
    ("a duplicate field", b'{"test_session_id": "a", "test_session_id": "b"}', 400, "duplicate_field"),
    ("invalid UTF-8", b'{"test_session_id": "\xff\xfe"}', 400, "invalid_json"),
    ("a NUL byte", b'{"test_session_id": "a\x00b"}', 400, "invalid_json"),
    ("deeply nested JSON", b"[" * 20000 + b"]" * 20000, 400, "invalid_body"),
    ("a body over 64 KiB", b" " * (64 * 1024 + 1), 413, "body_too_large"),
    ("dry_run a string", b'{"dry_run": "true"}', 400, "invalid_dry_run"),
    ("dry_run a number", b'{"test_session_id": "a", "dry_run": 1}', 400, "invalid_dry_run"),
    ("dry_run null", b'{"dry_run": null}', 400, "invalid_dry_run"),
    ("older_than_seconds 0", b'{"older_than_seconds": 0}', 400, "invalid_older_than_seconds"),
    ("older_than_seconds negative", b'{"older_than_seconds": -60}', 400, "invalid_older_than_seconds"),
    ("older_than_seconds a fraction", b'{"older_than_seconds": 1.5}', 400, "invalid_older_than_seconds"),
    ("older_than_seconds a float", b'{"older_than_seconds": 60.0}', 400, "invalid_older_than_seconds"),
    ("older_than_seconds a string", b'{"older_than_seconds": "3600"}', 400, "invalid_older_than_seconds"),
    ("older_than_seconds null", b'{"older_than_seconds": null}', 400, "invalid_older_than_seconds"),
    ("older_than_seconds too large", b'{"older_than_seconds": 100000000000000000000}', 400,
     "invalid_older_than_seconds"),
    ("older_than_seconds with a session", json.dumps({"older_than_seconds": 60, "test_session_id": A}).encode(),
     400, "conflicting_fields"),
]


def test_bad_input(db, shim):
    psql(db, "SELECT reference_data_load()")
    before = snapshot(db)
    for name, data, status, code in BAD_BODIES:
        r = shim.post(data=data, headers={"Content-Type": "application/json"})
        ok = r.status_code == status and r.json().get("success") is False and r.json()["error"]["code"] == code
        check(f"{name}: {status} {code}", ok, f"{r.status_code} {r.text}")
    for method in ["GET", "PUT", "DELETE", "PATCH"]:
        r = requests.request(method, shim.url + "/api/v1/test-cleanup", timeout=10)
        check(f"{method} on the endpoint: 405 with Allow: POST",
              r.status_code == 405 and r.headers.get("Allow") == "POST" and r.json()["success"] is False, r.text)
    r = requests.post(shim.url + "/api/v1/test-cleanups", timeout=10)
    check("another path: 404 with a JSON body", r.status_code == 404 and r.json()["error"]["code"] == "not_found")
    check("no rejected request deleted anything", snapshot(db) == before)


def test_shared_database(db, shim):
    """Dry run, the reaper, sessions and heartbeats, and a protected table, over HTTP."""
    psql(db, "SELECT reference_data_load(); DELETE FROM test_cleanup.heartbeat")
    before = snapshot(db)
    r = shim.post(json={"test_session_id": A, "dry_run": True})
    dry = r.json()
    check("dry run: 200 with dry_run true, the spec's fields and a message that says so",
          r.status_code == 200 and dry["dry_run"] is True and dry["success"] is True
          and dry["test_session_id"] == A and "nothing was deleted" in dry["message"]
          and all(isinstance(dry["deleted_counts"].get(k), int) for k in SPEC_KEYS), r.text)
    check("dry run: nothing deleted", snapshot(db) == before)
    r = shim.post(json={"test_session_id": A, "dry_run": False})
    real = r.json()
    check("dry_run false: the real cleanup deletes what the dry run counted",
          r.status_code == 200 and "dry_run" not in real and real["deleted_counts"] == dry["deleted_counts"]
          and real["collateral_counts"] == dry["collateral_counts"], r.text)

    # Sessions and heartbeats.
    psql(db, "SELECT reference_data_load()")
    r = requests.get(shim.url + "/api/v1/test-sessions", timeout=10)
    sessions = {s["test_session_id"]: s for s in r.json().get("sessions", [])}
    check("GET /api/v1/test-sessions: both reference sessions with their marked rows and test_timestamp",
          r.status_code == 200 and sessions.get(A, {}).get("marked_rows", {}).get("users") == 2
          and sessions.get(B, {}).get("last_seen", "").startswith("2024-01-01T12:00:00"), r.text)
    r = requests.post(shim.url + f"/api/v1/test-sessions/{A}/heartbeat", timeout=10)
    check("POST /api/v1/test-sessions/{id}/heartbeat: 200 with the time recorded",
          r.status_code == 200 and r.json()["test_session_id"] == A and r.json()["last_heartbeat"], r.text)
    r = requests.get(shim.url + "/api/v1/test-sessions", timeout=10)
    beating = [s for s in r.json()["sessions"] if s["last_heartbeat"]]
    check("the heartbeat shows in the session list", [s["test_session_id"] for s in beating] == [A], r.text)
    for path, code in [("/api/v1/test-sessions/a%20b/heartbeat", 400), ("/api/v1/test-sessions/" + "s" * 129 +
                       "/heartbeat", 400), ("/api/v1/test-sessions/a/b/heartbeat", 404)]:
        r = requests.post(shim.url + path, timeout=10)
        check(f"heartbeat for a bad id ({path[:40]}...): {code}", r.status_code == code
              and r.json()["success"] is False, r.text)
    for method, path, allowed in [("GET", f"/api/v1/test-sessions/{A}/heartbeat", "POST"),
                                  ("PUT", "/api/v1/test-sessions", "GET, POST"),
                                  ("DELETE", "/api/v1/test-sessions", "GET, POST")]:
        r = requests.request(method, shim.url + path, timeout=10)
        check(f"{method} {path[:30]}: 405 with Allow: {allowed}",
              r.status_code == 405 and r.headers.get("Allow") == allowed, r.text)

    # A new session for a harness in another language: its id and metadata.
    r = requests.post(shim.url + "/api/v1/test-sessions", timeout=10)
    created = r.json()
    check("POST /api/v1/test-sessions: 201 with a new session id and its spec metadata",
          r.status_code == 201 and created["success"] is True
          and created["test_session_id"].startswith("test_session_")
          and created["metadata"]["test_session_id"] == created["test_session_id"]
          and created["metadata"]["test_marker"] == "integration_test_data"
          and created["metadata"]["created_by_test"] is True, r.text)
    r2 = requests.post(shim.url + "/api/v1/test-sessions", timeout=10)
    check("POST /api/v1/test-sessions twice: two different sessions",
          r2.status_code == 201 and r2.json()["test_session_id"] != created["test_session_id"], r2.text)

    # The reaper: B's rows are from 2024 and it has no heartbeat; A beat just now.
    before = snapshot(db)
    r = shim.post(json={"older_than_seconds": 3600, "dry_run": True})
    dry = r.json()
    check("reaper dry run: 200, B would be reaped, A is alive, nothing deleted",
          r.status_code == 200 and list(dry["reaped_sessions"]) == [B] and dry["skipped_alive"] == 1
          and dry["dry_run"] is True and snapshot(db) == before, r.text)
    r = shim.post(json={"older_than_seconds": 3600})
    reaped = r.json()
    check("reaper: 200 with the spec's fields, counts per session, and the dry run's totals",
          r.status_code == 200 and reaped["success"] is True and list(reaped["reaped_sessions"]) == [B]
          and all(isinstance(reaped["deleted_counts"].get(k), int) for k in SPEC_KEYS)
          and reaped["deleted_counts"] == dry["deleted_counts"] and reaped["deleted_counts"]["users"] == 1
          and "test_session_id" not in reaped, r.text)
    check("reaper: session A (alive) and production untouched",
          psql(db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM users") == "1,2,3,4,5,101,102,103")

    # A protected table: 409 naming it, nothing deleted; a dry run warns.
    psql(db, "SELECT reference_data_load(); SELECT test_cleanup.protect('invoices')")
    before = snapshot(db)
    r = shim.post(json={"test_session_id": A})
    body = r.json()
    check("protected table: 409 with the table and count in error, SQLSTATE TCP01",
          r.status_code == 409 and body["success"] is False and body["error"]["code"] == "TCP01"
          and "public.invoices" in body["error"]["message"] and "2 row(s)" in body["error"]["message"], r.text)
    check("protected table: nothing deleted", snapshot(db) == before)
    r = shim.post(json={"test_session_id": A, "dry_run": True})
    check("protected table, dry run: 200 with a warning naming it",
          r.status_code == 200 and [w["table"] for w in r.json()["warnings"]] == ["public.invoices"], r.text)
    psql(db, "SELECT test_cleanup.unprotect('invoices')")


def raw_request(url, payload, pause=0.0, chunk=0, head=b""):
    """Sends raw bytes (optionally trickled, stopping once an answer is there) and returns
    the first response line, or ''."""
    host, port = url.replace("http://", "").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(head)
        if chunk:
            for i in range(0, len(payload), chunk):
                try:
                    sock.sendall(payload[i:i + chunk])
                except (BrokenPipeError, ConnectionResetError):
                    break
                if select.select([sock], [], [], pause)[0]:
                    break  # the server has answered (or closed): stop sending
        else:
            sock.sendall(payload)
        try:
            return sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        except (socket.timeout, ConnectionResetError):
            return ""


def test_nasty_requests(db, shim):
    psql(db, "SELECT reference_data_load()")
    before = snapshot(db)
    headers = b"".join(b"X-Header-%d: %d\r\n" % (i, i) for i in range(5000))
    body = b'{"test_session_id": "nobody"}'
    first = raw_request(shim.url, b"POST /api/v1/test-cleanup HTTP/1.1\r\nHost: x\r\n" + headers +
                        b"Content-Length: %d\r\n\r\n" % len(body) + body)
    check("5000 headers: an answer, not a crash", first.startswith("HTTP/1.1"), first)
    # Slow clients: two stall in the middle of their headers (cut by the 5 s read timeout),
    # two trickle their body a byte every half second (cut by the 10 s body deadline, 408);
    # meanwhile everyone else is answered.
    results = {}

    def stall(n):
        results[n] = raw_request(shim.url, b"POST /api/v1/test-cleanup HTTP/1.1\r\nHost: x\r\nX-Slow", 8.0, 1000)

    def trickle(n):
        results[n] = raw_request(shim.url, b" " * 60, 0.5, 1,
                                 head=b"POST /api/v1/test-cleanup HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n")

    slow = [threading.Thread(target=stall, args=(n,)) for n in (1, 2)]
    slow += [threading.Thread(target=trickle, args=(n,)) for n in (3, 4)]
    started = time.time()
    for t in slow:
        t.start()
    time.sleep(0.5)
    r = shim.post(json={"test_session_id": "nobody"})
    check("slow clients do not stop others from being answered", r.status_code == 200, r.text)
    for t in slow:
        t.join()
    check("slow bodies are cut off with 408 after the body deadline",
          results[3].startswith("HTTP/1.1 408") and results[4].startswith("HTTP/1.1 408")
          and time.time() - started < 20, (results, time.time() - started))
    garbage = raw_request(shim.url, b"\x00\xff GARBAGE \r\n\r\n")
    check("a request line of garbage: 400, not a crash", garbage.startswith("HTTP/1.1 400"), garbage)
    r = requests.get(shim.url + "/healthz", timeout=10)
    check("after the nasty requests the shim still answers", r.status_code == 200)
    check("nasty requests deleted nothing", snapshot(db) == before)


def test_database_errors(db, shim):
    psql(db, "SELECT reference_data_load()")
    before = snapshot(db)
    psql(db, """CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'withdrawal is being paid out'; END $$;
                CREATE TRIGGER refuse BEFORE DELETE ON withdrawals FOR EACH ROW EXECUTE FUNCTION refuse()""")
    r = shim.post(json={"test_session_id": A})
    body = r.json()
    check("a failing cleanup: 500, success false, PostgreSQL's code, message and detail",
          r.status_code == 500 and body["success"] is False and body["error"]["code"] == "P0001"
          and "paid out" in body["error"]["message"] and "withdrawals" in body["error"]["details"], r.text)
    check("a failing cleanup deleted nothing", snapshot(db) == before)
    psql(db, "DROP TRIGGER refuse ON withdrawals")

    # statement_timeout (3 s for this shim) -> 504
    psql(db, """CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN PERFORM pg_sleep(10); RETURN OLD; END $$;
                CREATE TRIGGER slow BEFORE DELETE ON withdrawals FOR EACH ROW EXECUTE FUNCTION slow()""")
    r = shim.post(json={"test_session_id": A})
    check("statement timeout: 504 with SQLSTATE 57014", r.status_code == 504 and r.json()["error"]["code"] == "57014",
          r.text)
    psql(db, "DROP TRIGGER slow ON withdrawals")
    check("a timed-out cleanup deleted nothing", snapshot(db) == before)

    # lock_timeout (1 s) while another transaction holds the users table -> 503
    holder = subprocess.Popen(["psql", "-X", "-q", "-d", db, "-c", "BEGIN", "-c",
                               "LOCK TABLE users IN ACCESS EXCLUSIVE MODE", "-c", "SELECT pg_sleep(3)",
                               "-c", "COMMIT"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    r = shim.post(json={"test_session_id": A})
    holder.wait()
    check("lock timeout: 503 with SQLSTATE 55P03", r.status_code == 503 and r.json()["error"]["code"] == "55P03",
          r.text)
    check("a cleanup that could not lock deleted nothing", snapshot(db) == before)

    # The gate closed in the database: a shim on a database whose gate is off.
    closed = db + "_closed"
    fresh_db(closed, gate="off")
    closed_shim = Shim(closed)
    r = closed_shim.post(json={"test_session_id": A})
    body = r.json()
    check("database gate off: 403 with SQLSTATE 42501 and the hint to enable it",
          r.status_code == 403 and body["error"]["code"] == "42501" and "ALTER DATABASE" in body["error"]["hint"],
          r.text)
    health = requests.get(closed_shim.url + "/healthz", timeout=10)
    check("database gate off: /healthz is 503 and says why",
          health.status_code == 503 and "test_cleanup.enabled" in health.json()["reason"], health.text)
    check("database gate off: nothing deleted", psql(closed, "SELECT count(*) FROM users") == "9")
    for name, r in [("reaper", closed_shim.post(json={"older_than_seconds": 60})),
                    ("new session", requests.post(closed_shim.url + "/api/v1/test-sessions", timeout=10)),
                    ("GET test-sessions", requests.get(closed_shim.url + "/api/v1/test-sessions", timeout=10)),
                    ("heartbeat", requests.post(closed_shim.url + f"/api/v1/test-sessions/{A}/heartbeat",
                                                timeout=10))]:
        check(f"database gate off: {name} is 403 too", r.status_code == 403 and r.json()["error"]["code"] == "42501",
              r.text)
    check("database gate off: no heartbeat was written",
          psql(closed, "SELECT count(*) FROM test_cleanup.heartbeat") == "0")
    closed_shim.stop()
    psql("postgres", f"DROP DATABASE {closed}")

    # No extension at all: retrying will not install it, so not a 503 "try again".
    bare = db + "_bare"
    subprocess.run(["dropdb", "--if-exists", bare], capture_output=True)
    subprocess.run(["createdb", bare], check=True)
    bare_shim = Shim(bare)
    r = bare_shim.post(json={"test_session_id": A})
    check("extension not installed: 500 with SQLSTATE 42883 and a message that says so (not 503)",
          r.status_code == 500 and r.json()["error"]["code"] == "42883"
          and "not installed" in r.json()["message"], r.text)
    r = requests.get(bare_shim.url + "/api/v1/test-sessions", timeout=10)
    check("extension not installed: the session list is 500 too", r.status_code == 500, r.text)
    bare_shim.stop()
    psql("postgres", f"DROP DATABASE {bare}")


def test_concurrency(db, shim):
    psql(db, "SELECT reference_data_load()")
    psql(db, """INSERT INTO users SELECT 1000 + s, 'p' || s, NULL, reference_metadata('par_' || s, 'user')
                  FROM generate_series(1, 6) s;
                INSERT INTO user_profiles SELECT 1000 + s, 1000 + s, 'p' FROM generate_series(1, 6) s""")
    results = {}

    def clean(session):
        results[session] = shim.post(json={"test_session_id": session})

    threads = [threading.Thread(target=clean, args=(f"par_{s}",)) for s in range(1, 7)]
    threads += [threading.Thread(target=clean, args=(A,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("seven concurrent requests for different sessions: all 200",
          all(r.status_code == 200 for r in results.values()), {k: r.status_code for k, r in results.items()})
    check("each concurrent request deleted exactly its session's users",
          all(r.json()["deleted_counts"]["users"] == (2 if s == A else 1) for s, r in results.items()))
    check("concurrent cleanups left session B and production",
          psql(db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM users") == "1,2,3,4,5,103,201")


def test_restart(db, shim):
    cluster = os.path.join(REPO, "test", "cluster.sh")
    psql(db, "SELECT reference_data_load()")
    subprocess.run(["bash", cluster, "down"], check=True)
    r = shim.post(json={"test_session_id": A})
    check("database down: 503, success false", r.status_code == 503 and r.json()["success"] is False, r.text)
    health = requests.get(shim.url + "/healthz", timeout=10)
    check("database down: /healthz 503", health.status_code == 503)
    subprocess.run(["bash", cluster, "up"], check=True)
    r = shim.post(json={"test_session_id": A})
    check("database back: the same shim cleans again (200)",
          r.status_code == 200 and r.json()["deleted_counts"]["users"] == 2, r.text)


def test_harness(db, shim):
    harness = os.path.join(REPO, "test", "run_comprehensive_tests.sh")
    env = dict(os.environ, PGDATABASE=db, TEST_CLEANUP_URL=shim.url)
    psql(db, "SELECT reference_data_load(); "
             "SELECT test_cleanup.auto_tag(t) FROM unnest('{users,searchables,metrics}'::regclass[]) t")
    kept = subprocess.run(["bash", harness, "--keep"], env=env, capture_output=True, text=True, timeout=60)
    check("run_comprehensive_tests.sh --keep: passes and keeps its data",
          kept.returncode == 0 and psql(db, "SELECT count(*) FROM users WHERE email LIKE 'test_session_%'") == "1",
          kept.stdout + kept.stderr)
    cleaned = subprocess.run(["bash", harness], env=env, capture_output=True, text=True, timeout=60)
    check("run_comprehensive_tests.sh: passes and cleans its own session on exit",
          cleaned.returncode == 0 and "HTTP 200" in cleaned.stdout
          and psql(db, "SELECT count(*) FROM users WHERE email LIKE 'test_session_%'") == "1",
          cleaned.stdout + cleaned.stderr)
    psql(db, "SELECT test_cleanup.auto_tag(t, false) FROM unnest('{users,searchables,metrics}'::regclass[]) t")


def test_token_and_rate_limit(db):
    psql(db, "SELECT reference_data_load(); DELETE FROM test_cleanup.heartbeat")
    token_file = os.path.join(REPO, ".tmp", "shim-token")
    with open(token_file, "w") as f:
        f.write("s3cret-token-for-tests\n")
    shim = Shim(db, args=["--token-file", token_file])
    r = shim.post(json={"test_session_id": A})
    check("token set, no Authorization: 401 with WWW-Authenticate",
          r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.text)
    r = shim.post(json={"test_session_id": A}, headers={"Authorization": "Bearer s3cret-token-for-test"})
    check("token set, wrong token: 401", r.status_code == 401)
    check("no unauthorized request deleted anything", psql(db, "SELECT count(*) FROM users") == "9")
    for name, r in [("GET test-sessions", requests.get(shim.url + "/api/v1/test-sessions", timeout=10)),
                    ("heartbeat", requests.post(shim.url + f"/api/v1/test-sessions/{A}/heartbeat", timeout=10)),
                    ("reaper", shim.post(json={"older_than_seconds": 1}))]:
        check(f"token set, no Authorization: {name} is 401 too", r.status_code == 401, r.text)
    check("no unauthorized request deleted or wrote anything", psql(db, "SELECT count(*) FROM users") == "9"
          and psql(db, "SELECT count(*) FROM test_cleanup.heartbeat") == "0")
    r = shim.post(json={"test_session_id": A}, headers={"Authorization": "Bearer s3cret-token-for-tests"})
    check("token set, right token: 200", r.status_code == 200 and r.json()["deleted_counts"]["users"] == 2, r.text)
    r = requests.get(shim.url + "/api/v1/test-sessions", timeout=10,
                     headers={"Authorization": "Bearer s3cret-token-for-tests"})
    check("token set, right token: GET test-sessions 200", r.status_code == 200, r.text)
    shim.stop()

    limited = Shim(db, extra_env={"TEST_CLEANUP_RATE_LIMIT": "0.5", "TEST_CLEANUP_BURST": "2"})
    codes = [limited.post(json={"test_session_id": "rate_s"}) for _ in range(3)]
    check("rate limit (burst 2): the third quick request is 429 with Retry-After",
          [r.status_code for r in codes] == [200, 200, 429] and int(codes[2].headers["Retry-After"]) >= 1,
          [r.status_code for r in codes])
    limited.stop()


def test_least_privilege(db):
    """docs/SECURITY.md's role for the shim: CONNECT and EXECUTE on test_cleanup, nothing else."""
    psql(db, "SELECT reference_data_load()")
    psql(db, f"""DROP ROLE IF EXISTS tc_shim_role; CREATE ROLE tc_shim_role LOGIN;
                 GRANT CONNECT ON DATABASE {db} TO tc_shim_role;
                 GRANT EXECUTE ON FUNCTION public.test_cleanup(text, boolean) TO tc_shim_role;
                 GRANT USAGE ON SCHEMA test_cleanup TO tc_shim_role;
                 GRANT EXECUTE ON FUNCTION test_cleanup.reap(interval, boolean), test_cleanup.sessions(),
                                           test_cleanup.heartbeat(text) TO tc_shim_role""")
    shim = Shim(db, extra_env={"TEST_CLEANUP_DB": f"dbname={db} user=tc_shim_role"})
    health = requests.get(shim.url + "/healthz", timeout=10)
    check("least-privilege role: /healthz 200", health.status_code == 200, health.text)
    r = shim.post(json={"test_session_id": A})
    check("least-privilege role (CONNECT + EXECUTE only): the cleanup works",
          r.status_code == 200 and r.json()["deleted_counts"]["users"] == 2, r.text)
    r = requests.post(shim.url + f"/api/v1/test-sessions/{B}/heartbeat", timeout=10)
    check("least-privilege role: heartbeat works", r.status_code == 200, r.text)
    r = requests.post(shim.url + "/api/v1/test-sessions", timeout=10)
    check("least-privilege role: a new session works", r.status_code == 201, r.text)
    r = requests.get(shim.url + "/api/v1/test-sessions", timeout=10)
    check("least-privilege role: the session list works", r.status_code == 200 and r.json()["sessions"], r.text)
    r = shim.post(json={"older_than_seconds": 3600})
    check("least-privilege role: the reaper works (B has a heartbeat now: nothing reaped)",
          r.status_code == 200 and r.json()["reaped_sessions"] == {}, r.text)
    shim.stop()
    denied = subprocess.run(["psql", "-X", "-q", "-d", db, "-U", "tc_shim_role", "-c", "DELETE FROM users"],
                            capture_output=True, text=True)
    check("least-privilege role: a direct DELETE is refused", "permission denied" in denied.stderr, denied.stderr)
    psql(db, f"REVOKE ALL ON FUNCTION public.test_cleanup(text, boolean) FROM tc_shim_role; "
             f"REVOKE ALL ON FUNCTION test_cleanup.reap(interval, boolean), test_cleanup.sessions(), "
             f"test_cleanup.heartbeat(text) FROM tc_shim_role; REVOKE USAGE ON SCHEMA test_cleanup FROM tc_shim_role; "
             f"REVOKE ALL ON DATABASE {db} FROM tc_shim_role; DROP ROLE tc_shim_role")


def test_graceful_stop(db):
    psql(db, "SELECT reference_data_load()")
    psql(db, """CREATE OR REPLACE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN PERFORM pg_sleep(1); RETURN OLD; END $$;
                CREATE TRIGGER slow BEFORE DELETE ON withdrawals FOR EACH ROW WHEN (OLD.id = 2)
                EXECUTE FUNCTION slow()""")
    shim = Shim(db)
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=shim.post(json={"test_session_id": A})))
    worker.start()
    time.sleep(0.4)
    code = shim.stop()
    worker.join()
    check("SIGTERM during a request: the request completes with 200",
          result["r"].status_code == 200 and result["r"].json()["deleted_counts"]["users"] == 2)
    check("SIGTERM during a request: the shim then exits 0", code == 0)
    psql(db, "DROP TRIGGER slow ON withdrawals")


def main():
    db = "tc_shim"
    test_startup_checks()
    test_contract(db)
    test_token_and_rate_limit(db)
    test_least_privilege(db)
    test_graceful_stop(db)
    psql("postgres", f"DROP DATABASE {db}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
