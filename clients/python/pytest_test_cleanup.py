"""pytest plugin for test_cleanup: one test session per pytest run.

    # conftest.py
    pytest_plugins = ["pytest_test_cleanup"]

    def test_signup(test_session):
        app.signup("a@example.com", db_options=test_session.options)

The session-scoped fixture `test_session` asks the test_cleanup HTTP shim for a new session
(POST /api/v1/test-sessions), sends a heartbeat while the run lasts (so the reaper leaves it
alone), and at the end cleans everything the session wrote (POST /api/v1/test-cleanup) —
unless pytest ran with --keep. A failed cleanup fails the run with the cleanup's error.

The application under test tags what it writes when its database connection carries
`test_session.options` (libpq's `options`, or PGOPTIONS=`test_session.options`): tables
enabled with test_cleanup.auto_tag() then mark every row it inserts.

Settings: --test-cleanup-url or TEST_CLEANUP_URL (the shim, default http://127.0.0.1:8080),
TEST_CLEANUP_TOKEN (bearer token, if the shim has one), TEST_CLEANUP_HEARTBEAT_SECONDS
(default 60). Standard library and requests only.
"""

import os
import threading

import pytest
import requests

TIMEOUT = 120  # seconds: a cleanup of a large session may take a while
_REPORT = []  # what the run's end prints: the session cleaned (or kept), and its counts


class TestSession:
    """A test session: its id, its test metadata, and how a connection joins it."""

    __test__ = False  # not a test class, whatever pytest's collection rules say

    def __init__(self, session_id, metadata):
        self.id = session_id
        self.metadata = metadata
        # For libpq's `options` connection parameter (or the PGOPTIONS variable).
        self.options = f"-c test_cleanup.session={session_id}"
        self.env = {"PGOPTIONS": self.options}

    def conninfo(self, base=""):
        """`base` (a libpq keyword/value string) with this session's options added."""
        return f"{base} options='{self.options}'".strip()


class _Client:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def post(self, path, payload=None):
        return requests.post(self.url + path, json=payload, headers=self.headers, timeout=TIMEOUT)


def _error_text(response):
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    error = body.get("error", {})
    parts = [body.get("message", ""), error.get("message", ""), error.get("details", ""), error.get("hint", "")]
    return f"HTTP {response.status_code} ({error.get('code', '?')}): " + " | ".join(p for p in parts if p)


def pytest_addoption(parser):
    group = parser.getgroup("test_cleanup")
    group.addoption("--keep", action="store_true", default=False,
                    help="keep the rows the test session wrote (skip the cleanup at the end)")
    group.addoption("--test-cleanup-url", default=os.environ.get("TEST_CLEANUP_URL", "http://127.0.0.1:8080"),
                    help="the test_cleanup HTTP shim (default: $TEST_CLEANUP_URL or http://127.0.0.1:8080)")


@pytest.fixture(scope="session")
def test_session(request):
    client = _Client(request.config.getoption("--test-cleanup-url"), os.environ.get("TEST_CLEANUP_TOKEN"))
    created = client.post("/api/v1/test-sessions")
    if created.status_code != 201:
        pytest.fail(f"test_cleanup: could not create a test session: {_error_text(created)}", pytrace=False)
    body = created.json()
    session = TestSession(body["test_session_id"], body["metadata"])

    stop = threading.Event()
    interval = float(os.environ.get("TEST_CLEANUP_HEARTBEAT_SECONDS", "60"))

    def beat():
        while True:
            try:
                client.post(f"/api/v1/test-sessions/{session.id}/heartbeat")
            except requests.RequestException:
                pass  # a missed beat is harmless; the next one may get through
            if stop.wait(interval):
                return

    heartbeat = threading.Thread(target=beat, name="test_cleanup heartbeat", daemon=True)
    heartbeat.start()
    yield session
    stop.set()
    heartbeat.join(timeout=10)

    if request.config.getoption("--keep"):
        _REPORT.append(f"test_cleanup: --keep: the rows of {session.id} were kept")
        return
    cleaned = client.post("/api/v1/test-cleanup", {"test_session_id": session.id})
    if cleaned.status_code != 200:
        pytest.fail(f"test_cleanup: the cleanup of {session.id} failed, nothing was deleted: "
                    f"{_error_text(cleaned)}", pytrace=False)
    counts = {k: v for k, v in cleaned.json()["deleted_counts"].items() if v}
    _REPORT.append(f"test_cleanup: cleaned {session.id}: {counts}")


def pytest_terminal_summary(terminalreporter):
    for line in _REPORT:
        terminalreporter.write_line(line)
