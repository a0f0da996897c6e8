#!/usr/bin/env bash
# Randomized differential testing against PostgreSQL's own cascade (test/differential.py).
# TEST_CLEANUP_LONG=1 runs 3000 cases instead of 200; TEST_CLEANUP_SEED=S repeats a run.
source "$(dirname "$0")/lib.sh"

db=tc_differential
fresh_extension_db "$db"
cases=200
[ "${TEST_CLEANUP_LONG:-0}" = 1 ] && cases=3000
/usr/bin/python3 "$TC_REPO/test/differential.py" --dbname "$db" --cases "$cases" \
  ${TEST_CLEANUP_SEED:+--seed "$TEST_CLEANUP_SEED"}
status=$?
# The same with PostgreSQL's foreign key triggers off (test_cleanup.skip_fk_checks): the
# oracle then also checks that the cleanup applied SET NULL itself.
/usr/bin/python3 "$TC_REPO/test/differential.py" --dbname "$db" --cases "$cases" --skip-fk-checks \
  ${TEST_CLEANUP_SEED:+--seed "$TEST_CLEANUP_SEED"} || status=1
# No case indexes its foreign key columns: with transient indexes on, each cleanup builds
# one for every lookup it makes, and must still leave exactly the oracle's rows (and no
# index).
/usr/bin/python3 "$TC_REPO/test/differential.py" --dbname "$db" --cases "$cases" --transient-indexes on \
  ${TEST_CLEANUP_SEED:+--seed "$TEST_CLEANUP_SEED"} || status=1
dropdb "$db"
exit $status
