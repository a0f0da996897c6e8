#!/usr/bin/env bash
# The per-backend plan cache follows every change another backend makes (test/plan_cache.py).
source "$(dirname "$0")/lib.sh"
db=tc_plan_cache
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
q "$db" "CREATE EXTENSION test_cleanup" >/dev/null
q "$db" "ALTER DATABASE $db SET test_cleanup.enabled = on" >/dev/null
/usr/bin/python3 "$TC_REPO/test/plan_cache.py" "$db"
status=$?
dropdb "$db"
exit $status
