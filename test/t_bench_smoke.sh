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
for db in $(psql -X -A -t -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'bench\_1000\_%'"); do
  dropdb "$db"
done
finish
