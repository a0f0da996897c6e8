#!/usr/bin/env bash
# Concurrency on a real cluster: cleanups of different sessions at once, the same session
# twice at once, and rows inserted while a cleanup runs. Ordering is made deterministic by
# waiting until a session is blocked on a lock (pg_stat_activity), not by sleeping.
source "$(dirname "$0")/lib.sh"

db=tc_concurrency
A=test_session_1640995200_abc12345
B=test_session_1640995300_def67890
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Waits until at least N other backends of $db wait for a lock (at most 20 s).
wait_for_lock_waiters() {
  for _ in $(seq 1 200); do
    [ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND wait_event_type = 'Lock'")" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "    (timed out waiting for $1 lock waiter(s))"
  return 1
}

# Runs SQL commands in one session in the background, writing its output to $work/NAME.
background() {
  local name=$1
  shift
  local args=()
  for sql in "$@"; do args+=(-c "$sql"); done
  psql -X -q -A -t -d "$db" "${args[@]}" >"$work/$name" 2>&1 &
}

# --- two sessions at once: both succeed, neither deletes the other's rows -------------
fresh_reference_db "$db"
background first "BEGIN" "SELECT test_cleanup('$A') -> 'deleted_counts' -> 'users'" "SELECT pg_sleep(1)" "COMMIT"
sleep 0.3
background second "SELECT test_cleanup('$B') -> 'deleted_counts' -> 'users'"
wait
expect_eq "session A cleaned while B ran: A's two users" "2" "$(head -1 "$work/first")"
expect_eq "session B cleaned while A ran: B's one user" "1" "$(cat "$work/second")"
expect_eq "both left exactly the production users" "1,103,2,3,4,5" \
  "$(q "$db" "SELECT string_agg(id::text, ',' ORDER BY id::text) FROM users")"
expect_eq "no row of either session is left" "0" \
  "$(q "$db" "SELECT count(*) FROM reference_rows WHERE id ~ '^[12]0[0-9]$' AND tbl <> 'users' OR (tbl = 'users' AND id IN ('101','102','201'))")"

# --- the same session twice at once: the second waits and finds nothing ----------------
fresh_reference_db "$db"
background first "BEGIN" "SELECT test_cleanup('$A') -> 'deleted_counts' -> 'users'" "SELECT pg_sleep(0.5)" "COMMIT"
sleep 0.2
background second "SELECT test_cleanup('$A') -> 'deleted_counts'"
wait
expect_eq "first call of session A deletes its users" "2" "$(head -1 "$work/first")"
expect_match "concurrent second call of session A returns zeros" '^\{("[a-z_]+": 0(, )?)+\}$' "$(cat "$work/second")"

# --- a child inserted (not yet committed) before the cleanup: with a foreign key, the
#     cleanup waits for it (the insert holds a key lock on its owner), sees it, deletes it;
#     without one (a link), only the opt-in table locks make it wait -------------------------
# table row | how many rows of that table session A has without it | settings
for case in "user_profiles VALUES (999, 101, 'late')|2|" \
  "media_uploads VALUES (999, 101, '/late')|1|SET test_cleanup.lock_tables = on"; do
  IFS='|' read -r table usual settings <<<"$case"
  name=${table%% *}
  fresh_reference_db "$db"
  background inserter "BEGIN" "INSERT INTO $table" "SELECT pg_sleep(1)" "COMMIT"
  sleep 0.3
  background cleanup "${settings:-SELECT}" "SELECT test_cleanup('$A') -> 'deleted_counts' -> '$name'"
  wait
  expect_eq "$name row inserted while the cleanup started is not left behind${settings:+ ($settings)}" "0" \
    "$(q "$db" "SELECT count(*) FROM $name WHERE id = 999")"
  expect_eq "$name: the cleanup counted it" "$((usual + 1))" "$(tail -1 "$work/cleanup")"
done
# Row locks (the default): the cleanup does not wait for the link row's writer; a row that
# commits after the cleanup is an orphan as after any commit, and verify() names it.
fresh_reference_db "$db"
background inserter "BEGIN" "INSERT INTO media_uploads VALUES (999, 101, '/late')" "SELECT pg_sleep(1.5)" "COMMIT"
sleep 0.3
expect_eq "row locks: the cleanup does not wait for a writer of a linked table" "1" \
  "$(q "$db" "SELECT test_cleanup('$A') -> 'deleted_counts' -> 'media_uploads'")"
wait
expect_match "row locks: what commits after the cleanup, verify() reports" \
  'media_uploads\|link \(searchable_id\) points at a missing row of public.searchables \(id\)\|1\|\(999\)' \
  "$(q "$db" "SELECT * FROM test_cleanup.verify('$A')")"

# --- the sweep: link rows committed while the cleanup runs (held inside its last delete by
#     a trigger on users) are found after the deletes, with what depends on them; with
#     test_cleanup.lock_tables the writer waits for the cleanup instead -------------------
late_rows="INSERT INTO invoices VALUES (999, 101, 1, 9);
           INSERT INTO invoice_notes VALUES (999, 999, 'late');
           INSERT INTO payment_records VALUES (999, 999, 'late');
           INSERT INTO media_uploads VALUES (999, 101, '/late');"
pause_on_users="CREATE FUNCTION pause_once() RETURNS trigger LANGUAGE plpgsql AS \$\$
                BEGIN PERFORM pg_sleep(1); RETURN OLD; END \$\$;
                CREATE TRIGGER pause_once BEFORE DELETE ON users FOR EACH ROW
                  WHEN (OLD.id = 101) EXECUTE FUNCTION pause_once();"
wait_for_pause() {
  for _ in $(seq 1 100); do
    [ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND wait_event = 'PgSleep'")" = 1 ] && return 0
    sleep 0.05
  done
  return 1
}
late_counts="SELECT concat_ws(' ', c -> 'invoices', c -> 'invoice_notes', c -> 'payment_records', c -> 'media_uploads')
               FROM (SELECT test_cleanup('$A') -> 'deleted_counts' AS c) r"
fresh_reference_db "$db"
q "$db" "$pause_on_users" >/dev/null
background cleanup "$late_counts"
wait_for_pause || not_ok "the cleanup did not reach its pause"
expect_eq "row locks: link rows commit while the cleanup runs" "" "$(psql -X -q -A -t -d "$db" -c "$late_rows" 2>&1)"
wait
expect_eq "the sweep found the late invoice, its note and payment record, and the late upload, and counted them" \
  "3 3 3 2" "$(cat "$work/cleanup")"
expect_eq "nothing of the late rows is left" "0" \
  "$(q "$db" "SELECT (SELECT count(*) FROM invoices WHERE id = 999) + (SELECT count(*) FROM invoice_notes WHERE id = 999)
                   + (SELECT count(*) FROM payment_records WHERE id = 999) + (SELECT count(*) FROM media_uploads WHERE id = 999)")"
expect_eq "verify() after the sweep: nothing dangles" "" "$(q "$db" "SELECT * FROM test_cleanup.verify('$A')")"

fresh_reference_db "$db"
q "$db" "$pause_on_users" >/dev/null
background cleanup "SET test_cleanup.lock_tables = on" "$late_counts"
wait_for_pause || not_ok "the cleanup did not reach its pause"
background inserter "$late_rows"
wait_for_lock_waiters 1 || not_ok "lock_tables: the writer of a linked table did not wait for the cleanup"
wait
expect_eq "lock_tables: the cleanup deleted only what was there before it" "2 2 2 1" "$(tail -1 "$work/cleanup")"
expect_eq "lock_tables: the late rows committed after the cleanup" "4" \
  "$(q "$db" "SELECT (SELECT count(*) FROM invoices WHERE id = 999) + (SELECT count(*) FROM invoice_notes WHERE id = 999)
                   + (SELECT count(*) FROM payment_records WHERE id = 999) + (SELECT count(*) FROM media_uploads WHERE id = 999)")"

# --- a row re-pointed while the cleanup waits for it: invoice 2 (a production user's, for
#     A's searchable: collateral through a link) is moved to a production searchable by a
#     writer that holds it; the cleanup waits for the row, then sees it no longer reaches a
#     doomed row and leaves it (and its note and payment record) ----------------------------
fresh_reference_db "$db"
background writer "BEGIN" "UPDATE invoices SET searchable_id = 1 WHERE id = 2" "SELECT pg_sleep(1)" "COMMIT"
sleep 0.3
background cleanup "SELECT test_cleanup('$A') -> 'deleted_counts' -> 'invoices'"
wait_for_lock_waiters 1 || not_ok "the cleanup did not wait for the row being re-pointed"
wait
expect_eq "row locks: a row re-pointed while the cleanup waited for it is not deleted" "1" "$(tail -1 "$work/cleanup")"
expect_eq "the re-pointed invoice, its note and its payment record are all there" "3" \
  "$(q "$db" "SELECT (SELECT count(*) FROM invoices WHERE id = 2 AND searchable_id = 1)
                   + (SELECT count(*) FROM invoice_notes WHERE invoice_id = 2) + (SELECT count(*) FROM payment_records WHERE invoice_id = 2)")"

# --- a child inserted while the cleanup holds its locks: with a foreign key, the insert
#     waits and then fails; it never commits an orphan -------------------------------------
fresh_reference_db "$db"
background cleanup "BEGIN" "SELECT test_cleanup('$A') -> 'deleted_counts' -> 'users'" "SELECT pg_sleep(0.5)" "COMMIT"
sleep 0.2
background inserter "INSERT INTO user_profiles VALUES (998, 101, 'too late')"
wait_for_lock_waiters 1 || not_ok "the insert did not wait for the cleanup"
wait
expect_match "insert referencing a doomed user fails after the cleanup commits" 'violates foreign key constraint' "$(cat "$work/inserter")"
expect_eq "no orphan profile" "0" "$(q "$db" "SELECT count(*) FROM user_profiles WHERE user_id NOT IN (SELECT id FROM users)")"

# --- updaters rewriting doomed rows while the cleanup runs: the cleanup pauses inside its
#     first delete (a trigger sleeps on one comment), another client updates every post
#     meanwhile. With table locks (no row locks on dependents) the updates of doomed posts
#     commit, and the cleanup still deletes all of them: rows are named by key. With row
#     locks (the default) the updater waits for the doomed posts and then finds them gone --
for settings in "SET test_cleanup.lock_tables = on" ""; do
  fresh_reference_db "$db"
  q "$db" "
    CREATE TABLE cc_profiles (id int PRIMARY KEY, meta jsonb);
    CREATE TABLE cc_posts (id int PRIMARY KEY, profile_id int REFERENCES cc_profiles ON DELETE CASCADE, edits int NOT NULL DEFAULT 0);
    CREATE TABLE cc_comments (id int PRIMARY KEY, post_id int REFERENCES cc_posts ON DELETE CASCADE);
    SELECT test_cleanup.add_root('cc_profiles', 'meta');
    INSERT INTO cc_profiles VALUES (1, reference_metadata('cc_1', 'user')), (2, NULL);
    INSERT INTO cc_posts (id, profile_id) SELECT s, 1 + (s > 50)::int FROM generate_series(1, 60) s;
    INSERT INTO cc_comments SELECT s, s FROM generate_series(1, 60) s;
    CREATE FUNCTION pause_once() RETURNS trigger LANGUAGE plpgsql AS \$\$
    BEGIN PERFORM pg_sleep(1); RETURN OLD; END \$\$;
    CREATE TRIGGER pause_once BEFORE DELETE ON cc_comments FOR EACH ROW
      WHEN (OLD.id = 1) EXECUTE FUNCTION pause_once();" >/dev/null
  background cleanup "${settings:-SELECT}" "SELECT test_cleanup('cc_1') -> 'deleted_counts' -> 'cc_posts'"
  wait_for_pause
  updated=$(q "$db" "UPDATE cc_posts SET edits = edits + 1 RETURNING id" | wc -l)
  wait
  if [ -n "$settings" ]; then
    expect_eq "lock_tables: all posts updated by another client while the cleanup paused" "60" "$updated"
  else
    expect_eq "row locks: the updater waited for the doomed posts, then updated the others" "10" "$updated"
  fi
  expect_eq "the cleanup still deleted and counted the 50 doomed posts${settings:+ ($settings)}" "50" "$(tail -1 "$work/cleanup")"
  expect_eq "the other profile's 10 posts are left, with their update" "10 10" \
    "$(q "$db" "SELECT count(*) || ' ' || sum(edits) FROM cc_posts")"
done

# --- eight sessions at once, with dependents shared across sessions: no deadlock -------
fresh_reference_db "$db"
q "$db" "
  INSERT INTO users SELECT 1000 + s, 'u' || s || '@example.com', NULL, reference_metadata('par_' || s, 'user') FROM generate_series(1, 8) s;
  INSERT INTO searchables SELECT 1000 + s, 1000 + s, 'item ' || s,
         jsonb_build_object('public', jsonb_build_object('test_metadata', reference_metadata('par_' || s, 'searchable')))
    FROM generate_series(1, 8) s;
  -- each session's user buys the next session's searchable: the invoice belongs to both
  INSERT INTO invoices SELECT 1000 + s, 1000 + (s % 8) + 1, 1000 + s, 1 FROM generate_series(1, 8) s;
  INSERT INTO invoice_notes SELECT 1000 + s, 1000 + s, 'n' FROM generate_series(1, 8) s;" >/dev/null ||
  not_ok "eight sessions' data could not be created"
expect_eq "eight sessions' data is in place" "32" \
  "$(q "$db" "SELECT (SELECT count(*) FROM users WHERE id > 1000) + (SELECT count(*) FROM searchables WHERE id > 1000) + (SELECT count(*) FROM invoices WHERE id > 1000) + (SELECT count(*) FROM invoice_notes WHERE id > 1000)")"
for s in $(seq 1 8); do background "par$s" "SELECT test_cleanup('par_$s') -> 'deleted_counts' -> 'users'"; done
wait
errors=$(cat "$work"/par* | grep -c ERROR || true)
expect_eq "eight concurrent cleanups: no error, no deadlock" "0" "$errors"
expect_eq "eight concurrent cleanups: every session's rows are gone" "0" \
  "$(q "$db" "SELECT (SELECT count(*) FROM users WHERE id > 1000) + (SELECT count(*) FROM searchables WHERE id > 1000) + (SELECT count(*) FROM invoices WHERE id > 1000) + (SELECT count(*) FROM invoice_notes WHERE id > 1000)")"
expect_eq "eight concurrent cleanups: production and sessions A/B untouched" "57" \
  "$(q "$db" "SELECT count(*) FROM reference_rows")"

# --- stress: eight cleanups at once while two other clients insert production rows and
#     new test rows of another session; repeated (TEST_CLEANUP_LONG=1: 20 rounds) ----------
rounds=3
[ "${TEST_CLEANUP_LONG:-0}" = 1 ] && rounds=20
fresh_reference_db "$db"
problems=0
for round in $(seq 1 "$rounds"); do
  base=$((round * 100000))
  q "$db" "
    INSERT INTO users SELECT $base + s, 'st' || s, NULL, reference_metadata('st_${round}_' || s, 'user') FROM generate_series(1, 8) s;
    INSERT INTO user_profiles SELECT $base + s, $base + s, 'p' FROM generate_series(1, 8) s;
    INSERT INTO searchables SELECT $base + s, $base + s, 'item',
           jsonb_build_object('public', jsonb_build_object('test_metadata', reference_metadata('st_${round}_' || s, 'searchable')))
      FROM generate_series(1, 8) s;
    INSERT INTO invoices SELECT $base + s, $base + (s % 8) + 1, $base + s, 1 FROM generate_series(1, 8) s;
    INSERT INTO payment_records SELECT $base + s, $base + s, 'r' FROM generate_series(1, 8) s;
    INSERT INTO invoice_notes SELECT $base + s, $base + s, 'n' FROM generate_series(1, 8) s;" >/dev/null ||
    problems=$((problems + 1))
  # Inserters: one statement per transaction, 60 rounds each, while the cleanups run.
  for kind in prod late; do
    for i in $(seq 1 60); do
      id=$((base + 1000 + i + $([ $kind = late ] && echo 500 || echo 0)))
      meta=$([ $kind = late ] && echo "reference_metadata('late_$round', 'user')" || echo NULL)
      echo "INSERT INTO users VALUES ($id, 'ins$id', NULL, $meta);"
      echo "INSERT INTO user_profiles VALUES ($id, $id, 'p');"
      echo "INSERT INTO invoices VALUES ($id, 1, $id, 1);"
      echo "INSERT INTO payment_records VALUES ($id, $id, 'r');"
    done >"$work/inserts_$kind.sql"
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$work/inserts_$kind.sql" >"$work/inserter_$kind" 2>&1 &
  done
  for s in $(seq 1 8); do background "st$s" "SELECT test_cleanup('st_${round}_$s') -> 'deleted_counts' -> 'users'"; done
  wait
  errors=$(cat "$work"/st[0-9]* "$work"/inserter_* | grep -c ERROR || true)
  left=$(q "$db" "SELECT count(*) FROM users WHERE test_metadata ->> 'test_session_id' LIKE 'st\_${round}\_%'")
  inserted=$(q "$db" "SELECT count(*) FROM users u JOIN user_profiles p ON p.user_id = u.id JOIN invoices i ON i.buyer_id = u.id JOIN payment_records r ON r.invoice_id = i.id WHERE u.id BETWEEN $base + 1001 AND $base + 1560")
  orphans=$(q "$db" "SELECT (SELECT count(*) FROM invoices WHERE searchable_id NOT IN (SELECT id FROM searchables))
                          + (SELECT count(*) FROM payment_records WHERE invoice_id NOT IN (SELECT id FROM invoices))
                          + (SELECT count(*) FROM media_uploads WHERE searchable_id NOT IN (SELECT id FROM searchables))")
  if [ "$errors" != 0 ] || [ "$left" != 0 ] || [ "$inserted" != 120 ] || [ "$orphans" != 0 ]; then
    echo "    round $round: errors $errors, session rows left $left, inserted rows complete $inserted/120, orphans $orphans"
    problems=$((problems + 1))
  fi
done
expect_eq "$rounds rounds of 8 concurrent cleanups with 2 concurrent inserters: no error or deadlock, sessions gone, inserted rows whole, no orphan" "0" "$problems"
expect_eq "production and sessions A/B untouched by the stress rounds" "57" \
  "$(q "$db" "SELECT count(*) FROM reference_rows WHERE id::text !~ '^[0-9]{6,}$'")"

dropdb "$db"
finish
