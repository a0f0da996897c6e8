"""A test suite as a team writes it, using the test_session fixture."""

import os
import time

import requests

import app


def test_signup_writes_tagged_rows(test_session):
    user_id = app.signup(os.environ["APP_DB"], "new@example.com", db_options=test_session.options)
    with open(os.environ["SESSION_FILE"], "w") as f:
        f.write(test_session.id)
    assert user_id > 0


def test_metadata_is_the_specs(test_session):
    assert test_session.metadata["test_session_id"] == test_session.id
    assert test_session.metadata["test_marker"] == "integration_test_data"
    assert test_session.id.startswith("test_session_")


def test_the_run_sends_heartbeats(test_session):
    url = os.environ["TEST_CLEANUP_URL"] + "/api/v1/test-sessions"
    for _ in range(50):
        sessions = {s["test_session_id"]: s for s in requests.get(url, timeout=10).json()["sessions"]}
        if sessions.get(test_session.id, {}).get("last_heartbeat"):
            return
        time.sleep(0.1)
    raise AssertionError(f"no heartbeat of {test_session.id} in {sessions}")
