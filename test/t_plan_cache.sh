#!/usr/bin/env bash
# The per-backend plan cache follows every change another backend makes (test/plan_cache.py).
source "$(dirname "$0")/lib.sh"
db=tc_plan_cache
fresh_extension_db "$db"
/usr/bin/python3 "$TC_REPO/test/plan_cache.py" "$db"
status=$?
dropdb "$db"
exit $status
