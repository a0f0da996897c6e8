#!/usr/bin/env bash
# The reaper under concurrency (test/reaper_test.py): a late heartbeat saves its session,
# no deadlock with a running suite's cleanup, a dry run holds nothing afterwards.
source "$(dirname "$0")/lib.sh"

db=tc_reaper
fresh_extension_db "$db"
/usr/bin/python3 "$TC_REPO/test/reaper_test.py" --dbname "$db"
status=$?
dropdb "$db"
exit $status
