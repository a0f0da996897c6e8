"""A tiny application under test: a signup writes a user, a profile, a listing and a
metric through the application's own database connection. It knows nothing of tests;
only the connection's options (test_cleanup.session) make its rows test data."""

import psycopg2


def signup(dbname, email, db_options=""):
    conn = psycopg2.connect(dbname=dbname, options=db_options)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO users (id, email) VALUES (nextval('app_ids'), %s) RETURNING id", (email,))
            user_id = cur.fetchone()[0]
            cur.execute("INSERT INTO user_profiles VALUES (nextval('app_ids'), %s, 'new')", (user_id,))
            cur.execute("INSERT INTO searchables (id, owner_id, title, payloads) "
                        "VALUES (nextval('app_ids'), %s, 'first listing', '{\"public\": {\"title\": \"t\"}}')",
                        (user_id,))
            # Nothing links a metric to the user: only tagging makes it test data.
            cur.execute("INSERT INTO metrics (id, name, tags) VALUES (nextval('app_ids'), 'signup', NULL)")
        return user_id
    finally:
        conn.close()
