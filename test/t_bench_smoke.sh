#!/usr/bin/env bash
# The benchmark at a tiny scale, as a correctness smoke: every variant (native cascade,
# hand-written SQL, per-row loop, test_cleanup on both schemas, through HTTP) must leave
# exactly the same rows. Times are printed, never asserted.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"
if /usr/bin/python3 bench/run.py --users 1000 --runs 1 --shapes bare,plain,advised >"$TC_REPO/.tmp/bench-smoke.log" 2>&1; then
  ok "benchmark smoke: all eight variants leave the same rows in every scenario, on every shape of indexes"
else
  not_ok "benchmark smoke: the variants disagree or the run failed"
  tail -30 "$TC_REPO/.tmp/bench-smoke.log"
fi
# auto_tag's insert benchmark, tiny: it runs, and every row inserted with the session set
# was tagged.
tag_log=$TC_REPO/.tmp/bench-auto-tag.log
if /usr/bin/python3 bench/auto_tag.py --dbname tc_bench_auto_tag --rows 1000 --seconds 1 --runs 1 >"$tag_log" 2>&1 &&
   grep -Eq 'carrying the session: ([0-9]+) of \1$' "$tag_log"; then
  ok "auto_tag benchmark smoke: it runs, and every row inserted with a session set is tagged"
else
  not_ok "auto_tag benchmark smoke"
  tail -20 "$tag_log"
fi
for db in $(psql -X -A -t -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'bench\_1000\_%'"); do
  dropdb "$db"
done
finish
